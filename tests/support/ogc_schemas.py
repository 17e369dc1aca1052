"""Validate responses against the official OGC API - Processes 1.0 schemas in tests/data.

As the schemas' README says: load the YAML, rename the keyword ``oneOf`` to ``anyOf`` (strict
oneOf rejects valid documents, upstream issue #350), resolve relative ``$ref``s by file path.
"""

from functools import cache
from pathlib import Path

import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

# A copy in the repository (provenance and licence in its README), so a fresh clone has it.
SCHEMAS = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "ogcapi-processes"
    / "core"
    / "openapi"
    / "schemas"
)


def _relax(node, in_properties: bool = False):
    if isinstance(node, list):
        return [_relax(item) for item in node]
    if not isinstance(node, dict):
        return node
    relaxed = {}
    for key, value in node.items():
        # `properties` maps names to schemas: a property called oneOf keeps its name.
        new_key = "anyOf" if key == "oneOf" and not in_properties else key
        relaxed[new_key] = _relax(value, in_properties=(key == "properties" and not in_properties))
    return relaxed


@cache
def _load(path: str) -> dict:
    schema = _relax(yaml.safe_load(Path(path).read_text()))
    assert isinstance(schema, dict), path
    return schema


def _retrieve(uri: str) -> Resource:
    path = uri.removeprefix("file://")
    return Resource.from_contents(_load(path), default_specification=DRAFT7)


@cache
def _registry() -> Registry:
    return Registry(retrieve=_retrieve)


def validator(name: str) -> Draft7Validator:
    if not SCHEMAS.is_dir():
        raise FileNotFoundError(f"OGC schemas not found at {SCHEMAS}")
    uri = (SCHEMAS / f"{name}.yaml").as_uri()
    return Draft7Validator({"$ref": uri}, registry=_registry())


def assert_valid(document, name: str) -> None:
    errors = sorted(validator(name).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, f"not a valid {name}: " + "; ".join(
        f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]
    )


def assert_valid_part4_status(document) -> None:
    """A statusInfo of Part 4, whose ``created`` Part 1's statusCode does not list (nor does
    the draft's own schema yet, though the draft requires the value): everything else of it
    is checked against Part 1's statusInfo."""
    assert document.get("status") == "created", document
    assert_valid({**document, "status": "accepted"}, "statusInfo")
