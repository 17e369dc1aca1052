"""``key=value`` pairs as process inputs."""

import json

import pytest

from jobstream_client.cli.inputs import InputError, read_pairs, takes_only_text, typed_inputs
from jobstream_contracts.ogc import InputDescription


def parse_inputs(pairs: list[str]) -> dict:
    """The inputs of a process that describes none of them."""
    return typed_inputs(read_pairs(pairs), {})


def test_values_are_json_when_they_parse_else_text():
    pairs = ["n=20", "x=0.5", "ok=true", "xs=[1,2]", 'o={"a":1}', "msg=hello world", "e="]
    assert parse_inputs(pairs) == {
        "n": 20,
        "x": 0.5,
        "ok": True,
        "xs": [1, 2],
        "o": {"a": 1},
        "msg": "hello world",
        "e": "",
    }


def test_a_value_after_the_first_equals_sign_is_kept_whole():
    assert parse_inputs(["query=a=b"]) == {"query": "a=b"}


def test_at_reads_a_json_file(tmp_path):
    (tmp_path / "bbox.json").write_text(json.dumps([0, 0, 1, 1]))
    assert parse_inputs([f"bbox=@{tmp_path / 'bbox.json'}"]) == {"bbox": [0, 0, 1, 1]}


@pytest.mark.parametrize(
    ("pairs", "says"),
    [
        (["n"], "'n' is not key=value"),
        (["=3"], "'=3' is not key=value"),
        (["n=1", "n=2"], "'n' is given twice"),
        (["b=@/no/such.json"], "cannot read /no/such.json"),
    ],
)
def test_malformed_pairs_are_refused_precisely(pairs, says):
    with pytest.raises(InputError, match=says):
        parse_inputs(pairs)


def described(**schemas: dict) -> dict[str, InputDescription]:
    return {name: InputDescription.model_validate({"schema": s}) for name, s in schemas.items()}


def test_a_text_input_keeps_the_text_as_given():
    inputs = described(
        message={"type": "string"},
        note={"anyOf": [{"type": "string"}, {"type": "null"}]},
        n={"type": "integer"},
    )
    pairs = ["message=123", "note=true", "n=123"]
    assert typed_inputs(read_pairs(pairs), inputs) == {"message": "123", "note": "true", "n": 123}


def test_a_json_string_given_to_a_text_input_is_its_text():
    inputs = described(message={"type": "string"})
    assert typed_inputs(read_pairs(['message="007"']), inputs) == {"message": "007"}


def test_only_schemas_of_strings_alone_take_text():
    assert takes_only_text({"type": "string", "format": "date"})
    assert takes_only_text({"type": ["string", "null"]})
    assert not takes_only_text({"anyOf": [{"type": "string"}, {"type": "number"}]})
    assert not takes_only_text({"$ref": "#/$defs/Frequency"})
    assert not takes_only_text({})
