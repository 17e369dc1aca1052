"""A schedule's record: its events, their fold, and what a firing of it decides.

A schedule lives as events on ``jobstream.schedules.<id>.<kind>`` in the schedules stream:
who created, changed, paused, resumed or deleted it, and each firing with the job it made or
why it made none. The fold of those events is the schedule; the decision of a firing is a pure
function of that fold, the firing's instant, the time and the previous job's standing.
"""

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .events import EventDecodeError, utc_now
from .schedules import CatchUp, Firing, FiringCause, Overlap, Schedule, ScheduleSpec
from .subjects import schedule_event_subject

# Firings kept in a schedule's fold (the API shows the latest; the events keep all).
KEPT_FIRINGS = 20
# Missed firings recorded one by one past this many are recorded as one, with their count.
RECORDED_ONE_BY_ONE = 100


class ScheduleEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: ClassVar[str]

    event_id: UUID = Field(default_factory=uuid4)
    schedule_id: str
    time: datetime = Field(default_factory=utc_now)
    # Who did it: a principal's id, or "clock" for what the schedule did by itself.
    actor: str = "clock"

    @property
    def subject(self) -> str:
        return schedule_event_subject(self.schedule_id, self.token)

    def encode(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


class ScheduleCreated(ScheduleEvent):
    token: ClassVar[str] = "created"
    type: Literal["ScheduleCreated"] = "ScheduleCreated"
    spec: ScheduleSpec
    owner: str
    source: Literal["api", "file"] = "api"


class ScheduleChanged(ScheduleEvent):
    token: ClassVar[str] = "changed"
    type: Literal["ScheduleChanged"] = "ScheduleChanged"
    spec: ScheduleSpec


class SchedulePaused(ScheduleEvent):
    token: ClassVar[str] = "paused"
    type: Literal["SchedulePaused"] = "SchedulePaused"


class ScheduleResumed(ScheduleEvent):
    token: ClassVar[str] = "resumed"
    type: Literal["ScheduleResumed"] = "ScheduleResumed"


class ScheduleDeleted(ScheduleEvent):
    token: ClassVar[str] = "deleted"
    type: Literal["ScheduleDeleted"] = "ScheduleDeleted"


class ScheduleFired(ScheduleEvent):
    token: ClassVar[str] = "fired"
    type: Literal["ScheduleFired"] = "ScheduleFired"
    instant: datetime
    job_id: str
    cause: FiringCause = "clock"


class ScheduleSkipped(ScheduleEvent):
    token: ClassVar[str] = "skipped"
    type: Literal["ScheduleSkipped"] = "ScheduleSkipped"
    # The (latest) instant skipped; with ``count`` > 1, the earliest is ``first``.
    instant: datetime
    reason: str
    count: int = 1
    first: datetime | None = None
    cause: FiringCause = "clock"


AnyScheduleEvent = Annotated[
    ScheduleCreated
    | ScheduleChanged
    | SchedulePaused
    | ScheduleResumed
    | ScheduleDeleted
    | ScheduleFired
    | ScheduleSkipped,
    Field(discriminator="type"),
]
SCHEDULE_EVENT_TYPES = (
    ScheduleCreated,
    ScheduleChanged,
    SchedulePaused,
    ScheduleResumed,
    ScheduleDeleted,
    ScheduleFired,
    ScheduleSkipped,
)
_adapter: TypeAdapter[ScheduleEvent] = TypeAdapter(AnyScheduleEvent)


def decode_schedule_event(data: bytes, subject: str) -> ScheduleEvent:
    """The schedule event stored as ``data`` on ``subject``; EventDecodeError if it is not
    one, or not the kind and schedule its subject names (a grant is per subject)."""
    try:
        event = _adapter.validate_python(json.loads(data))
    except (ValueError, ValidationError) as exc:
        raise EventDecodeError(f"not a schedule event: {exc}") from exc
    if event.subject != subject:
        kind = type(event).__name__
        raise EventDecodeError(f"a {kind} of {event.schedule_id!r} stored on {subject}")
    return event


# Job ids of firings derive from the schedule and the instant: whoever submits a firing's job,
# however often, it is one job.
_FIRING_NAMESPACE = uuid.UUID("0b7c1d3e-6a55-4f1e-9a43-5c2f1d7e8b90")


def firing_job_id(schedule_id: str, instant: datetime) -> str:
    return str(uuid.uuid5(_FIRING_NAMESPACE, f"{schedule_id}\n{instant.astimezone(UTC):%FT%T}"))


def update_job_id(schedule_id: str, event_id: UUID) -> str:
    """The job a dataset's update (the event ``event_id``) makes of a schedule it fires."""
    return str(uuid.uuid5(_FIRING_NAMESPACE, f"{schedule_id}\nupdate\n{event_id}"))


@dataclass(frozen=True)
class ScheduleState:
    id: str
    spec: ScheduleSpec
    owner: str
    source: str
    created: datetime
    updated: datetime
    paused: bool = False
    deleted: bool = False
    # The latest instant the clock handled (fired or skipped): a firing at or before it is
    # a redelivery.
    handled: datetime | None = None
    firings: tuple[Firing, ...] = ()
    # The job of the latest firing: what the overlap policy looks at.
    last_job_id: str | None = None

    def schedule(self, now: datetime, upcoming: int = 5) -> Schedule:
        cadence = self.spec.cadence(self.created)
        after = max(now, self.handled) if self.handled else now
        instants = [] if self.paused or cadence is None else cadence.upcoming(after, upcoming)
        return Schedule.model_validate(
            {
                **self.spec.model_dump(by_alias=True),
                "id": self.id,
                "owner": self.owner,
                "source": self.source,
                "created": self.created,
                "updated": self.updated,
                "paused": self.paused,
                "nextFirings": instants,
                "lastFirings": list(reversed(self.firings)),
            }
        )


def apply_schedule(state: ScheduleState | None, event: ScheduleEvent) -> ScheduleState | None:
    if isinstance(event, ScheduleCreated):
        return ScheduleState(
            event.schedule_id,
            event.spec,
            event.owner,
            event.source,
            event.time,
            event.time,
            paused=event.spec.paused,
        )
    if state is None:
        return None
    match event:
        case ScheduleChanged(spec=spec):
            return replace(state, spec=spec, paused=spec.paused, updated=event.time)
        case SchedulePaused() | ScheduleResumed():
            paused = isinstance(event, SchedulePaused)
            spec = state.spec.model_copy(update={"paused": paused})
            return replace(state, spec=spec, paused=paused, updated=event.time)
        case ScheduleDeleted():
            return replace(state, deleted=True, updated=event.time)
        case ScheduleFired() | ScheduleSkipped():
            return _recorded(state, event)
    return state


def _recorded(state: ScheduleState, event: ScheduleFired | ScheduleSkipped) -> ScheduleState:
    job_id = event.job_id if isinstance(event, ScheduleFired) else None
    reason = event.reason if isinstance(event, ScheduleSkipped) else None
    firing = Firing(instant=event.instant, jobID=job_id, skipped=reason, cause=event.cause)
    handled = state.handled
    if event.cause in ("clock", "catch-up") and (handled is None or event.instant > handled):
        handled = event.instant
    return replace(
        state,
        handled=handled,
        firings=(*state.firings, firing)[-KEPT_FIRINGS:],
        last_job_id=job_id or state.last_job_id,
    )


def fold_schedule(events, state: ScheduleState | None = None) -> ScheduleState | None:
    for event in events:
        state = apply_schedule(state, event)
    return state


# -- what a firing decides -------------------------------------------------------------------
# The previous job's standing, as the overlap policy sees it.
PreviousJob = Literal["none", "ended", "running", "waiting"]


@dataclass
class FiringDecision:
    """Jobs to submit and firings to record as skipped, then the next instant to arm."""

    fire: list[tuple[datetime, FiringCause]] = field(default_factory=list)
    skip: list[ScheduleSkipped] = field(default_factory=list)
    arm: datetime | None = None


def decide_firing(
    state: ScheduleState | None, instant: datetime, now: datetime, previous: PreviousJob
) -> FiringDecision:
    """What the clock's firing at ``instant``, handled at ``now``, does.

    Firings due by now beyond this one were missed (everything down, or the firing handed on
    late): the catch-up policy picks which of them run. The overlap policy then looks at the
    previous job. The next instant armed is the first after now: never a burst.
    """
    if state is None or state.deleted:
        return FiringDecision()
    cadence = state.spec.cadence(state.created)
    if cadence is None:  # fired by a dataset's updates now, not by its clock
        return FiringDecision()
    arm = cadence.after(now)
    if state.paused:
        return FiringDecision(arm=None)
    if state.handled is not None and instant <= state.handled:
        return FiringDecision(arm=arm)
    due = [instant, *cadence.between(instant, now, limit=100_000)]
    run, missed = _caught_up(state.spec, due)
    decision = FiringDecision(arm=arm, skip=_missed(state.id, missed))
    for moment in run:
        cause: FiringCause = "clock" if len(due) == 1 else "catch-up"
        reason = _overlapping(state.spec.overlap, previous, len(decision.fire))
        if reason:
            decision.skip.append(
                ScheduleSkipped(schedule_id=state.id, instant=moment, reason=reason, cause=cause)
            )
        else:
            decision.fire.append((moment, cause))
    return decision


def _caught_up(spec: ScheduleSpec, due: list[datetime]) -> tuple[list[datetime], list[datetime]]:
    """(to run, missed and not run) of the instants ``due``, the latest last."""
    if len(due) == 1:
        return due, []
    if spec.catch_up is CatchUp.SKIP:
        return [], due
    keep = 1 if spec.catch_up is CatchUp.LATEST else spec.catch_up_limit
    return due[-keep:], due[:-keep]


def _missed(schedule_id: str, missed: list[datetime]) -> list[ScheduleSkipped]:
    reason = "missed: it was due while nothing could run it (catch-up policy)"
    if len(missed) <= RECORDED_ONE_BY_ONE:
        return [
            ScheduleSkipped(schedule_id=schedule_id, instant=m, reason=reason, cause="catch-up")
            for m in missed
        ]
    return [
        ScheduleSkipped(
            schedule_id=schedule_id,
            instant=missed[-1],
            first=missed[0],
            count=len(missed),
            reason=reason,
            cause="catch-up",
        )
    ]


def decide_update(state: ScheduleState, previous: PreviousJob) -> str | None:
    """Why a dataset's update makes no job of ``state``'s trigger, or None: it does."""
    if state.deleted or state.paused:
        return "paused" if state.paused else "deleted"
    return _overlapping(state.spec.overlap, previous, 0)


def _overlapping(overlap: Overlap, previous: PreviousJob, fired_now: int) -> str | None:
    """Why a firing makes no job under ``overlap``, or None. ``fired_now``: jobs this same
    decision already submits (they count as the previous job, not yet started)."""
    standing: PreviousJob = "waiting" if fired_now else previous
    if overlap is Overlap.ALLOW or standing in ("none", "ended"):
        return None
    if overlap is Overlap.SKIP:
        return f"overlap: the previous job is still {standing} (overlap policy skip)"
    if standing == "waiting":
        return "overlap: a job is already waiting behind the running one (overlap policy queue)"
    return None
