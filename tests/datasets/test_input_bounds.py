"""Every built-in process bounds the size of each input in its schema: a caller cannot store
more bytes in the stream than a process's schema allows, whatever the body limit."""

import re
from typing import Any

import pytest

from jobstream_executor.loading import load_processes
from jobstream_infra.settings import ExecutorSettings

BUILT_IN = ["jobstream_executor.builtin", "jobstream_datasets.processes"]
# A pattern bounds a string's length when anchored at both ends with no open repetition.
OPEN_REPETITION = re.compile(r"(?<!\\)[*+]|\{\d+,\}")


def _unbounded(schema: Any, path: str, defs: dict) -> list[str]:
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        return _unbounded(defs[schema["$ref"].rsplit("/", 1)[-1]], path, defs)
    found = [f"{path}: {why}" for why in _own_gaps(schema)]
    for key in ("anyOf", "oneOf", "allOf"):
        for index, part in enumerate(schema.get(key, [])):
            found += _unbounded(part, f"{path}/{key}[{index}]", defs)
    found += _unbounded(schema.get("items"), f"{path}[]", defs)
    for name, part in (schema.get("properties") or {}).items():
        found += _unbounded(part, f"{path}.{name}", defs)
    return found


def _own_gaps(schema: dict) -> list[str]:
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    gaps = []
    if "string" in types and not _string_bounded(schema):
        gaps.append("a string without maxLength, enum or a closed pattern")
    if "array" in types and "maxItems" not in schema:
        gaps.append("an array without maxItems")
    closed = schema.get("additionalProperties", True) is False or "maxProperties" in schema
    if "object" in types and not closed:
        gaps.append("an object open to any property")
    return gaps


def _string_bounded(schema: dict) -> bool:
    if "maxLength" in schema or "enum" in schema or "const" in schema:
        return True
    pattern = schema.get("pattern", "")
    closed = pattern.startswith("^") and pattern.endswith("$")
    return closed and not OPEN_REPETITION.search(pattern)


def _inputs() -> list:
    return [
        pytest.param(_schema(description), id=f"{process.id}.{name}")
        for process in load_processes(BUILT_IN, ExecutorSettings()).values()
        for name, description in process.description.inputs.items()
    ]


def _schema(description) -> dict:
    return description.model_dump(by_alias=True, exclude_none=True)["schema"]


@pytest.mark.parametrize("schema", _inputs())
def test_each_input_of_a_built_in_process_is_bounded(schema):
    assert _unbounded(schema, "input", schema.get("$defs", {})) == []


def test_an_open_string_is_found_unbounded():
    # The check itself: each kind of gap is named, and a closed pattern passes.
    assert _unbounded({"type": "string"}, "s", {}) == [
        "s: a string without maxLength, enum or a closed pattern"
    ]
    assert _unbounded({"type": "string", "pattern": "^a+$"}, "s", {}) != []
    assert _unbounded({"type": "string", "pattern": "^a{1,3}$"}, "s", {}) == []
    assert _unbounded({"type": "array", "items": {"type": "integer"}}, "a", {}) != []
    assert _unbounded({"type": "object"}, "o", {}) != []
