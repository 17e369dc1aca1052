"""The executor's decisions, as pure functions of history, delivery and policy: no broker."""

from datetime import UTC, datetime
from typing import TypedDict

import pytest

from jobstream_contracts.events import (
    ErrorInfo,
    JobDismissed,
    JobFailed,
    JobRetryScheduled,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.ogc import RetryPolicy
from jobstream_contracts.process import PermanentError
from jobstream_executor.decisions import (
    CRASH_REDELIVERIES,
    Fail,
    Retry,
    Run,
    Skip,
    error_of,
    on_delivery,
    on_error,
)

POLICY = RetryPolicy(maxAttempts=3, backoff=[5.0, 10.0])


class _Job(TypedDict):
    job_id: str
    process_id: str


JOB: _Job = {"job_id": "j", "process_id": "p"}


def _submitted():
    return JobSubmitted(**JOB, inputs={"n": 1})


def _retry(attempt: int):
    return JobRetryScheduled(
        **JOB,
        attempt=attempt,
        error=ErrorInfo(type="E", detail="boom"),
        delay=5.0,
        retry_at=datetime.now(UTC),
    )


def test_a_fresh_submission_runs_with_no_failures_behind_it():
    assert on_delivery([_submitted()], 1, POLICY) == Run(failures=0)


@pytest.mark.parametrize(
    "final",
    [
        JobSucceeded(**JOB, attempt=1),
        JobFailed(**JOB, attempt=1, error=ErrorInfo(type="E", detail="x")),
        JobDismissed(**JOB),
    ],
)
def test_a_job_final_already_is_skipped_whatever_the_delivery(final):
    assert on_delivery([_submitted(), final], 1, POLICY) == Skip()
    assert on_delivery([_submitted(), final], 99, POLICY) == Skip()


def test_failures_are_the_retries_in_the_history_not_the_deliveries():
    history = [
        _submitted(),
        JobStarted(**JOB, attempt=1, executor="a"),
        _retry(1),
        JobStarted(**JOB, attempt=2, executor="a"),
    ]
    # Delivery 4: attempt 2 was lost to a crash, attempt 1 failed.
    assert on_delivery(history, 4, POLICY) == Run(failures=1)


def test_deliveries_lost_to_crashes_are_bounded():
    last_allowed = POLICY.maxAttempts + CRASH_REDELIVERIES
    assert on_delivery([_submitted()], last_allowed, POLICY) == Run(failures=0)
    decision = on_delivery([_submitted(), _retry(1)], last_allowed + 1, POLICY)
    assert isinstance(decision, Fail)
    assert decision.error.type == "DeliveryLimitExceeded"
    assert decision.error.detail == (
        f"delivered {last_allowed + 1} times; executors stopped "
        f"while running it {last_allowed - 1} times"
    )


def test_a_retryable_error_is_retried_on_the_policys_schedule_until_attempts_run_out():
    error = RuntimeError("network down")
    assert on_error(error, 0, POLICY) == Retry(
        ErrorInfo(type="RuntimeError", detail="network down"), 5.0
    )
    assert on_error(error, 1, POLICY) == Retry(error_of(error), 10.0)
    assert on_error(error, 2, POLICY) == Fail(error_of(error))


def test_the_last_backoff_repeats():
    policy = RetryPolicy(maxAttempts=10, backoff=[1.0, 2.0])

    def delay(failures: int) -> float:
        decision = on_error(ValueError("x"), failures, policy)
        assert isinstance(decision, Retry)
        return decision.delay

    assert [delay(n) for n in range(4)] == [1.0, 2.0, 2.0, 2.0]


def test_a_permanent_error_fails_at_once():
    assert on_error(PermanentError("bad input"), 0, POLICY) == Fail(
        ErrorInfo(type="PermanentError", detail="bad input")
    )


def test_an_error_without_a_message_is_named_by_its_type():
    assert error_of(TimeoutError()) == ErrorInfo(type="TimeoutError", detail="TimeoutError")


def test_an_error_keeps_the_urls_it_names_but_not_their_credentials_or_queries():
    error = OSError("period 2021-01-01: https://reader:pw@files.example/a.tif?token=t: HTTP 503")
    assert on_error(error, 0, POLICY) == Retry(
        ErrorInfo(
            type="OSError", detail="period 2021-01-01: https://files.example/a.tif: HTTP 503"
        ),
        5.0,
    )
