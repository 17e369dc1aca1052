"""Writing the view: one transaction per batch, checkpoint included. Only the projector writes.

An event written by a newer jobstream is held back with every later event of its job: the
rest of the view moves on, and an upgraded projector releases them (``release_held``).

An event that cannot be applied (the fold raises, or the database refuses the row it makes) is
parked like one that cannot be decoded, and the view moves on: retrying it would fail the
same way for ever. When a batch fails as a whole, its events are applied again one
transaction each, so only the culprit is parked. A database that cannot be reached is not
the event's fault: that error is raised, and the batch retried later.

Two writers are kept apart twice: the stored checkpoint must be the one the writer read
(CheckpointMoved), and a writer given a ``fence`` (the projector's lease) confirms it inside
the transaction, after locking the checkpoint row and before comparing it, so that a writer
whose lease has passed to another stops (Fenced) before it writes anything.
"""

import functools
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

import sqlalchemy.exc
import structlog
from sqlalchemy import Engine, select

from jobstream_contracts.access import ANONYMOUS
from jobstream_contracts.dataset_fold import apply_commit
from jobstream_contracts.events import DatasetCommitted, Event, EventDecodeError
from jobstream_contracts.fold import JobState, apply

from .rows import dataset_values, row_to_dataset, row_to_state, state_values, storable_text
from .tables import (
    CHECKPOINT,
    CHECKPOINTS,
    DATASETS,
    HELD,
    JOBS,
    OWNED,
    PARKED,
    HeldEvent,
    ParkedEvent,
)

log = structlog.get_logger(__name__)


class CheckpointMoved(RuntimeError):
    """Someone else (a rebuild, another projector) moved the checkpoint under us."""


class Fenced(RuntimeError):
    """The writer could not confirm its fence (its lease): another may be writing the view."""


# Confirms the writer's right to write; raises whatever it likes when it cannot.
Fence = Callable[[], object]

# Failures of the database or of the projector's position, not of the events in the batch.
_NOT_THE_EVENTS = (
    CheckpointMoved,
    Fenced,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)


def parked_event(sequence: int, subject: str, error: str, data: str) -> ParkedEvent:
    return ParkedEvent(
        sequence=sequence,
        subject=subject,
        error=storable_text(error),
        data=storable_text(data),
        parked_at=datetime.now(UTC),
    )


def held_event(sequence: int, subject: str, job_id: str, reason: str, data: str) -> HeldEvent:
    return HeldEvent(
        sequence=sequence,
        job_id=job_id,
        subject=subject,
        reason=storable_text(reason),
        data=storable_text(data),
        held_at=datetime.now(UTC),
    )


# Messages the view records without folding them: parked for good, or held for an upgrade.
SetAside = ParkedEvent | HeldEvent


def apply_batch(
    engine: Engine,
    batch: Iterable[tuple[int, Event]],
    expected_checkpoint: int,
    parked: Iterable[SetAside] = (),
    fence: Fence | None = None,
    sizes: Mapping[int, int] | None = None,
) -> int:
    """Fold ``(sequence, event)`` pairs into the view, recording ``parked`` (events parked or
    held) beside them; returns the new checkpoint. ``sizes``: each event's stored bytes by
    sequence (by default, its encoding's), added up in its job's row.

    Events at or below the stored checkpoint are skipped, so a batch delivered twice changes
    nothing. Raises CheckpointMoved when the stored checkpoint is not the one the caller
    read, so the caller can resume from the truth instead of leaving a gap. Events that
    cannot be applied are parked (see above). Raises Fenced when ``fence`` raises.
    """
    batch, parked = list(batch), list(parked)
    if sizes is None:
        sizes = {seq: len(event.encode()) for seq, event in batch}
    try:
        return _apply(engine, batch, expected_checkpoint, parked, fence, sizes)
    except _NOT_THE_EVENTS:
        raise
    except Exception as exc:  # noqa: BLE001 - one of the events: find it, park it
        log.warning("a batch could not be applied; applying its events one by one", error=repr(exc))
    return _apply_one_by_one(engine, batch, expected_checkpoint, parked, fence, sizes)


