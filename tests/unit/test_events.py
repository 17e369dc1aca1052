"""Job events: encoding, subjects, decoding errors and explicit upcasting."""

import json
from datetime import UTC, datetime
from uuid import UUID

import pytest
from pydantic import ValidationError

from jobstream_contracts.events import (
    EVENT_TYPES,
    UPCASTERS,
    CallbackAbandoned,
    CallbackDelivered,
    DatasetCommitted,
    ErrorInfo,
    EventDecodeError,
    EventOffSubject,
    JobChanged,
    JobCreated,
    JobDismissed,
    JobEstimated,
    JobFailed,
    JobProgressed,
    JobRetryScheduled,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
    JobWaiting,
    SnapshotRef,
    decode_event,
)
from jobstream_contracts.ogc import Priority, Subscriber
from jobstream_contracts.subjects import event_subject, is_valid_token, parse_subject

WHEN = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


def decode(data: bytes):
    """``data`` decoded as if stored on the subject it claims (for bytes that are not an
    object of a known type, a subject that cannot matter: they fail before it is compared)."""
    try:
        raw = json.loads(data)
        kind = EVENT_TYPES[raw["type"]]
    except (ValueError, TypeError, KeyError):
        return decode_event(data, "jobstream.jobs.p.j.x")
    return decode_event(
        data, event_subject(str(raw.get("process_id")), str(raw.get("job_id")), kind.token)
    )


COMMON = {
    "job_id": "job-1",
    "process_id": "echo",
    "time": WHEN,
    "attempt": 2,
    "trace": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
}

EVENTS = [
    JobCreated(inputs={"message": "later"}, owner="alice", priority=Priority.LOW, **COMMON),
    JobChanged(
        inputs={"message": "sooner"},
        subscriber=Subscriber(successUri="https://example.com/done"),
        **COMMON,
    ),
    JobSubmitted(
        inputs={"x": [1, 2.5, "three"], "nested": {"a": None}},
        outputs={"y": {"transmissionMode": "value"}},
        response="document",
        mode="sync",
        **COMMON,
    ),
    JobWaiting(key="dataset:chirps", limit=1, in_use=1, **COMMON),
    JobStarted(executor="executor-a", holds={"dataset:chirps": 1}, **COMMON),
    JobProgressed(done=3, total=4.5, message="almost", **COMMON),
    JobSucceeded(results={"y": {"value": 42}}, **COMMON),
    JobFailed(error=ErrorInfo(type="ValueError", detail="boom"), **COMMON),
    JobRetryScheduled(
        error=ErrorInfo(type="OSError", detail="reset"), delay=60, retry_at=WHEN, **COMMON
    ),
    JobDismissed(reason="no longer needed", **COMMON),
    DatasetCommitted(
        dataset_id="chirps",
        store="/data/datasets/chirps",
        snapshot_id="A7NYM3",
        first="2020-01-01",
        last="2020-01-10",
        count=10,
        coverage=[("2019-12-01", "2020-01-10")],
        stored=41,
        process_version="1.0.0",
        source=SnapshotRef(dataset_id="raw", snapshot_id="Z9"),
        **COMMON,
    ),
    JobEstimated(estimate={"periods": 10, "bytes": None}, **COMMON),
    CallbackDelivered(
        kind="success",
        uri="https://example.org/done",
        for_event=UUID(int=7),
        status_code=204,
        tries=2,
        **COMMON,
    ),
    CallbackAbandoned(
        kind="failed",
        uri="https://example.org/failed",
        for_event=UUID(int=8),
        error="503 Service Unavailable",
        tries=8,
        **COMMON,
    ),
]


def by_token(event):
    return event.token


