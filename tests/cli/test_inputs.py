"""``key=value`` pairs as process inputs."""

import json

import pytest

from jobstream.client_inputs import InputError, parse_inputs


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
