"""The titles of an enumeration's values, as a process description gives them.

A description titles each value of an ``enum`` the JSON Schema way, valid against the OGC
schemas (which allow no ``const`` and no extra keywords): a ``oneOf`` of one-value branches,
each with a ``title``::

    {"type": "string", "enum": ["h", "MS"],
     "oneOf": [{"enum": ["h"], "title": "hourly"}, {"enum": ["MS"], "title": "monthly"}]}
"""

from typing import Any


def titles(schema: dict[str, Any]) -> dict[str, str]:
    """The title of each value a one-value ``oneOf`` branch names, by the value's text."""
    found = {}
    for branch in schema.get("oneOf") or []:
        values = branch.get("enum") if isinstance(branch, dict) else None
        if isinstance(values, list) and len(values) == 1 and branch.get("title"):
            found[str(values[0])] = str(branch["title"])
    return found


def title_of(schema: dict[str, Any], value: Any) -> str:
    """``value``'s title, or the value itself when the schema titles none."""
    return titles(schema).get(str(value), str(value))
