"""Execute-request inputs checked against the process description."""

import pytest

from jobstream_contracts.ogc import ExceptionType, InputDescription, ProcessDescription
from jobstream_gateway.errors import OGCError
from jobstream_gateway.inputs import validate_inputs

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
POINT = {
    "type": "object",
    "required": ["x", "y"],
    "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
}


def process(**inputs: InputDescription) -> ProcessDescription:
    return ProcessDescription(id="demo", version="1.0", inputs=inputs)


def rejection(description: ProcessDescription, inputs: dict) -> OGCError:
    with pytest.raises(OGCError) as caught:
        validate_inputs(description, inputs)
    return caught.value


# --- names ----------------------------------------------------------------------------------


def test_valid_inputs_are_returned_unchanged():
    description = process(
        name=InputDescription(schema=STRING), count=InputDescription(schema=INTEGER)
    )
    assert validate_inputs(description, {"name": "ada", "count": 3}) == {"name": "ada", "count": 3}


def test_a_process_without_inputs_accepts_no_inputs():
    assert validate_inputs(process(), {}) == {}


def test_an_unknown_input_is_a_400_naming_it():
    error = rejection(
        process(name=InputDescription(schema=STRING)), {"name": "ada", "colour": "red"}
    )
    assert error.status == 400
    assert error.type == ExceptionType.INVALID_INPUT
    assert error.title == "Invalid input"
    assert error.detail == "inputs.colour: not an input of process demo (its inputs: name)"


def test_an_unknown_input_of_a_process_without_inputs_says_none():
    error = rejection(process(), {"colour": "red"})
    assert error.detail == "inputs.colour: not an input of process demo (its inputs: none)"


def test_of_several_unknown_inputs_the_first_in_order_is_named():
    error = rejection(process(), {"zeta": 1, "alpha": 2})
    assert error.detail.startswith("inputs.alpha: ")


def test_a_missing_required_input_is_a_400_naming_it():
    error = rejection(process(name=InputDescription(schema=STRING)), {})
    assert error.status == 400
    assert error.type == ExceptionType.INVALID_INPUT
    assert error.detail == "inputs.name: required input is missing"


def test_an_optional_input_may_be_absent():
    description = process(
        name=InputDescription(schema=STRING), count=InputDescription(schema=INTEGER, minOccurs=0)
    )
    assert validate_inputs(description, {"name": "ada"}) == {"name": "ada"}


def test_an_optional_input_given_is_checked():
    description = process(count=InputDescription(schema=INTEGER, minOccurs=0))
    error = rejection(description, {"count": "three"})
    assert error.detail == "inputs.count: 'three' is not of type 'integer'"


# --- schemas --------------------------------------------------------------------------------


def test_a_schema_violation_is_a_400_naming_the_input():
    error = rejection(process(name=InputDescription(schema=STRING)), {"name": 5})
    assert error.status == 400
    assert error.type == ExceptionType.INVALID_INPUT
    assert error.detail == "inputs.name: 5 is not of type 'string'"


def test_a_schema_constraint_violation_is_reported():
    description = process(count=InputDescription(schema={"type": "integer", "minimum": 1}))
    error = rejection(description, {"count": 0})
    assert error.detail == "inputs.count: 0 is less than the minimum of 1"


def test_a_violation_inside_an_object_names_the_nested_path():
    error = rejection(process(point=InputDescription(schema=POINT)), {"point": {"x": "a", "y": 1}})
    assert error.detail == "inputs.point.x: 'a' is not of type 'number'"


def test_a_violation_deep_inside_an_object_names_the_full_path():
    schema = {
        "type": "object",
        "properties": {"corners": {"type": "array", "items": POINT}},
    }
    error = rejection(
        process(shape=InputDescription(schema=schema)),
        {"shape": {"corners": [{"x": 1, "y": 2}, {"x": 1, "y": None}]}},
    )
    assert error.detail == "inputs.shape.corners.1.y: None is not of type 'number'"


