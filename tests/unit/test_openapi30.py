"""OpenAPI 3.1 / JSON Schema 2020-12 rewritten as OpenAPI 3.0."""

from typing import Literal

import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from jobstream_gateway.openapi30 import openapi_30, schema_30

REF = {"$ref": "#/components/schemas/Point"}
NULL = {"type": "null"}


# --- null -------------------------------------------------------------------------------


def test_any_of_a_type_and_null_becomes_that_type_nullable():
    assert schema_30({"anyOf": [{"type": "string"}, NULL], "title": "Name"}) == {
        "type": "string",
        "title": "Name",
        "nullable": True,
    }


def test_one_of_a_type_and_null_becomes_that_type_nullable():
    assert schema_30({"oneOf": [NULL, {"type": "integer", "minimum": 0}]}) == {
        "type": "integer",
        "minimum": 0,
        "nullable": True,
    }


def test_any_of_a_ref_and_null_becomes_all_of_the_ref_nullable():
    assert schema_30({"anyOf": [REF, NULL], "description": "where", "default": None}) == {
        "allOf": [REF],
        "nullable": True,
        "description": "where",
        "default": None,
    }


def test_any_of_several_types_and_null_keeps_the_others_nullable():
    assert schema_30({"anyOf": [{"type": "string"}, {"type": "integer"}, NULL]}) == {
        "anyOf": [{"type": "string"}, {"type": "integer"}],
        "nullable": True,
    }


def test_any_of_without_null_is_kept():
    schema = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert schema_30(schema) == schema


def test_a_type_list_with_null_becomes_one_type_nullable():
    assert schema_30({"type": ["string", "null"]}) == {"type": "string", "nullable": True}


def test_a_type_list_without_null_becomes_any_of():
    assert schema_30({"type": ["string", "integer"]}) == {
        "anyOf": [{"type": "string"}, {"type": "integer"}]
    }


def test_a_type_list_of_several_types_and_null_becomes_any_of_nullable():
    assert schema_30({"type": ["string", "integer", "null"]}) == {
        "anyOf": [{"type": "string"}, {"type": "integer"}],
        "nullable": True,
    }


def test_a_null_type_alone_is_rewritten():
    assert schema_30({"type": "null"}).get("type") != "null"


@pytest.mark.parametrize("schema", [{"type": ["null"]}, {"anyOf": [NULL]}])
def test_a_schema_of_only_null_does_not_become_an_empty_any_of(schema):
    assert schema_30(schema).get("anyOf") != []


# --- keywords 3.0 lacks ---------------------------------------------------------------------


def test_const_becomes_a_one_value_enum():
    assert schema_30({"type": "string", "const": "process"}) == {
        "type": "string",
        "enum": ["process"],
    }


def test_const_null_becomes_an_enum_of_null():
    assert schema_30({"const": None}) == {"enum": [None]}


def test_examples_become_the_first_example():
    assert schema_30({"type": "integer", "examples": [3, 4]}) == {"type": "integer", "example": 3}


def test_empty_examples_are_dropped():
    assert schema_30({"type": "integer", "examples": []}) == {"type": "integer"}


def test_an_existing_example_wins_over_examples():
    assert schema_30({"example": 1, "examples": [3]}) == {"example": 1}


def test_numeric_exclusive_minimum_becomes_the_boolean_form():
    assert schema_30({"type": "number", "exclusiveMinimum": 0}) == {
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
    }


def test_numeric_exclusive_maximum_becomes_the_boolean_form():
    assert schema_30({"type": "number", "exclusiveMaximum": 1.5}) == {
        "type": "number",
        "maximum": 1.5,
        "exclusiveMaximum": True,
    }


def test_a_boolean_exclusive_bound_is_kept():
    schema = {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert schema_30(schema) == schema


def test_an_exclusive_bound_next_to_a_stricter_plain_bound_keeps_the_stricter_one():
    assert schema_30({"type": "number", "minimum": 1, "exclusiveMinimum": 0})["minimum"] == 1


def test_a_ref_with_siblings_becomes_all_of():
    assert schema_30({**REF, "description": "the point"}) == {
        "description": "the point",
        "allOf": [REF],
    }


def test_a_ref_with_siblings_goes_first_in_an_existing_all_of():
    other = {"type": "object"}
    assert schema_30({**REF, "allOf": [other]}) == {"allOf": [REF, other]}


def test_a_ref_alone_is_kept():
    assert schema_30(dict(REF)) == REF


@pytest.mark.parametrize(
    "keyword",
    ["$schema", "$id", "prefixItems", "propertyNames", "contentMediaType", "unevaluatedProperties"],
)
def test_keywords_3_0_does_not_know_are_dropped(keyword):
    assert schema_30({"type": "string", keyword: "anything"}) == {"type": "string"}


@pytest.mark.parametrize("value", [True, None, 3, "text", [1, 2]])
def test_a_value_that_is_not_a_schema_object_is_returned_as_is(value):
    assert schema_30(value) == value


def test_the_input_schema_is_not_modified():
    schema = {"type": ["string", "null"], "const": "a", "properties": {"p": {"examples": [1]}}}
    schema_30(schema)
    assert schema == {
        "type": ["string", "null"],
        "const": "a",
        "properties": {"p": {"examples": [1]}},
    }


# --- nesting --------------------------------------------------------------------------------


def test_properties_are_converted():
    schema = {
        "type": "object",
        "properties": {
            "name": {"anyOf": [{"type": "string"}, NULL]},
            "kind": {"const": "point"},
        },
    }
    assert schema_30(schema) == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "nullable": True},
            "kind": {"enum": ["point"]},
        },
    }


