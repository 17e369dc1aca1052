"""Job events: plain immutable data, one envelope, versioned.

Each event is the envelope's fields plus its own. ``type`` names the event and
``schema_version`` its shape; :func:`decode_event` upcasts older versions explicitly before
validation, so a reader never sees a shape it was not written for.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from .ogc import Priority, Subscriber
from .schedules import FiringCause
from .subjects import SUBMITTED, event_subject, submission_token


def utc_now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """The envelope every event shares."""

    model_config = ConfigDict(frozen=True)

    token: ClassVar[str]
    version: ClassVar[int] = 1

    event_id: UUID = Field(default_factory=uuid4)
    job_id: str
    process_id: str
    schema_version: int = 1
    time: datetime = Field(default_factory=utc_now)
    # The delivery attempt of the job's submission this event belongs to (0 before any).
    attempt: int = 0
    # W3C trace context (traceparent, tracestate) of the request that caused the event.
    trace: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _written_at_current_version(cls, data: Any) -> Any:
        # A new event is written in its class's current shape.
        if isinstance(data, dict) and "schema_version" not in data:
            return {**data, "schema_version": cls.version}
        return data

    @property
    def subject(self) -> str:
        return event_subject(self.process_id, self.job_id, self.token)

    @classmethod
    def tokens(cls) -> tuple[str, ...]:
        """Every token an event of this kind is stored under."""
        return (cls.token,)

    @classmethod
    def token_in(cls, raw: dict[str, Any]) -> str:
        """The token the event ``raw`` (a decoded JSON object of this kind) is stored under."""
        return cls.token

    def encode(self) -> bytes:
        return self.model_dump_json().encode()


class FiringRef(BaseModel):
    """A schedule's firing: which schedule, which instant, and whether it was on time."""

    model_config = ConfigDict(frozen=True)
    schedule_id: str
    instant: datetime
    cause: FiringCause = "clock"


class JobSubmitted(Event):
    """A job, as it was asked for. Stored under its lane's token (``submitted`` for normal,
    ``submitted-high``, ``submitted-low``): executors take the lanes in that order."""

    token: ClassVar[str] = SUBMITTED
    type: Literal["JobSubmitted"] = "JobSubmitted"
    priority: Priority = Priority.NORMAL
    inputs: dict[str, Any] = Field(default_factory=dict)
    # Set when the client sent an Idempotency-Key; the job id is derived from it.
    idempotency_key: str | None = None
    # The execute request's `outputs` member, kept for the results response.
    outputs: dict[str, Any] = Field(default_factory=dict)
    response: Literal["raw", "document"] = "raw"
    mode: Literal["async", "sync"] = "async"
    # The job whose run submitted this one (a derived dataset recomputed after a sync).
    caused_by: str | None = None
    # The schedule firing that submitted this one.
    fired_by: FiringRef | None = None
    # Callback URIs of the execute request (OGC subscriber); the notifier POSTs to them.
    subscriber: Subscriber | None = None
    # The principal that submitted the job (its id, never a credential); None for jobs
    # submitted by the service itself (derived datasets) or before owners were recorded.
    owner: str | None = None
    # The version of the process the submitter was offered (the gateway's catalog, the
    # submitting executor's own); None when it did not know, or before versions were kept.
    process_version: str | None = None
    # A rerun (POST /jobs/{id}/rerun): the job it reproduces, and the snapshot of each dataset
    # that job read (dataset id -> snapshot id), which this one reads in its place. The gateway
    # derives both from the original's record; no caller names a snapshot.
    rerun_of: str | None = None
    pinned_snapshots: dict[str, str] = Field(default_factory=dict)

    @property
    def subject(self) -> str:
        return event_subject(self.process_id, self.job_id, submission_token(self.priority))

    @classmethod
    def tokens(cls) -> tuple[str, ...]:
        return tuple(submission_token(lane) for lane in Priority)

    @classmethod
    def token_in(cls, raw: dict[str, Any]) -> str:
        return submission_token(str(raw.get("priority", Priority.NORMAL)))


class JobDefinition(Event):
    """A job defined and not yet started (OGC API - Processes - Part 4): the execute request a
    start will submit. Every definition carries the whole request, not a change to it, so the
    fold sets fields to values the event holds and a replay changes nothing. Stored under
    tokens no executor consumes: only the ``JobSubmitted`` of a start runs the job."""

    # The lane asked for, or the process's default; the start may lower it (fairness).
    priority: Priority = Priority.NORMAL
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    response: Literal["raw", "document"] = "raw"
    subscriber: Subscriber | None = None
    # The principal that created the job (its id, never a credential).
    owner: str | None = None


