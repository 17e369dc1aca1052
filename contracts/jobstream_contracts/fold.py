"""The job fold: a pure function from (state, event) to state.

The projector, the gateway's read-your-writes fallback, the tests and any outside reader of the
stream (an auditor with only this distribution installed) use this one function, so the view
and a job read straight from the stream can never disagree.

Rules that make replays safe:
- every event sets fields to values it carries, so applying it twice changes nothing;
- the first final event stands, whatever its attempt; only a dismissal may follow success or
  failure (it withdraws results);
- other events of an attempt older than the one in progress are ignored (a zombie executor's);
- a job defined by Part 4 (``JobCreated``, ``JobChanged``) is ``created`` until its
  submission; a definition after that changes nothing (a start is conditional on the history
  it read, so none is written);
- the notifier's reports on callbacks change nothing of the job.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .events import (
    CallbackAbandoned,
    CallbackDelivered,
    DatasetCommitted,
    ErrorInfo,
    Event,
    JobDefinition,
    JobDismissed,
    JobEstimated,
    JobFailed,
    JobProgressed,
    JobRetryScheduled,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
    JobWaiting,
)
from .ogc import FINAL_STATUSES, AttemptError, StatusCode


@dataclass(frozen=True, slots=True)
class JobState:
    job_id: str
    process_id: str
    status: StatusCode
    created: datetime
    updated: datetime
    started: datetime | None = None
    finished: datetime | None = None
    attempt: int = 0
    done: float | None = None
    total: float | None = None
    message: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    response: str = "raw"
    results: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    # Every failed attempt's error, in attempt order.
    errors: list[AttemptError] = field(default_factory=list)
    caused_by: str | None = None
    estimate: dict[str, Any] | None = None
    owner: str | None = None
    priority: str = "normal"
    # The concurrency keys it waits for (accepted) or holds (running), with their limits.
    keys: dict[str, int] = field(default_factory=dict)

    @property
    def percent(self) -> float | None:
        if self.status == StatusCode.SUCCESSFUL:
            return 100.0
        if self.done is None or not self.total:
            return None
        return max(0.0, min(100.0, 100.0 * self.done / self.total))

    @property
    def progress(self) -> int | None:
        percent = self.percent
        return None if percent is None else int(percent)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


def _with_error(errors: list[AttemptError], attempt: int, error: ErrorInfo) -> list[AttemptError]:
    # Keyed by attempt, so a replayed event does not record its error twice.
    kept = [entry for entry in errors if entry.attempt != attempt]
    entry = AttemptError(attempt=attempt, type=error.type, detail=error.detail)
    return sorted([*kept, entry], key=lambda e: e.attempt)


def apply(state: JobState | None, event: Event) -> JobState:
    if state is None:
        state = JobState(
            job_id=event.job_id,
            process_id=event.process_id,
            status=StatusCode.CREATED if isinstance(event, JobDefinition) else StatusCode.ACCEPTED,
            created=event.time,
            updated=event.time,
        )
    if isinstance(event, CallbackDelivered | CallbackAbandoned):
        return state  # a report about the job's notifications, not a change of the job
    if isinstance(event, JobDismissed):
        if state.status == StatusCode.DISMISSED:
            return state
        return replace(
            state,
            status=StatusCode.DISMISSED,
            finished=state.finished or event.time,
            updated=event.time,
            message=event.reason,
            results=None,
        )
    if state.is_final:
        return state
    if isinstance(event, JobSubmitted):
        # A created job's start: accepted from now, created when it was defined.
        starts = state.status == StatusCode.CREATED
        return replace(
            state,
            status=StatusCode.ACCEPTED if starts else state.status,
            created=min(state.created, event.time),
            updated=event.time if starts else state.updated,
            inputs=event.inputs,
            outputs=event.outputs,
            response=event.response,
            caused_by=event.caused_by,
            owner=event.owner,
            priority=event.priority.value,
        )
    if isinstance(event, JobDefinition):
        if state.status != StatusCode.CREATED:
            return state
        return replace(
            state,
            updated=event.time,
            inputs=event.inputs,
            outputs=event.outputs,
            response=event.response,
            owner=event.owner,
            priority=event.priority.value,
        )
    if isinstance(event, JobSucceeded):
        return replace(
            state,
            status=StatusCode.SUCCESSFUL,
            started=state.started or event.time,
            finished=event.time,
            updated=event.time,
            attempt=max(state.attempt, event.attempt),
            results=event.results,
        )
    if isinstance(event, JobFailed):
        return replace(
            state,
            status=StatusCode.FAILED,
            finished=event.time,
            updated=event.time,
            attempt=max(state.attempt, event.attempt),
            message=event.error.detail,
            error=event.error.model_dump(),
            errors=_with_error(state.errors, event.attempt, event.error),
        )
    # Writers guarantee at most one final event per job, so the first one stands whatever its
    # attempt; other events of an attempt older than the current one are a zombie's.
    if event.attempt < state.attempt:
        return state
    if isinstance(event, JobStarted):
        return replace(
            state,
            status=StatusCode.RUNNING,
            started=state.started or event.time,
            updated=event.time,
            attempt=event.attempt,
            # What it waited for, or why an attempt before failed, no longer holds.
            message=None,
            keys=event.holds,
        )
    if isinstance(event, JobWaiting):
        return replace(
            state,
            status=StatusCode.ACCEPTED,
            updated=event.time,
            message=f"waiting for a {event.key} slot: {event.in_use} of {event.limit} in use",
            keys={event.key: event.limit},
        )
    if isinstance(event, JobProgressed):
        return replace(
            state,
            status=StatusCode.RUNNING,
            started=state.started or event.time,
            updated=event.time,
            attempt=event.attempt,
            done=event.done,
            total=event.total,
            message=event.message,
        )
    if isinstance(event, JobEstimated):
        return replace(state, updated=event.time, attempt=event.attempt, estimate=event.estimate)
    if isinstance(event, DatasetCommitted):
        # The dataset view folds the commit; to the job it is a sign of life.
        return replace(
            state,
            status=StatusCode.RUNNING,
            started=state.started or event.time,
            updated=event.time,
            attempt=event.attempt,
        )
    if isinstance(event, JobRetryScheduled):
        return replace(
            state,
            status=StatusCode.ACCEPTED,
            updated=event.time,
            attempt=event.attempt,
            message=f"attempt {event.attempt} failed ({event.error.type}: {event.error.detail});"
            f" retrying at {event.retry_at.isoformat()}",
            keys={},
            errors=_with_error(state.errors, event.attempt, event.error),
        )
    raise TypeError(f"no rule for {type(event).__name__}")


def fold(events, state: JobState | None = None) -> JobState | None:
    for event in events:
        state = apply(state, event)
    return state
