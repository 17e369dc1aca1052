"""What to do with a delivery, and with an attempt that raised: pure functions, no broker.

Like the fold, these take data and return data, so every rule is tested without NATS
(tests/unit/test_decisions.py); the executor only carries the decision out.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from jobstream_contracts.events import TERMINAL_TOKENS, ErrorInfo, Event, JobRetryScheduled
from jobstream_contracts.ogc import RetryPolicy
from jobstream_contracts.process import PermanentError
from jobstream_contracts.redaction import strip_url_secrets

# Deliveries beyond the retry policy's attempts that executors may lose to crashes or
# shutdowns before the job is failed rather than tried forever.
CRASH_REDELIVERIES = 5


@dataclass(frozen=True)
class Skip:
    """The job is final already (dismissed while queued, or finished by an executor that died
    before acking): acknowledge the delivery, run nothing."""


@dataclass(frozen=True)
class Run:
    """Run the job as this attempt; ``failures`` earlier attempts failed with a retryable error."""

    failures: int


@dataclass(frozen=True)
class Fail:
    """Fail the job with this error and never deliver it again."""

    error: ErrorInfo


@dataclass(frozen=True)
class Retry:
    """Record the failed attempt and have the submission redelivered after ``delay`` seconds."""

    error: ErrorInfo
    delay: float


def failures_in(history: Sequence[Event]) -> int:
    return sum(isinstance(event, JobRetryScheduled) for event in history)


def on_delivery(history: Sequence[Event], attempt: int, policy: RetryPolicy) -> Skip | Run | Fail:
    """The decision for delivery number ``attempt`` of a job whose events are ``history``."""
    if any(event.token in TERMINAL_TOKENS for event in history):
        return Skip()
    failures = failures_in(history)
    if attempt > policy.maxAttempts + CRASH_REDELIVERIES:
        return Fail(
            ErrorInfo(
                type="DeliveryLimitExceeded",
                detail=f"delivered {attempt} times; executors stopped while running it "
                f"{attempt - 1 - failures} times",
            )
        )
    return Run(failures)


def error_of(exc: BaseException) -> ErrorInfo:
    """The error as events store it and clients see it: URLs in it lose their credentials and
    query strings (the attempt logs the full text, masked)."""
    detail = strip_url_secrets(str(exc)) or type(exc).__name__
    return ErrorInfo(type=type(exc).__name__, detail=detail)


def on_error(exc: Exception, failures: int, policy: RetryPolicy) -> Retry | Fail:
    """The decision after an attempt raised ``exc``, ``failures`` attempts having failed before.

    A PermanentError fails at once; any other error is retried until the policy's attempts
    are spent.
    """
    error = error_of(exc)
    if isinstance(exc, PermanentError) or failures + 1 >= policy.maxAttempts:
        return Fail(error)
    return Retry(error, policy.delay_after(failures + 1))
