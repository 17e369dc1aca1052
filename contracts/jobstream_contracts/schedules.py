"""Schedules as the API takes and gives them: a process, its inputs, and when to run it."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from .cadence import Cadence, check_cron, parse_interval, zone
from .ogc import Link, Model, Priority
from .subjects import PROCESS_ID_PATTERN

# Why a firing happened: on time, a missed one run late, asked for (POST .../trigger), one
# of a backfill's instants, or a dataset's update.
FiringCause = Literal["clock", "catch-up", "manual", "backfill", "dataset-updated"]


class Overlap(StrEnum):
    """What a firing does while the schedule's previous job has not ended."""

    # No job for this firing (recorded as skipped).
    SKIP = "skip"
    # A job, unless the previous one has not even started: at most one waits behind it.
    QUEUE = "queue"
    # A job whatever the previous one does (its concurrency keys still apply).
    ALLOW = "allow"


class CatchUp(StrEnum):
    """What a schedule does with the firings it missed (everything down, or paused work
    handed on late): each is recorded, as run or as skipped."""

    SKIP = "skip"
    # One job, for the latest missed instant.
    LATEST = "latest"
    # A job for each missed instant, up to ``catchUpLimit`` (the latest ones).
    ALL = "all"


class _Schedule(Model):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    title: str | None = Field(default=None, max_length=200)
    process: str = Field(pattern=PROCESS_ID_PATTERN)
    inputs: dict[str, Any] = Field(default_factory=dict)
    cron: str | None = Field(default=None, max_length=200)
    every: str | None = Field(default=None, max_length=40)
    # Instead of a clock: a job each time this dataset is updated (a commit adds periods).
    on_dataset_updated: str | None = Field(
        default=None, alias="onDatasetUpdated", pattern=PROCESS_ID_PATTERN
    )
    # "new-periods": a firing makes a job only if the process's plan has periods to add (a
    # sync whose source published a newer period); otherwise it is skipped: no empty jobs.
    condition: Literal["new-periods"] | None = None
    timezone: str = "UTC"
    start: datetime | None = None
    end: datetime | None = None
    overlap: Overlap = Overlap.SKIP
    catch_up: CatchUp = Field(default=CatchUp.LATEST, alias="catchUp")
    catch_up_limit: int = Field(default=10, ge=1, le=1000, alias="catchUpLimit")
    priority: Priority | None = None
    paused: bool = False

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            check_cron(value)
        return value

    @field_validator("every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        if value is not None:
            parse_interval(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone offset (e.g. 2027-01-01T00:00:00Z)")
        return value

    @model_validator(mode="after")
    def _one_cadence(self) -> "_Schedule":
        whens = [w for w in (self.cron, self.every, self.on_dataset_updated) if w is not None]
        if len(whens) != 1:
            raise ValueError("give exactly one of cron, every and onDatasetUpdated")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def cadence(self, created: datetime, bounded: bool = True) -> Cadence | None:
        """The clock's instants, between the start and end unless not ``bounded`` (a
        backfill's); None for a schedule that a dataset's updates fire."""
        if self.on_dataset_updated is not None:
            return None
        every = parse_interval(self.every) if self.every is not None else None
        start, end = (self.start, self.end) if bounded else (None, None)
        return Cadence(self.cron, every, self.timezone, self.start or created, end, start)


class ScheduleSpec(_Schedule):
    """What a caller writes: ``POST /schedules``, or ``PATCH`` of the members to change.
    Without an ``id``, the gateway gives one."""

    id: str | None = Field(default=None, pattern=PROCESS_ID_PATTERN)


class Firing(Model):
    """One instant of a schedule: the job it made, or why it made none."""

    instant: datetime
    job_id: str | None = Field(default=None, alias="jobID")
    skipped: str | None = None
    cause: FiringCause = "clock"


class Schedule(_Schedule):
    """A schedule as the API shows it: what was written, and where it stands. Members a
    newer gateway adds are kept, not refused (a spec refuses what it does not know)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    id: str = Field(pattern=PROCESS_ID_PATTERN)
    owner: str
    # "api": created over HTTP; "file": declared by the operator (changed only there).
    source: Literal["api", "file"] = "api"
    created: datetime
    updated: datetime
    next_firings: list[datetime] = Field(default_factory=list, alias="nextFirings")
    last_firings: list[Firing] = Field(default_factory=list, alias="lastFirings")
    links: list[Link] = Field(default_factory=list)


class ScheduleList(Model):
    schedules: list[Schedule]
    links: list[Link] = Field(default_factory=list)