def _apply_one_by_one(
    engine: Engine,
    batch: list[tuple[int, Event]],
    checkpoint: int,
    parked: list[SetAside],
    fence: Fence | None,
    sizes: Mapping[int, int],
) -> int:
    items = sorted([*batch, *((p.sequence, p) for p in parked)], key=lambda item: item[0])
    for seq, item in items:
        if isinstance(item, SetAside):
            checkpoint = _apply(engine, [], checkpoint, [item], fence, sizes)
            continue
        try:
            checkpoint = _apply(engine, [(seq, item)], checkpoint, [], fence, sizes)
        except _NOT_THE_EVENTS:
            raise
        except Exception as exc:  # noqa: BLE001 - this event's own fault
            log.error("parked an event the projector cannot apply", seq=seq, error=repr(exc))
            unapplied = parked_event(
                seq, item.subject, f"cannot be applied: {exc!r}", item.model_dump_json()
            )
            checkpoint = _apply(engine, [], checkpoint, [unapplied], fence, sizes)
    return checkpoint


def _apply(
    engine: Engine,
    batch: list[tuple[int, Event]],
    expected_checkpoint: int,
    parked: list[SetAside],
    fence: Fence | None,
    sizes: Mapping[int, int],
) -> int:
    # SQLAlchemy Core, not the ORM unit of work: the ORM's per-attribute bookkeeping cost
    # ~200 µs an event, five times the rest of the projection together.
    with engine.begin() as connection:
        stored = connection.execute(
            select(CHECKPOINTS.c.sequence).where(CHECKPOINTS.c.name == CHECKPOINT).with_for_update()
        ).scalar()
        _confirm(fence)
        if (stored or 0) != expected_checkpoint:
            raise CheckpointMoved(f"checkpoint is {stored or 0}, expected {expected_checkpoint}")
        fresh = [(seq, ev) for seq, ev in batch if seq > expected_checkpoint]
        _fold_jobs(engine, connection, [(seq, sizes.get(seq, 0), ev) for seq, ev in fresh])
        _fold_datasets(
            engine, connection, [ev for _, ev in fresh if isinstance(ev, DatasetCommitted)]
        )
        _set_aside(engine, connection, [p for p in parked if p.sequence > expected_checkpoint])
        last = max([seq for seq, _ in batch] + [p.sequence for p in parked] + [expected_checkpoint])
        connection.execute(
            _upsert(engine, CHECKPOINTS, ["name"]),
            [{"name": CHECKPOINT, "sequence": last}],
        )
    return last


def _fold_jobs(engine: Engine, connection, sized: list[tuple[int, int, Event]]) -> None:
    """Fold ``(sequence, stored bytes, event)`` into their jobs' rows, and index the events
    of each job by its owner."""
    job_ids = list({ev.job_id: None for _, _, ev in sized})
    if not job_ids:
        return
    states: dict[str, JobState] = {}
    stored: dict[str, int] = {}
    for row in connection.execute(select(JOBS).where(JOBS.c.job_id.in_(job_ids))):
        states[row.job_id], stored[row.job_id] = row_to_state(row), row.stored_bytes
    for _, size, ev in sized:
        states[ev.job_id] = apply(states.get(ev.job_id), ev)
        stored[ev.job_id] = stored.get(ev.job_id, 0) + size
    connection.execute(
        _upsert(engine, JOBS, ["job_id"]),
        [state_values(state) | {"stored_bytes": stored[id]} for id, state in states.items()],
    )
    owned = [
        {"sequence": seq, "owner": owner, "job_id": ev.job_id}
        for seq, _, ev in sized
        if (owner := states[ev.job_id].owner) not in (None, ANONYMOUS.id)
    ]
    if owned:
        connection.execute(_upsert(engine, OWNED, ["sequence"]), owned)


def _set_aside(engine: Engine, connection, items: list[SetAside]) -> None:
    for table, kind in ((PARKED, ParkedEvent), (HELD, HeldEvent)):
        rows = [item.model_dump() for item in items if isinstance(item, kind)]
        if rows:
            connection.execute(_upsert(engine, table, ["sequence"]), rows)


# Reads a stored message as an event (decode_event, or an upgraded reader's).
Decode = Callable[[bytes, str], Event]


