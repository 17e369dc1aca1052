"""The view's tables. Disposable: `jobstream projector rebuild` recreates them from the stream."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Table, Text, inspect
from sqlmodel import Field, SQLModel


def _named(name: str) -> Any:
    # SQLModel's stubs declare __tablename__ as a declared_attr, which a plain name (what
    # SQLModel's documentation and runtime take) does not satisfy.
    return name


def _utc_column(index: bool = False, nullable: bool = True) -> Any:
    return Field(
        default=None, sa_column=Column(DateTime(timezone=True), index=index, nullable=nullable)
    )


class JobRow(SQLModel, table=True):
    __tablename__ = _named("jobs")

    job_id: str = Field(primary_key=True)
    process_id: str = Field(index=True)
    status: str = Field(index=True)
    created: datetime = _utc_column(index=True, nullable=False)
    updated: datetime = _utc_column(nullable=False)
    started: datetime | None = _utc_column()
    finished: datetime | None = _utc_column()
    attempt: int = 0
    done: float | None = None
    total: float | None = None
    message: str | None = Field(default=None, sa_column=Column(Text))
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    response: str = "raw"
    results: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    caused_by: str | None = None
    estimate: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    owner: str | None = Field(default=None, index=True)
    priority: str = "normal"
    keys: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Whether it has keys: the queue's per-key figures read only those jobs.
    keyed: bool = False
    # Bytes of all the job's events in the stream: what its owner's quota counts.
    stored_bytes: int = 0


class DatasetRow(SQLModel, table=True):
    """What a dataset's repository holds, as of the newest commit a job recorded."""

    __tablename__ = _named("datasets")

    dataset_id: str = Field(primary_key=True)
    store: str
    snapshot_id: str
    updated: datetime = _utc_column(nullable=False)
    coverage: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    stored: int = 0
    process_id: str
    process_version: str
    last_job: str
    jobs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


# Bump when the tables change: a view of another version is dropped and rebuilt from the stream.
VIEW_VERSION = 6


class ViewMeta(SQLModel, table=True):
    __tablename__ = _named("view_meta")

    name: str = Field(primary_key=True)
    version: int


# The checkpoint row's name: the view has one position in the stream.
CHECKPOINT = "jobs"


class Checkpoint(SQLModel, table=True):
    """The last stream sequence folded into the view, committed with the rows it produced."""

    __tablename__ = _named("projector_checkpoint")

    name: str = Field(primary_key=True)
    sequence: int = 0


class ParkedEvent(SQLModel, table=True):
    """A stream message the projector could not apply, kept for an operator to look at."""

    __tablename__ = _named("parked_events")

    sequence: int = Field(primary_key=True)
    subject: str
    error: str = Field(sa_column=Column(Text, nullable=False))
    data: str = Field(sa_column=Column(Text, nullable=False))
    parked_at: datetime = _utc_column(nullable=False)


class OwnedEvent(SQLModel, table=True):
    """Where a caller's jobs' events are in the stream: what a caller's replay of ``/events``
    reads, rather than scanning every job's events. Jobs of the anonymous caller (no
    authentication), who reads every job anyway, are not indexed."""

    __tablename__ = _named("owned_events")
    __table_args__ = (Index("ix_owned_events_owner_sequence", "owner", "sequence"),)

    sequence: int = Field(primary_key=True)
    owner: str
    job_id: str


class HeldEvent(SQLModel, table=True):
    """A stream message of a job held back from the view: written by a newer jobstream, or
    following one of its job's that was. The job's row stays as it was before the first;
    an upgraded projector applies them, in order, and removes them."""

    __tablename__ = _named("held_events")

    sequence: int = Field(primary_key=True)
    job_id: str = Field(index=True)
    subject: str
    reason: str = Field(sa_column=Column(Text, nullable=False))
    data: str = Field(sa_column=Column(Text, nullable=False))
    held_at: datetime = _utc_column(nullable=False)


def table_of(model: type[SQLModel]) -> Table:
    """A table class's Core table, for the Core statements on the hot paths."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


JOBS = table_of(JobRow)
DATASETS = table_of(DatasetRow)
CHECKPOINTS = table_of(Checkpoint)
PARKED = table_of(ParkedEvent)
HELD = table_of(HeldEvent)
OWNED = table_of(OwnedEvent)
