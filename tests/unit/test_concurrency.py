"""Concurrency keys: a process's limits resolved against a job's inputs and its labels, with
operators' overrides; and what a waiting job's status says."""

import pytest
from pydantic import ValidationError

from jobstream_contracts.concurrency import SlotKey, needed_slots, resolve
from jobstream_contracts.events import JobStarted, JobSubmitted, JobWaiting
from jobstream_contracts.fold import fold
from jobstream_contracts.ogc import ConcurrencyLimit, StatusCode

LIMITS = [
    ConcurrencyLimit(key="provider:{provider}", max=2),
    ConcurrencyLimit(key="dataset:{dataset_id}", max=1),
    ConcurrencyLimit(key="ingest", max=4),
]


def test_a_job_needs_a_slot_of_every_key_its_values_name_sorted():
    values = {"dataset_id": "era5", "provider": "cds", "start": "2020-01-01"}
    assert needed_slots(LIMITS, values) == [
        SlotKey("dataset:era5", 1, "dataset:{dataset_id}"),
        SlotKey("ingest", 4, "ingest"),
        SlotKey("provider:cds", 2, "provider:{provider}"),
    ]


def test_a_key_naming_a_value_the_job_lacks_does_not_limit_it():
    assert [slot.key for slot in needed_slots(LIMITS, {"dataset_id": "era5"})] == [
        "dataset:era5",
        "ingest",
    ]


@pytest.mark.parametrize(
    ("value", "key"),
    [(True, "x:true"), (3, "x:3"), (2.5, "x:2.5"), ("a b/c", "x:a b/c"), ([1, 2], None)],
)
def test_scalar_values_make_keys_lists_and_objects_do_not(value, key):
    assert resolve("x:{v}", {"v": value}) == key


def test_an_operators_limit_for_a_key_wins_over_one_for_its_template_and_the_declared():
    overrides = {"provider:cds": 1, "provider:{provider}": 3, "ingest": 8}
    slots = {s.key: s.limit for s in needed_slots(LIMITS, {"provider": "cds"}, overrides)}
    assert slots == {"provider:cds": 1, "ingest": 8}
    slots = {s.key: s.limit for s in needed_slots(LIMITS, {"provider": "edh"}, overrides)}
    assert slots == {"provider:edh": 3, "ingest": 8}


def test_two_limits_resolving_to_one_key_keep_the_stricter():
    limits = [ConcurrencyLimit(key="k:{a}", max=3), ConcurrencyLimit(key="k:{b}", max=1)]
    assert needed_slots(limits, {"a": "x", "b": "x"}) == [SlotKey("k:x", 1, "k:{b}")]


@pytest.mark.parametrize(
    "key", ["", "{dataset.__class__}", "{0}", "a key", "{a[0]}", "x" * 129, "{}"]
)
def test_a_key_template_is_names_and_plain_characters_only(key):
    with pytest.raises(ValidationError):
        ConcurrencyLimit(key=key, max=1)


def test_a_limit_is_at_least_one():
    with pytest.raises(ValidationError):
        ConcurrencyLimit(key="ingest", max=0)


def test_a_waiting_job_is_accepted_and_says_what_it_waits_for_until_it_starts():
    waiting = [
        JobSubmitted(job_id="j", process_id="ingest"),
        JobWaiting(job_id="j", process_id="ingest", key="provider:cds", limit=2, in_use=2),
    ]
    state = fold(waiting)
    assert state is not None and state.status == StatusCode.ACCEPTED
    assert state.message == "waiting for a provider:cds slot: 2 of 2 in use"
    started = JobStarted(job_id="j", process_id="ingest", executor="e", holds={"provider:cds": 2})
    state = fold([started], state)
    assert state is not None and state.status == StatusCode.RUNNING and state.message is None