class JobCreated(JobDefinition):
    """``POST /jobs``: the job's first event."""

    token: ClassVar[str] = "created"
    type: Literal["JobCreated"] = "JobCreated"
    # Set when the client sent an Idempotency-Key; the job id is derived from it.
    idempotency_key: str | None = None


class JobChanged(JobDefinition):
    """``PATCH /jobs/{id}`` of a created job: its definition as the merge made it. Its own
    kind, not a second ``JobCreated``: the history tells a creation from a change, and the
    ``created`` subject holds one event per job."""

    token: ClassVar[str] = "changed"
    type: Literal["JobChanged"] = "JobChanged"


class JobWaiting(Event):
    """The job's turn came but a concurrency slot it needs is taken: it stays accepted, out of
    any executor's slot, until one of ``key``'s ``limit`` slots is free. Written when the key
    it waits for changes, not at each look."""

    token: ClassVar[str] = "waiting"
    type: Literal["JobWaiting"] = "JobWaiting"
    key: str
    limit: int
    in_use: int


class JobStarted(Event):
    token: ClassVar[str] = "started"
    type: Literal["JobStarted"] = "JobStarted"
    executor: str
    # The concurrency keys whose slots the attempt holds while it runs, with their limits.
    holds: dict[str, int] = Field(default_factory=dict)


class JobProgressed(Event):
    token: ClassVar[str] = "progressed"
    type: Literal["JobProgressed"] = "JobProgressed"
    done: float | None = None
    total: float | None = None
    message: str | None = None


class JobSucceeded(Event):
    token: ClassVar[str] = "succeeded"
    type: Literal["JobSucceeded"] = "JobSucceeded"
    results: dict[str, Any] = Field(default_factory=dict)


class ErrorInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    type: str
    detail: str


class JobFailed(Event):
    token: ClassVar[str] = "failed"
    type: Literal["JobFailed"] = "JobFailed"
    error: ErrorInfo


class JobRetryScheduled(Event):
    """An attempt failed with a retryable error; the submission is redelivered after ``delay``."""

    token: ClassVar[str] = "retrying"
    type: Literal["JobRetryScheduled"] = "JobRetryScheduled"
    error: ErrorInfo
    delay: float
    retry_at: datetime


class JobDismissed(Event):
    token: ClassVar[str] = "dismissed"
    type: Literal["JobDismissed"] = "JobDismissed"
    reason: str = "dismissed by request"
    # The principal that asked (its id), for the auditors; None when the service did.
    by: str | None = None


CallbackKind = Literal["success", "in-progress", "failed"]


class CallbackDelivered(Event):
    """The notifier POSTed a document to one of the job's subscriber URIs and was answered 2xx.

    ``for_event`` is the event the callback reports (the ``webhook-id`` the receiver saw);
    ``tries`` counts this callback's delivery attempts. Not a change of the job's state.
    """

    token: ClassVar[str] = "callback-delivered"
    type: Literal["CallbackDelivered"] = "CallbackDelivered"
    kind: CallbackKind
    uri: str
    for_event: UUID
    status_code: int
    tries: int


class CallbackAbandoned(Event):
    """The notifier gave up on a callback: refused, failed or unanswered ``tries`` times."""

    token: ClassVar[str] = "callback-abandoned"
    type: Literal["CallbackAbandoned"] = "CallbackAbandoned"
    kind: CallbackKind
    uri: str
    for_event: UUID
    error: str
    tries: int


class JobEstimated(Event):
    """What a run will take, as the process worked it out when it started (periods, bytes,
    expected duration): the figures of the estimate endpoint, kept with the job."""

    token: ClassVar[str] = "estimated"
    type: Literal["JobEstimated"] = "JobEstimated"
    estimate: dict[str, Any] = Field(default_factory=dict)


# The branch of a dataset's repository that is the dataset: what readers see and syncs extend.
MAIN_BRANCH = "main"


class SnapshotRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    dataset_id: str
    snapshot_id: str