def valid(type_name: str, **fields) -> dict:
    """A minimal valid event dict of one type."""
    base = {"type": type_name, "job_id": "job-1", "process_id": "echo"}
    extra = {
        "JobStarted": {"executor": "e"},
        "JobWaiting": {"key": "provider:cds", "limit": 2, "in_use": 2},
        "JobFailed": {"error": {"type": "E", "detail": "d"}},
        "JobRetryScheduled": {
            "error": {"type": "E", "detail": "d"},
            "delay": 1.5,
            "retry_at": "2024-05-01T12:30:16Z",
        },
        "CallbackDelivered": {
            "kind": "success",
            "uri": "http://x/",
            "for_event": str(UUID(int=1)),
            "status_code": 200,
            "tries": 1,
        },
        "CallbackAbandoned": {
            "kind": "success",
            "uri": "http://x/",
            "for_event": str(UUID(int=1)),
            "error": "e",
            "tries": 1,
        },
        "DatasetCommitted": {
            "dataset_id": "d",
            "store": "/s",
            "snapshot_id": "S",
            "first": "2020",
            "last": "2020",
            "count": 1,
            "coverage": [["2020", "2020"]],
            "stored": 1,
            "process_version": "1",
        },
    }
    return {**base, **extra.get(type_name, {}), **fields}


def encode(raw) -> bytes:
    return json.dumps(raw).encode()


# --- encoding -----------------------------------------------------------------------------


def test_every_event_type_is_covered():
    assert {type(event) for event in EVENTS} == set(EVENT_TYPES.values())


@pytest.mark.parametrize("event", EVENTS, ids=by_token)
def test_decoding_an_encoded_event_gives_an_equal_event(event):
    decoded = decode(event.encode())
    assert type(decoded) is type(event)
    assert decoded == event


@pytest.mark.parametrize("event", EVENTS, ids=by_token)
def test_an_encoded_event_is_json_with_its_type_and_version(event):
    raw = json.loads(event.encode())
    assert raw["type"] == type(event).__name__
    assert raw["schema_version"] == 1
    assert raw["job_id"] == "job-1"
    assert raw["attempt"] == 2
    assert UUID(raw["event_id"]) == event.event_id


def test_events_get_distinct_ids_and_a_utc_time_by_default():
    first = JobStarted(job_id="j", process_id="p", executor="e")
    second = JobStarted(job_id="j", process_id="p", executor="e")
    assert first.event_id != second.event_id
    offset = first.time.utcoffset()
    assert offset is not None
    assert offset.total_seconds() == 0
    assert first.attempt == 0
    assert first.trace == {}


@pytest.mark.parametrize("event", EVENTS, ids=by_token)
def test_events_are_frozen(event):
    with pytest.raises(ValidationError):
        event.job_id = "other"


def test_the_error_of_a_failure_is_frozen():
    error = ErrorInfo(type="ValueError", detail="boom")
    with pytest.raises(ValidationError):
        error.detail = "changed"


# --- subjects -----------------------------------------------------------------------------

TOKENS = {
    JobCreated: "created",
    JobChanged: "changed",
    JobSubmitted: "submitted",
    JobWaiting: "waiting",
    JobStarted: "started",
    JobProgressed: "progressed",
    JobSucceeded: "succeeded",
    JobFailed: "failed",
    JobRetryScheduled: "retrying",
    JobDismissed: "dismissed",
    DatasetCommitted: "committed",
    JobEstimated: "estimated",
    CallbackDelivered: "callback-delivered",
    CallbackAbandoned: "callback-abandoned",
}


@pytest.mark.parametrize("event", EVENTS, ids=by_token)
def test_the_subject_names_process_job_and_event(event):
    token = TOKENS[type(event)]
    assert event.subject == f"jobstream.jobs.echo.job-1.{token}"


@pytest.mark.parametrize("event", EVENTS, ids=by_token)
def test_parsing_a_subject_gives_back_process_job_and_token(event):
    assert parse_subject(event.subject) == ("echo", "job-1", TOKENS[type(event)])


def test_event_subject_and_parse_subject_are_inverse():
    subject = event_subject("buffer-v2", "0b7e3c1a-1c9f-4f7e-9a55-3f1d2a6b8c00", "started")
    assert subject == "jobstream.jobs.buffer-v2.0b7e3c1a-1c9f-4f7e-9a55-3f1d2a6b8c00.started"
    assert parse_subject(subject) == (
        "buffer-v2",
        "0b7e3c1a-1c9f-4f7e-9a55-3f1d2a6b8c00",
        "started",
    )