def test_a_missing_property_of_an_object_names_the_object():
    error = rejection(process(point=InputDescription(schema=POINT)), {"point": {"x": 1}})
    assert error.detail == "inputs.point: 'y' is a required property"


# --- qualified values and references -------------------------------------------------------


def test_a_qualified_value_is_unwrapped_for_a_plain_schema():
    description = process(name=InputDescription(schema=STRING))
    inputs = {"name": {"value": "ada", "mediaType": "text/plain"}}
    assert validate_inputs(description, inputs) == {"name": "ada"}


def test_an_unwrapped_qualified_value_is_checked():
    description = process(name=InputDescription(schema=STRING))
    error = rejection(description, {"name": {"value": 5, "mediaType": "text/plain"}})
    assert error.detail == "inputs.name: 5 is not of type 'string'"


def test_a_qualified_value_is_kept_whole_for_an_object_schema():
    description = process(doc=InputDescription(schema={"type": "object"}))
    inputs = {"doc": {"value": {"a": 1}, "mediaType": "application/json"}}
    assert validate_inputs(description, inputs) == {
        "doc": {"value": {"a": 1}, "mediaType": "application/json"}
    }


def test_a_qualified_value_for_an_object_schema_is_checked_as_the_object_itself():
    inputs = {"point": {"value": {"x": 1, "y": 2}, "mediaType": "application/json"}}
    error = rejection(process(point=InputDescription(schema=POINT)), inputs)
    assert error.detail == "inputs.point: 'x' is a required property"


def test_an_input_by_reference_is_rejected():
    description = process(name=InputDescription(schema=STRING))
    error = rejection(description, {"name": {"href": "https://example.com/name.txt"}})
    assert error.status == 400
    assert error.type == ExceptionType.INVALID_INPUT
    assert error.detail == "inputs.name: inputs given by reference (href) are not supported"


# --- several occurrences --------------------------------------------------------------------


def test_an_input_with_max_occurs_accepts_a_list():
    description = process(n=InputDescription(schema=INTEGER, maxOccurs=3))
    assert validate_inputs(description, {"n": [1, 2, 3]}) == {"n": [1, 2, 3]}


def test_a_single_value_for_a_multi_input_becomes_a_list_of_one():
    description = process(n=InputDescription(schema=INTEGER, maxOccurs=3))
    assert validate_inputs(description, {"n": 7}) == {"n": [7]}


def test_each_item_of_a_multi_input_is_checked():
    description = process(n=InputDescription(schema=INTEGER, maxOccurs=3))
    error = rejection(description, {"n": [1, "x"]})
    assert error.status == 400
    assert error.detail == "inputs.n.1: 'x' is not of type 'integer'"


def test_each_item_of_a_multi_input_may_be_a_qualified_value():
    description = process(n=InputDescription(schema=INTEGER, maxOccurs=3))
    inputs = {"n": [{"value": 1, "mediaType": "text/plain"}, 2]}
    assert validate_inputs(description, inputs) == {"n": [1, 2]}


def test_more_values_than_max_occurs_are_rejected():
    description = process(n=InputDescription(schema=INTEGER, maxOccurs=3))
    error = rejection(description, {"n": [1, 2, 3, 4]})
    assert error.detail == "inputs.n: 4 values given, 1..3 allowed"


def test_fewer_values_than_min_occurs_are_rejected():
    description = process(n=InputDescription(schema=INTEGER, minOccurs=2, maxOccurs=3))
    error = rejection(description, {"n": [1]})
    assert error.detail == "inputs.n: 1 values given, 2..3 allowed"


def test_an_empty_list_for_a_required_multi_input_is_rejected():
    description = process(n=InputDescription(schema=INTEGER, maxOccurs="unbounded"))
    error = rejection(description, {"n": []})
    assert error.detail == "inputs.n: 0 values given, 1..unbounded allowed"


