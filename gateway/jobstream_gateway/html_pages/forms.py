"""How an input's JSON schema becomes a form field: its kind, and its choices labelled.

A process description labels the values of an enumeration the JSON Schema way, valid
against the OGC schemas (which allow no ``const`` and no extra keywords): beside ``enum``, a
``oneOf`` of one-value branches, each with a ``title``::

    {"type": "string", "enum": ["h", "MS"],
     "oneOf": [{"enum": ["h"], "title": "hourly"}, {"enum": ["MS"], "title": "monthly"}]}

The form shows "monthly (MS)" and submits ``MS``.
"""

from typing import Any


def _titles(schema: dict[str, Any]) -> dict[str, str]:
    """The title of each value a one-value ``oneOf`` branch names, by the value's JSON text."""
    titles = {}
    for branch in schema.get("oneOf") or []:
        values = branch.get("enum") if isinstance(branch, dict) else None
        if isinstance(values, list) and len(values) == 1 and branch.get("title"):
            titles[str(values[0])] = str(branch["title"])
    return titles


def choices(schema: dict[str, Any]) -> list[tuple[Any, str]]:
    """(value, label) of each value of the schema's ``enum``: "title (value)" when titled."""
    titles = _titles(schema)
    return [
        (value, f"{titles[str(value)]} ({value})" if str(value) in titles else str(value))
        for value in schema.get("enum") or []
    ]


def field_kind(schema: dict[str, Any]) -> str:
    """Which field takes the input: choice, checkbox, number, date, json or text."""
    kind = schema.get("type")
    if schema.get("enum"):
        return "choice"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if kind == "string" and schema.get("format") == "date":
        return "date"
    if kind in ("object", "array") or not kind:
        return "json"
    return "text"
