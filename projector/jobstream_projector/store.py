"""Reading and writing the job view: one transaction per batch, checkpoint included."""

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import structlog

from sqlalchemy import Engine, event, func
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, create_engine, select

from jobstream_contracts.events import Event
from jobstream_contracts.ogc import StatusCode

from .fold import JobState, apply
from .tables import VIEW_VERSION, Checkpoint, JobRow, ParkedEvent, ViewMeta

log = structlog.get_logger(__name__)

CHECKPOINT = "jobs"
_DATETIME_FIELDS = ("created", "updated", "started", "finished")


class CheckpointMoved(RuntimeError):
    """Someone else (a rebuild, another projector) moved the checkpoint under us."""


def create_view_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        # WAL lets the gateway read while the projector writes.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def create_view(engine: Engine, migrate: bool = True) -> None:
    """Create the view; with ``migrate`` (the projector's job), a view written by another
    VIEW_VERSION is dropped so that the stream is replayed into the current tables."""
    SQLModel.metadata.create_all(engine)
    if not migrate:
        return
    with Session(engine) as session, session.begin():
        meta = session.get(ViewMeta, "jobs")
        if meta is not None and meta.version == VIEW_VERSION:
            return
        empty = session.exec(select(func.count()).select_from(Checkpoint)).one() == 0
    if not empty:
        log.warning("view written by another version; dropping it to replay the stream",
                    found=meta.version if meta else None, expected=VIEW_VERSION)
        drop_view(engine)
        SQLModel.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.merge(ViewMeta(name="jobs", version=VIEW_VERSION))


def drop_view(engine: Engine) -> None:
    SQLModel.metadata.drop_all(engine)


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def row_to_state(row: JobRow) -> JobState:
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(JobState)}
    for name in _DATETIME_FIELDS:
        values[name] = _utc(values[name])
    values["status"] = StatusCode(values["status"])
    return JobState(**values)


def storable_text(text: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters; SQLite can. Keep both views equal."""
    return None if text is None else text.replace("\x00", "\ufffd")


def _state_values(state: JobState) -> dict:
    values = {f.name: getattr(state, f.name) for f in dataclasses.fields(JobState)}
    values["status"] = state.status.value
    values["message"] = storable_text(state.message)
    return values


def read_checkpoint(engine: Engine) -> int:
    with Session(engine) as session:
        checkpoint = session.get(Checkpoint, CHECKPOINT)
        return checkpoint.sequence if checkpoint else 0


def count_parked(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(ParkedEvent)).one()


def apply_batch(
    engine: Engine,
    batch: Iterable[tuple[int, Event]],
    expected_checkpoint: int,
    parked: Iterable[ParkedEvent] = (),
) -> int:
    """Fold ``(sequence, event)`` pairs into the view; returns the new checkpoint.

    Events at or below the stored checkpoint are skipped, so a batch delivered twice changes
    nothing. Raises CheckpointMoved when the stored checkpoint is not the one the caller
    read, so the caller can resume from the truth instead of leaving a gap.
    """
    batch = list(batch)
    parked = list(parked)
    with Session(engine) as session, session.begin():
        checkpoint = session.get(Checkpoint, CHECKPOINT, with_for_update=True)
        stored = checkpoint.sequence if checkpoint else 0
        if stored != expected_checkpoint:
            raise CheckpointMoved(f"checkpoint is {stored}, expected {expected_checkpoint}")
        fresh = [(seq, ev) for seq, ev in batch if seq > stored]
        job_ids = {ev.job_id for _, ev in fresh}
        rows = {
            row.job_id: row
            for row in session.exec(select(JobRow).where(JobRow.job_id.in_(job_ids)))
        } if job_ids else {}
        states: dict[str, JobState | None] = {
            job_id: row_to_state(row) for job_id, row in rows.items()
        }
        for _, ev in fresh:
            states[ev.job_id] = apply(states.get(ev.job_id), ev)
        for job_id, state in states.items():
            values = _state_values(state)
            row = rows.get(job_id)
            if row is None:
                session.add(JobRow(**values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)
        for item in parked:
            if item.sequence > stored:
                session.merge(item)
        last = max([seq for seq, _ in batch] + [p.sequence for p in parked] + [stored])
        if checkpoint is None:
            session.add(Checkpoint(name=CHECKPOINT, sequence=last))
        else:
            checkpoint.sequence = last
    return last