def test_parsing_a_subject_with_too_many_tokens_fails():
    with pytest.raises(ValueError):
        parse_subject("jobstream.jobs.echo.job.1.started")


@pytest.mark.parametrize(
    "value",
    ["a", "x", "echo", "job-1", "A_b-9", "0b7e3c1a-1c9f-4f7e-9a55-3f1d2a6b8c00", "x" * 64],
)
def test_good_ids_are_valid_subject_tokens(value):
    assert is_valid_token(value) is True


@pytest.mark.parametrize(
    "value",
    ["", "a.b", "a*", "a>", "*", ">", "a b", " a", "-a", "_a", "a/b", "é", "x" * 65],
)
def test_bad_ids_are_not_valid_subject_tokens(value):
    assert is_valid_token(value) is False


def test_an_id_with_a_trailing_newline_is_not_a_valid_subject_token():
    assert is_valid_token("abc\n") is False


# --- decoding errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not JSON"),
        (b"\xff", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"JobStarted"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (
            encode({"type": "JobExploded", "job_id": "j", "process_id": "p"}),
            "unknown event type 'JobExploded'",
        ),
        (encode({"job_id": "j", "process_id": "p"}), "unknown event type None"),
        (encode(valid("JobStarted", schema_version=2)), "JobStarted schema_version 2 is newer"),
        (encode(valid("JobStarted", schema_version="1")), "JobStarted schema_version '1' is newer"),
        (encode(valid("JobStarted", schema_version=None)), "schema_version None"),
    ],
)
def test_unreadable_bytes_raise_event_decode_error(data, message):
    with pytest.raises(EventDecodeError, match=message):
        decode(data)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({k: v for k, v in valid("JobStarted").items() if k != "executor"}, "executor"),
        ({k: v for k, v in valid("JobFailed").items() if k != "error"}, "error"),
        ({k: v for k, v in valid("JobSubmitted").items() if k != "job_id"}, "job_id"),
        ({k: v for k, v in valid("JobDismissed").items() if k != "process_id"}, "process_id"),
        (valid("JobFailed", error={"type": "E"}), "detail"),
    ],
)
def test_a_payload_missing_a_required_field_raises_event_decode_error(raw, field):
    with pytest.raises(EventDecodeError, match=field):
        decode(encode(raw))


def test_a_payload_with_a_wrong_field_type_raises_event_decode_error():
    with pytest.raises(EventDecodeError, match="done"):
        decode(encode(valid("JobProgressed", done="half")))


def test_event_decode_error_is_a_value_error():
    with pytest.raises(ValueError):
        decode(b"{")


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_a_minimal_payload_of_each_type_decodes_with_defaults(type_name):
    event = decode(encode(valid(type_name)))
    assert type(event) is EVENT_TYPES[type_name]
    assert event.schema_version == 1
    assert event.attempt == 0


def test_a_schema_version_below_one_raises_event_decode_error():
    with pytest.raises(EventDecodeError):
        decode(encode(valid("JobStarted", schema_version=0)))


def test_an_unhashable_type_raises_event_decode_error():
    with pytest.raises(EventDecodeError):
        decode(encode({"type": ["JobStarted"], "job_id": "j", "process_id": "p"}))


# --- agreeing with the subject -----------------------------------------------------------


@pytest.mark.parametrize("event", EVENTS, ids=by_token)
def test_an_event_on_its_own_subject_decodes(event):
    assert decode_event(event.encode(), event.subject) == event


@pytest.mark.parametrize(
    "subject",
    [
        # The notifier may publish callback events: a success written there is a forgery.
        event_subject("echo", "job-1", "callback-delivered"),
        event_subject("echo", "job-2", "succeeded"),  # another job's subject
        event_subject("count", "job-1", "succeeded"),  # another process's subject
        "jobstream.jobs.echo.job-1",  # not an event subject at all
    ],
)
def test_an_event_that_disagrees_with_its_subject_is_off_subject(subject):
    with pytest.raises(EventOffSubject, match="must agree with its subject"):
        decode_event(encode(valid("JobSucceeded")), subject)