def release_held(engine: Engine, decode: Decode, fence: Fence | None = None) -> set[str]:
    """Apply, job by job and in stream order, the held events ``decode`` now reads; returns
    the ids of the jobs still held (one of their events is still of a newer jobstream)."""
    with engine.connect() as connection:
        rows = connection.execute(select(HELD).order_by(HELD.c.sequence)).all()
    by_job: dict[str, list] = {}
    for row in rows:
        by_job.setdefault(row.job_id, []).append(row)
    still_held = set()
    for job_id, held in by_job.items():
        readable = _read_held(held, decode)
        if readable is None:
            still_held.add(job_id)
            continue
        events, parked = readable
        try:
            _release(engine, [row.sequence for row in held], events, parked, fence)
        except _NOT_THE_EVENTS:
            raise
        except Exception as exc:  # noqa: BLE001 - one of its events: park them all
            log.error("parked a held job's events that cannot be applied", job_id=job_id)
            unapplied = [
                parked_event(row.sequence, row.subject, f"cannot be applied: {exc!r}", row.data)
                for row in held
            ]
            _release(engine, [row.sequence for row in held], [], unapplied, fence)
    return still_held


def _read_held(
    held: list, decode: Decode
) -> tuple[list[tuple[int, int, Event]], list[ParkedEvent]] | None:
    """A held job's events with their sequences and sizes, and those of them that are
    damaged; None while one is newer."""
    events, parked = [], []
    for row in held:
        data = row.data.encode()
        try:
            events.append((row.sequence, len(data), decode(data, row.subject)))
        except EventDecodeError as exc:
            if exc.newer:
                return None
            parked.append(parked_event(row.sequence, row.subject, str(exc), row.data))
    return events, parked


def _release(
    engine: Engine,
    sequences: list[int],
    events: list[tuple[int, int, Event]],
    parked: list[ParkedEvent],
    fence: Fence | None,
) -> None:
    with engine.begin() as connection:
        # The checkpoint row's lock keeps this apart from every other write of the view.
        connection.execute(
            select(CHECKPOINTS.c.sequence).where(CHECKPOINTS.c.name == CHECKPOINT).with_for_update()
        )
        _confirm(fence)
        _fold_jobs(engine, connection, events)
        _fold_datasets(
            engine, connection, [ev for _, _, ev in events if isinstance(ev, DatasetCommitted)]
        )
        _set_aside(engine, connection, list(parked))
        connection.execute(HELD.delete().where(HELD.c.sequence.in_(sequences)))


def _confirm(fence: Fence | None) -> None:
    if fence is None:
        return
    try:
        fence()
    except Exception as exc:  # noqa: BLE001 - unconfirmed is fenced off, whatever the cause
        raise Fenced(f"the writer's fence was not confirmed: {exc!r}") from exc


def _fold_datasets(engine: Engine, connection, commits: list[DatasetCommitted]) -> None:
    commits = [commit for commit in commits if commit.updates_dataset]
    if not commits:
        return
    table = DATASETS
    ids = list({commit.dataset_id: None for commit in commits})
    states = {
        row.dataset_id: row_to_dataset(row)
        for row in connection.execute(select(table).where(table.c.dataset_id.in_(ids)))
    }
    for commit in commits:
        states[commit.dataset_id] = apply_commit(states.get(commit.dataset_id), commit)
    connection.execute(
        _upsert(engine, table, ["dataset_id"]), [dataset_values(state) for state in states.values()]
    )


def _upsert(engine: Engine, table, keys: list[str]):
    """INSERT … ON CONFLICT DO UPDATE, in the dialect of the view's database."""
    return _upsert_statement(engine.dialect.name, table, tuple(keys))


# Built once per table: constructing the statement (its `excluded` columns above all) cost
# more than executing it for the small batches of a projector following the stream live.
@functools.cache
def _upsert_statement(dialect: str, table, keys: tuple[str, ...]):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - other databases need their own upsert
        raise NotImplementedError(f"no upsert for {dialect}")
    statement = insert(table)
    updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    return statement.on_conflict_do_update(index_elements=keys, set_=updates)
