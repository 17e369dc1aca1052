"""NATS subject patterns as the in-memory journal matches them, case by case as nats-server
does (the contract suite checks the same filters against a real server)."""

import pytest

from jobstream_infra.subject_patterns import matches_any, subject_matches


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("a.b.c", "a.b.c", True),
        ("a.b.c", "a.b.d", False),
        ("a.*.c", "a.b.c", True),
        ("a.*.c", "a.b.x.c", False),  # one token only
        ("a.*", "a", False),
        ("a.>", "a.b", True),
        ("a.>", "a.b.c.d", True),
        ("a.>", "a", False),  # one token at least
        ("*.b.>", "x.b.c", True),
        ("a.b", "a.b.c", False),
        ("a.b.c", "a.b", False),
        (">", "a", True),
    ],
)
def test_a_pattern_matches_as_nats_server_matches(pattern: str, subject: str, matches: bool):
    assert subject_matches(pattern, subject) is matches


def test_any_of_several_patterns():
    assert matches_any(["x.>", "a.*"], "a.b")
    assert not matches_any(["x.>", "a.*"], "a.b.c")
