"""The API definition in OpenAPI 3.0, as the OGC oas30 conformance class requires.

FastAPI writes OpenAPI 3.1 (JSON Schema 2020-12). This rewrites the few constructs 3.0 lacks:
null types become ``nullable``, ``const`` an enum, numeric exclusive bounds the boolean form,
``examples`` a single ``example``, and ``$ref`` with siblings an ``allOf``. The answers FastAPI
cannot see (errors, security) are declared first (answers.py), then converted with the rest.
"""

import copy
from typing import Any

from fastapi import FastAPI

from .answers import declare_answers

OPENAPI_30_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
_DROPPED = (
    "$schema",
    "$id",
    "prefixItems",
    "propertyNames",
    "contentMediaType",
    "unevaluatedProperties",
)


def _null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


# OpenAPI 3.0 has no null type: "only null" is a nullable value restricted to null.
_ONLY_NULL = {"nullable": True, "enum": [None]}


def schema_30(schema: Any) -> Any:
    """One JSON Schema 2020-12 object as an OpenAPI 3.0 schema object."""
    if not isinstance(schema, dict):
        return schema
    out = {key: value for key, value in schema.items() if key not in _DROPPED}
    if out.get("type") == "null" or out.get("type") == ["null"]:
        out.pop("type")
        out.update(_ONLY_NULL)
    for keyword in ("anyOf", "oneOf"):
        if keyword in out and any(_null(option) for option in out[keyword]):
            options = [option for option in out[keyword] if not _null(option)]
            out.pop(keyword)
            out["nullable"] = True
            if not options:
                out.update(_ONLY_NULL)
            elif len(options) == 1:
                only = schema_30(options[0])
                if "$ref" in only:
                    out.setdefault("allOf", []).append(only)
                else:
                    out = {**only, **out}
            else:
                out[keyword] = options
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        if len(types) < len(out["type"]):
            out["nullable"] = True
        out["type"] = types[0] if len(types) == 1 else types
        if isinstance(out["type"], list):
            out.pop("type")
            out["anyOf"] = [{"type": t} for t in types]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "examples" in out:
        examples = out.pop("examples")
        if isinstance(examples, list) and examples:
            out.setdefault("example", examples[0])
    for bound, plain, stricter in (
        ("exclusiveMinimum", "minimum", lambda plain, exclusive: plain > exclusive),
        ("exclusiveMaximum", "maximum", lambda plain, exclusive: plain < exclusive),
    ):
        if isinstance(out.get(bound), (int, float)) and not isinstance(out[bound], bool):
            exclusive = out.pop(bound)
            if plain in out and stricter(out[plain], exclusive):
                continue  # the inclusive bound already excludes more
            out[plain] = exclusive
            out[bound] = True
    for keyword in ("items", "additionalProperties", "not"):
        if isinstance(out.get(keyword), dict):
            out[keyword] = schema_30(out[keyword])
    for keyword in ("allOf", "anyOf", "oneOf"):
        if keyword in out:
            out[keyword] = [schema_30(option) for option in out[keyword]]
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: schema_30(s) for name, s in out["properties"].items()}
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out.setdefault("allOf", []).insert(0, {"$ref": ref})
    return out


def _walk(node: Any) -> Any:
    """Convert every schema found in a document that is not itself a schema."""
    if isinstance(node, list):
        return [_walk(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: schema_30(value) if key == "schema" else _walk(value) for key, value in node.items()
    }


def _declare_own_media_type(document: dict[str, Any]) -> None:
    """/api answers in the media type of OpenAPI 3.0, not the application/json FastAPI assumes."""
    own = document.get("paths", {}).get("/api", {}).get("get")
    if own is not None:
        own["responses"]["200"]["content"] = {OPENAPI_30_MEDIA_TYPE: {"schema": {"type": "object"}}}


def openapi_30(app: FastAPI) -> dict[str, Any]:
    cached = getattr(app.state, "openapi_30", None)
    if cached is not None:
        return cached
    document = copy.deepcopy(app.openapi())  # FastAPI keeps its own
    declare_answers(document, app.routes)
    _declare_own_media_type(document)
    document = _walk(document)
    document["openapi"] = "3.0.3"
    schemas = document.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        schemas[name] = schema_30(schema)
    app.state.openapi_30 = document
    return document