class DatasetCommitted(Event):
    """A running data process committed periods of a dataset to its Icechunk repository.

    ``coverage`` is what the repository holds after the commit, not only what this commit
    added, so any one of these events brings a dataset's record up to date even if an
    earlier one was never written (an executor that died between commit and publish).
    """

    token: ClassVar[str] = "committed"
    type: Literal["DatasetCommitted"] = "DatasetCommitted"
    dataset_id: str
    store: str
    snapshot_id: str
    # Periods this commit wrote: first, last and how many.
    first: str
    last: str
    count: int
    # Runs of stored periods after the commit, [first, last] each, and their total.
    coverage: list[tuple[str, str]]
    stored: int
    process_version: str
    # For a derived dataset: the source snapshot it was computed from.
    source: SnapshotRef | None = None
    # The repository branch committed to: a rerun writes a branch of its own (rerun_branch).
    branch: str = MAIN_BRANCH

    @property
    def updates_dataset(self) -> bool:
        """Whether the commit moved the dataset itself (its main branch), not a rerun's branch
        beside it: only such a commit changes the dataset's record or fires its schedules."""
        return self.branch == MAIN_BRANCH


def rerun_branch(job_id: str) -> str:
    """The branch a rerun writes its datasets on: the dataset as it was stays as it is."""
    return f"rerun-{job_id}"


_CLASSES = (
    JobCreated,
    JobChanged,
    JobSubmitted,
    JobWaiting,
    JobStarted,
    JobProgressed,
    JobRetryScheduled,
    JobSucceeded,
    JobFailed,
    JobDismissed,
    DatasetCommitted,
    JobEstimated,
    CallbackDelivered,
    CallbackAbandoned,
)
AnyEvent = Annotated[
    JobCreated
    | JobChanged
    | JobSubmitted
    | JobWaiting
    | JobStarted
    | JobProgressed
    | JobRetryScheduled
    | JobSucceeded
    | JobFailed
    | JobDismissed
    | DatasetCommitted
    | JobEstimated
    | CallbackDelivered
    | CallbackAbandoned,
    Field(discriminator="type"),
]
EVENT_TYPES: dict[str, type[Event]] = {cls.model_fields["type"].default: cls for cls in _CLASSES}
TERMINAL_TOKENS = frozenset({JobSucceeded.token, JobFailed.token, JobDismissed.token})
_adapter: TypeAdapter[Event] = TypeAdapter(AnyEvent)

# (type, version) -> function turning that version's dict into version + 1.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class EventDecodeError(ValueError):
    """Bytes that are not an event this code can read."""

    def __init__(self, message: str, newer: bool = False) -> None:
        super().__init__(message)
        # Written by a newer version of jobstream: readable after an upgrade, not corrupt.
        self.newer = newer


class EventOffSubject(EventDecodeError):
    """An event whose type, job or process disagrees with the subject it was stored on.

    Publish permissions are granted per subject; the event's kind, job and process are in its
    body. Only an event that agrees with its subject is one its writer was allowed to write:
    any other (a forged ``JobSucceeded`` on a callback subject) is never applied.
    """


def decode_event(data: bytes, subject: str) -> Event:
    """The event stored as ``data`` on ``subject``; EventDecodeError if it cannot be read,
    EventOffSubject if it is not the kind of event, or not of the job, its subject says.

    The subject is checked first: a forgery claiming a newer schema version is a forgery,
    not a reason to wait for an upgrade."""
    raw = _object_of(data)
    cls = _class_of(raw)
    claimed = event_subject(str(raw.get("process_id")), str(raw.get("job_id")), cls.token_in(raw))
    if claimed != subject:
        raise EventOffSubject(
            f"a {cls.__name__} of job {raw.get('job_id')!r} of {raw.get('process_id')!r} "
            f"stored on {subject}: an event must agree with its subject"
        )
    return _validated(raw, cls)


def _object_of(data: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventDecodeError(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise EventDecodeError("an event must be a JSON object")
    return raw


def _class_of(raw: dict[str, Any]) -> type[Event]:
    kind = raw.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise EventDecodeError(f"unknown event type {kind!r}")
    return cls


def _validated(raw: dict[str, Any], cls: type[Event]) -> Event:
    """``raw`` upcast to ``cls``'s current version and validated."""
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version > cls.version:
        raise EventDecodeError(
            f"{cls.__name__} schema_version {version!r} is newer than this reader ({cls.version})",
            newer=isinstance(version, int) and not isinstance(version, bool),
        )
    while version < cls.version:
        upcaster = UPCASTERS.get((cls.__name__, version))
        if upcaster is None:
            raise EventDecodeError(f"no upcaster for {cls.__name__} schema_version {version}")
        raw = upcaster(raw)
        version += 1
        raw["schema_version"] = version
    try:
        return _adapter.validate_python(raw)
    except ValidationError as exc:
        raise EventDecodeError(str(exc)) from exc
