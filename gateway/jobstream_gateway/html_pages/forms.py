"""How an input's JSON schema becomes a form field: its kind, and its choices labelled
"monthly (MS)" from the titles the description gives them (see ..choices), submitting MS."""

import re
from typing import Any

from ..choices import titles


def choices(schema: dict[str, Any]) -> list[tuple[Any, str]]:
    """(value, label) of each value of the schema's ``enum``: "title (value)" when titled."""
    titled = titles(schema)
    return [
        (value, f"{titled[str(value)]} ({value})" if str(value) in titled else str(value))
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
    if kind == "string" and (schema.get("format") == "date" or _takes_days(schema)):
        return "date"
    if kind in ("object", "array") or not kind:
        return "json"
    return "text"


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _takes_days(schema: dict[str, Any]) -> bool:
    """A period input: its example is a day its pattern accepts. It has no ``format: date``
    because it also takes a year, a month or an hour (which the API still accepts; the
    picker offers the common case)."""
    example, pattern = schema.get("example"), schema.get("pattern")
    if not isinstance(example, str) or not _DAY.fullmatch(example):
        return False
    return pattern is None or re.search(pattern, example) is not None