def test_items_are_converted():
    assert schema_30({"type": "array", "items": {"type": ["integer", "null"]}}) == {
        "type": "array",
        "items": {"type": "integer", "nullable": True},
    }


def test_additional_properties_and_not_are_converted():
    schema = {"additionalProperties": {"const": 1}, "not": {"examples": ["x"]}}
    assert schema_30(schema) == {"additionalProperties": {"enum": [1]}, "not": {"example": "x"}}


def test_all_of_options_are_converted():
    assert schema_30({"allOf": [{"const": 1}, {**REF, "title": "t"}]}) == {
        "allOf": [{"enum": [1]}, {"title": "t", "allOf": [REF]}]
    }


def test_deeply_nested_schemas_are_converted():
    schema = {
        "type": "array",
        "items": {"type": "object", "properties": {"x": {"exclusiveMinimum": 0}}},
    }
    assert schema_30(schema)["items"]["properties"]["x"] == {"minimum": 0, "exclusiveMinimum": True}


def test_the_nullable_option_is_converted_too():
    assert schema_30({"anyOf": [{"type": "array", "items": {"const": "a"}}, NULL]}) == {
        "type": "array",
        "items": {"enum": ["a"]},
        "nullable": True,
    }


@pytest.mark.parametrize("name", ["const", "examples", "$ref", "type", "anyOf", "$schema"])
def test_a_property_named_like_a_keyword_keeps_its_name(name):
    schema = {"type": "object", "properties": {name: {"type": "string"}}, "required": [name]}
    assert schema_30(schema) == schema


# --- a whole FastAPI document ---------------------------------------------------------------


class Point(BaseModel):
    x: float
    y: float


class Shape(BaseModel):
    kind: Literal["shape"] = "shape"
    style: Literal["solid", "dashed"] = "solid"
    name: str | None = None
    centre: Point | None = None
    sides: int = Field(default=3, gt=2, examples=[4])
    scale: float | None = Field(default=None, lt=10)


def make_app() -> FastAPI:
    app = FastAPI(title="shapes", version="1.0")

    @app.post("/shapes", response_model=Shape)
    def create(shape: Shape, limit: int | None = None) -> Shape:
        return shape

    return app


def properties(document):
    return document["components"]["schemas"]["Shape"]["properties"]


def walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_the_fastapi_document_is_valid_openapi_3_0():
    document = openapi_30(make_app())
    assert document["openapi"] == "3.0.3"
    validate(document)  # raises when invalid


def test_the_fastapi_document_uses_no_3_1_constructs():
    document = openapi_30(make_app())
    for node in walk(document):
        if isinstance(node, dict):
            assert node.get("type") != "null"
            assert not isinstance(node.get("type"), list)
            for bound in ("exclusiveMinimum", "exclusiveMaximum"):
                assert node.get(bound, True) is True


def test_optional_and_literal_fields_of_the_model_are_converted():
    shape = properties(openapi_30(make_app()))
    assert shape["name"] == {"type": "string", "title": "Name", "nullable": True}
    assert shape["centre"] == {"allOf": [{"$ref": "#/components/schemas/Point"}], "nullable": True}
    assert shape["kind"]["enum"] == ["shape"]
    assert "const" not in shape["kind"]
    assert shape["style"]["enum"] == ["solid", "dashed"]
    assert shape["sides"]["minimum"] == 2
    assert shape["sides"]["exclusiveMinimum"] is True
    assert shape["sides"]["example"] == 4
    assert shape["scale"]["nullable"] is True
    assert shape["scale"]["maximum"] == 10
    assert shape["scale"]["exclusiveMaximum"] is True


def test_an_optional_query_parameter_is_nullable():
    document = openapi_30(make_app())
    (parameter,) = document["paths"]["/shapes"]["post"]["parameters"]
    assert parameter["name"] == "limit"
    assert parameter["schema"]["type"] == "integer"
    assert parameter["schema"]["nullable"] is True


def test_the_converted_document_is_cached_on_the_app():
    app = make_app()
    assert openapi_30(app) is openapi_30(app)


def test_the_app_own_openapi_document_stays_3_1():
    app = make_app()
    openapi_30(app)
    assert app.openapi()["openapi"].startswith("3.1")
    assert "anyOf" in app.openapi()["components"]["schemas"]["Shape"]["properties"]["name"]