def test_an_unbounded_input_accepts_many_values():
    description = process(n=InputDescription(schema=INTEGER, maxOccurs="unbounded"))
    values = list(range(500))
    assert validate_inputs(description, {"n": values}) == {"n": values}


def test_without_max_occurs_a_list_is_checked_as_one_value():
    description = process(n=InputDescription(schema=INTEGER))
    error = rejection(description, {"n": [1, 2]})
    assert error.detail == "inputs.n: [1, 2] is not of type 'integer'"


def test_an_array_schema_with_max_occurs_checks_the_list_as_one_value():
    description = process(
        v=InputDescription(schema={"type": "array", "items": INTEGER}, maxOccurs=2)
    )
    assert validate_inputs(description, {"v": [1, 2, 3]}) == {"v": [1, 2, 3]}


def test_input_description_reads_its_schema_by_alias():
    description = InputDescription(schema=STRING, minOccurs=0, maxOccurs="unbounded")
    assert description.schema_ == STRING
    assert description.to_json() == {"minOccurs": 0, "maxOccurs": "unbounded", "schema": STRING}


# --- forms said in words --------------------------------------------------------------------

PERIOD = {
    "type": "string",
    "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$",
    "description": "a date as YYYY-MM-DD, or its year or month",
    "example": "2020-01-31",
}


@pytest.mark.parametrize(
    "form,value,words",
    [
        ("date", "2020/01/01", "expected a date as YYYY-MM-DD, e.g. 2020-01-31"),
        ("date", "2020-02-30", "expected a date as YYYY-MM-DD, e.g. 2020-01-31"),
        ("date-time", "2020-01-31 noon", "expected a date and time as YYYY-MM-DDThh:mm:ssZ"),
        ("time", "noon", "expected a time as hh:mm:ssZ"),
    ],
)
def test_a_value_not_of_its_format_is_told_the_form_in_words(form, value, words):
    error = rejection(
        process(start=InputDescription(schema={**STRING, "format": form})), {"start": value}
    )
    assert error.detail.startswith(f"inputs.start: {words}")
    assert error.detail.endswith(f"; got {value!r}")


@pytest.mark.parametrize(
    "form,value",
    [
        ("date", "2020-01-31"),
        ("date-time", "2020-01-31T12:00:00Z"),
        ("date-time", "2020-01-31t12:00:00.5+01:00"),
        ("time", "23:59:59Z"),
    ],
)
def test_a_value_of_its_format_passes(form, value):
    description = process(start=InputDescription(schema={**STRING, "format": form}))
    assert validate_inputs(description, {"start": value}) == {"start": value}


@pytest.mark.parametrize(
    "form,value",
    [
        ("date", "20200131"),  # ISO 8601's basic form, not RFC 3339's
        ("date-time", "2020-01-31T25:00:00Z"),
        ("date-time", "2020-01-31T12:00:00"),  # no offset
        ("time", "12:60:00Z"),
    ],
)
def test_a_value_almost_of_its_format_is_refused(form, value):
    # Checked without jsonschema's optional format packages (rfc3339-validator), which a
    # gateway installed alone does not have.
    description = process(start=InputDescription(schema={**STRING, "format": form}))
    assert rejection(description, {"start": value}).status == 400


def test_a_value_not_matching_a_described_pattern_is_told_the_description_not_the_pattern():
    error = rejection(process(start=InputDescription(schema=PERIOD)), {"start": "2020/01/01"})
    assert error.detail == (
        "inputs.start: expected a date as YYYY-MM-DD, or its year or month, e.g. 2020-01-31; "
        "got '2020/01/01'"
    )


def test_an_undescribed_pattern_is_named_as_the_last_resort():
    schema = {**STRING, "pattern": "^[a-z]+$"}
    error = rejection(process(name=InputDescription(schema=schema)), {"name": "Ada"})
    assert (
        error.detail
        == "inputs.name: 'Ada' is not of the form this input takes (the pattern ^[a-z]+$)"
    )