def test_a_forgery_claiming_a_newer_version_is_a_forgery_not_newer():
    forged = encode(valid("JobSucceeded", schema_version=99))
    with pytest.raises(EventOffSubject) as raised:
        decode_event(forged, event_subject("echo", "job-1", "callback-delivered"))
    assert not raised.value.newer


def test_a_newer_event_on_its_own_subject_is_still_newer():
    with pytest.raises(EventDecodeError) as raised:
        decode_event(
            encode(valid("JobSucceeded", schema_version=99)), "jobstream.jobs.echo.job-1.succeeded"
        )
    assert raised.value.newer
    assert not isinstance(raised.value, EventOffSubject)


# --- upcasting ----------------------------------------------------------------------------


@pytest.fixture
def progressed_v2(monkeypatch):
    """JobProgressed at version 2, where version 1 called `message` `note`."""
    calls = []

    def note_to_message(raw):
        calls.append(dict(raw))
        raw = dict(raw)
        raw["message"] = raw.pop("note", None)
        return raw

    monkeypatch.setattr(JobProgressed, "version", 2)
    monkeypatch.setitem(UPCASTERS, ("JobProgressed", 1), note_to_message)
    return calls


def test_a_version_one_event_is_upcast_before_validation(progressed_v2):
    raw = valid("JobProgressed", schema_version=1, done=1, total=2, note="halfway")
    event = decode(encode(raw))
    assert isinstance(event, JobProgressed)
    assert event.message == "halfway"
    assert event.done == 1.0
    assert event.schema_version == 2
    assert len(progressed_v2) == 1
    assert progressed_v2[0]["note"] == "halfway"
    assert progressed_v2[0]["schema_version"] == 1


def test_an_event_without_a_schema_version_counts_as_version_one(progressed_v2):
    raw = valid("JobProgressed", note="from the old days")
    event = decode(encode(raw))
    assert isinstance(event, JobProgressed)
    assert event.message == "from the old days"
    assert len(progressed_v2) == 1


def test_a_current_version_event_is_not_upcast(progressed_v2):
    raw = valid("JobProgressed", schema_version=2, message="fresh")
    event = decode(encode(raw))
    assert isinstance(event, JobProgressed)
    assert event.message == "fresh"
    assert event.schema_version == 2
    assert progressed_v2 == []


def test_a_version_newer_than_the_reader_is_still_rejected_after_a_bump(progressed_v2):
    with pytest.raises(
        EventDecodeError, match="schema_version 3 is newer than this reader \\(2\\)"
    ):
        decode(encode(valid("JobProgressed", schema_version=3)))
    assert progressed_v2 == []


def test_upcasting_only_applies_to_its_own_event_type(progressed_v2):
    event = decode(encode(valid("JobStarted", schema_version=1)))
    assert isinstance(event, JobStarted)
    assert progressed_v2 == []


def test_a_new_event_is_written_at_its_class_version(progressed_v2):
    event = JobProgressed(job_id="job-1", process_id="echo", message="fresh")
    assert event.schema_version == 2
    decoded = decode(event.encode())
    assert isinstance(decoded, JobProgressed)
    assert decoded.message == "fresh"


def test_the_version_bump_is_undone_after_the_test():
    assert JobProgressed.version == 1
    assert ("JobProgressed", 1) not in UPCASTERS


@pytest.mark.parametrize(
    ("priority", "token"),
    [
        (Priority.HIGH, "submitted-high"),
        (Priority.NORMAL, "submitted"),
        (Priority.LOW, "submitted-low"),
    ],
)
def test_a_submission_is_stored_under_its_lanes_token(priority, token):
    event = JobSubmitted(job_id="j", process_id="echo", priority=priority)
    assert event.subject == f"jobstream.jobs.echo.j.{token}"
    assert decode_event(event.encode(), event.subject) == event


def test_a_submission_on_another_lanes_subject_is_off_its_subject():
    # The gateway's grant is per lane token: a high job on the normal subject is a forgery.
    event = JobSubmitted(job_id="j", process_id="echo", priority=Priority.HIGH)
    with pytest.raises(EventOffSubject):
        decode_event(event.encode(), "jobstream.jobs.echo.j.submitted")
