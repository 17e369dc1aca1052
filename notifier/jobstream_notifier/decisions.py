"""Which callback an event calls for, and what to do when a delivery fails: pure functions.

Tested without a broker or a receiver (tests/unit/test_notifier_decisions.py); the notifier
only carries them out.
"""

from dataclasses import dataclass
from datetime import datetime

from jobstream_contracts.events import (
    CallbackKind,
    Event,
    JobFailed,
    JobProgressed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.ogc import Subscriber

# The events that can call for a callback.
NOTIFIED = (JobStarted, JobProgressed, JobSucceeded, JobFailed)
# The events a notifier reads: those, and each job's submission, which names its subscriber
# (or none): the later events of a job without one are acked unread.
READ = (JobSubmitted, *NOTIFIED)


@dataclass(frozen=True)
class Callback:
    kind: CallbackKind
    uri: str


@dataclass(frozen=True)
class Retry:
    delay: float


@dataclass(frozen=True)
class GiveUp:
    reason: str


def callback_for(event: Event, subscriber: Subscriber | None) -> Callback | None:
    """On success the results go to successUri; progress and failure go to their URIs."""
    if subscriber is None:
        return None
    if isinstance(event, JobSucceeded):
        return Callback("success", subscriber.successUri)
    if isinstance(event, JobFailed) and subscriber.failedUri:
        return Callback("failed", subscriber.failedUri)
    if isinstance(event, JobStarted | JobProgressed) and subscriber.inProgressUri:
        return Callback("in-progress", subscriber.inProgressUri)
    return None


def progress_due(last_sent: datetime | None, event_time: datetime, interval: float) -> bool:
    """In-progress callbacks of one job at most every ``interval`` seconds of job time."""
    return last_sent is None or (event_time - last_sent).total_seconds() >= interval


def after_failure(
    tries: int, backoff: list[float], max_attempts: int, error: str
) -> Retry | GiveUp:
    """After delivery attempt number ``tries`` failed with ``error``."""
    if tries >= max_attempts:
        return GiveUp(f"{error} (tried {tries} times)")
    return Retry(backoff[min(tries, len(backoff)) - 1])
