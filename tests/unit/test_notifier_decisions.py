"""The notifier's decisions, as pure functions: which callback, when, and after a refusal."""

from datetime import UTC, datetime, timedelta
from typing import TypedDict
from uuid import UUID

import pytest

from jobstream_contracts.events import (
    CallbackDelivered,
    ErrorInfo,
    JobDismissed,
    JobFailed,
    JobProgressed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.fold import fold
from jobstream_contracts.ogc import Subscriber
from jobstream_notifier.decisions import (
    Callback,
    GiveUp,
    Retry,
    after_failure,
    callback_for,
    progress_due,
)


class _Job(TypedDict):
    job_id: str
    process_id: str


JOB: _Job = {"job_id": "j", "process_id": "p"}
ALL = Subscriber(
    successUri="https://r.example/ok",
    inProgressUri="https://r.example/progress",
    failedUri="https://r.example/failed",
)
SUCCESS_ONLY = Subscriber(successUri="https://r.example/ok")
FAILURE = ErrorInfo(type="E", detail="x")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (JobSucceeded(**JOB), Callback("success", "https://r.example/ok")),
        (JobFailed(error=FAILURE, **JOB), Callback("failed", "https://r.example/failed")),
        (JobProgressed(done=1, **JOB), Callback("in-progress", "https://r.example/progress")),
        (JobStarted(executor="e", **JOB), Callback("in-progress", "https://r.example/progress")),
        (JobDismissed(**JOB), None),
        (JobSubmitted(**JOB), None),
    ],
)
def test_each_event_calls_the_uri_of_its_kind(event, expected):
    assert callback_for(event, ALL) == expected


def test_only_the_uris_given_are_called():
    assert callback_for(JobFailed(error=FAILURE, **JOB), SUCCESS_ONLY) is None
    assert callback_for(JobProgressed(done=1, **JOB), SUCCESS_ONLY) is None
    assert callback_for(JobSucceeded(**JOB), None) is None


def test_progress_callbacks_are_throttled_by_job_time():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert progress_due(None, t0, 5.0)
    assert not progress_due(t0, t0 + timedelta(seconds=4.9), 5.0)
    assert progress_due(t0, t0 + timedelta(seconds=5.0), 5.0)


def test_refusals_are_retried_with_the_backoff_then_given_up():
    backoff = [1.0, 5.0]
    assert [after_failure(n, backoff, 4, "503") for n in (1, 2, 3)] == [
        Retry(1.0),
        Retry(5.0),
        Retry(5.0),
    ]
    assert after_failure(4, backoff, 4, "503 Service Unavailable") == GiveUp(
        "503 Service Unavailable (tried 4 times)"
    )


def test_callback_reports_change_nothing_of_the_job():
    events = [
        JobSubmitted(**JOB),
        JobStarted(executor="e", attempt=1, **JOB),
        JobSucceeded(attempt=1, **JOB),
    ]
    report = CallbackDelivered(
        kind="success",
        uri="https://r.example/ok",
        for_event=UUID(int=1),
        status_code=200,
        tries=1,
        attempt=1,
        **JOB,
    )
    assert fold([*events, report]) == fold(events)
    assert fold([*events[:2], report, events[2]]) == fold(events)
