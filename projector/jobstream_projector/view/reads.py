"""Every query of the view: the gateway's pages, the checkpoint, the parked events."""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, bindparam, exists, func, or_
from sqlalchemy import select as core_select
from sqlmodel import Session, select

from jobstream_contracts.dataset_fold import DatasetState
from jobstream_contracts.fold import JobState
from jobstream_contracts.ogc import StatusCode

from .rows import LISTED_FIELDS, row_to_dataset, row_to_state
from .tables import (
    CHECKPOINT,
    CHECKPOINTS,
    HELD,
    JOBS,
    OWNED,
    DatasetRow,
    HeldEvent,
    ParkedEvent,
)


@dataclass(frozen=True)
class JobQuery:
    process_ids: list[str] = field(default_factory=list)
    statuses: list[StatusCode] = field(default_factory=list)
    created_from: datetime | None = None
    created_to: datetime | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    limit: int = 10
    offset: int = 0
    # Only jobs this principal owns; None: every job.
    owner: str | None = None


_CHECKPOINT_QUERY = core_select(CHECKPOINTS.c.sequence).where(CHECKPOINTS.c.name == CHECKPOINT)
_CHECKPOINT_AND_HOLD_QUERY = core_select(
    CHECKPOINTS.c.sequence, exists().where(HELD.c.job_id == bindparam("job_id"))
).where(CHECKPOINTS.c.name == CHECKPOINT)
_JOB_QUERY = core_select(JOBS).where(JOBS.c.job_id == bindparam("job_id"))


def get_job(engine: Engine, job_id: str) -> tuple[JobState | None, int]:
    """The job's row and a checkpoint it is at least as new as; ``(None, 0)`` for a job held
    back from the view (its whole history is then the answer: its row is behind it)."""
    # SQLAlchemy Core: every status poll comes here, and the ORM's identity map and
    # instance loading cost more than the two queries themselves.
    with engine.connect() as connection:
        # Checkpoint first: the row read after it can only be newer, and replaying events
        # the row already holds changes nothing.
        found = connection.execute(_CHECKPOINT_AND_HOLD_QUERY, {"job_id": job_id}).first()
        checkpoint, held = found if found is not None else (0, False)
        if held:
            return None, 0
        row = connection.execute(_JOB_QUERY, {"job_id": job_id}).first()
        return (row_to_state(row) if row else None), (checkpoint or 0)


_LISTED_COLUMNS = [JOBS.c[name] for name in LISTED_FIELDS]


def list_jobs(engine: Engine, query: JobQuery) -> tuple[list[JobState], bool]:
    """A page of jobs, newest first, and whether more follow.

    The states hold what a list shows only: no inputs, outputs, results or error (a page of
    1,000 jobs would otherwise load every one's, up to a megabyte each).
    """
    statement = core_select(*_LISTED_COLUMNS)
    if query.owner is not None:
        statement = statement.where(JOBS.c.owner == query.owner)
    if query.process_ids:
        statement = statement.where(JOBS.c.process_id.in_(query.process_ids))
    if query.statuses:
        statement = statement.where(JOBS.c.status.in_([s.value for s in query.statuses]))
    if query.created_from is not None:
        statement = statement.where(JOBS.c.created >= query.created_from)
    if query.created_to is not None:
        statement = statement.where(JOBS.c.created <= query.created_to)
    if query.min_duration is not None or query.max_duration is not None:
        # /req/job-list/duration-response: only jobs that have started have a duration.
        seconds = _duration_seconds(engine.dialect.name, datetime.now(UTC))
        statement = statement.where(JOBS.c.started.is_not(None))
        if query.min_duration is not None:
            statement = statement.where(seconds >= query.min_duration)
        if query.max_duration is not None:
            statement = statement.where(seconds <= query.max_duration)
    statement = statement.order_by(JOBS.c.created.desc(), JOBS.c.job_id.desc())
    with engine.connect() as connection:
        rows = connection.execute(statement.offset(query.offset).limit(query.limit + 1)).all()
    states = [row_to_state(row, LISTED_FIELDS) for row in rows]
    return states[: query.limit], len(states) > query.limit


def _duration_seconds(dialect: str, now: datetime):
    """A job's duration in seconds as SQL: started to finished, or to now while running."""
    if dialect == "sqlite":
        # SQLite keeps UTC datetimes as naive ISO text, which julianday() reads.
        end = func.coalesce(JOBS.c.finished, now.replace(tzinfo=None).isoformat(sep=" "))
        return (func.julianday(end) - func.julianday(JOBS.c.started)) * 86400.0
    end = func.coalesce(JOBS.c.finished, now)
    return func.extract("epoch", end - JOBS.c.started)


_ACTIVE = (StatusCode.ACCEPTED.value, StatusCode.RUNNING.value)


@dataclass(frozen=True)
class CallerUsage:
    """What one caller's jobs hold: those queued or running, and the bytes stored by those
    created since an instant (and when the first of them was created)."""

    active: int
    stored_bytes: int
    first_created: datetime | None


def caller_usage(engine: Engine, owner: str, since: datetime) -> CallerUsage:
    """``owner``'s usage, in one query: the submission check's only read of the view."""
    recent = JOBS.c.created >= since
    statement = core_select(
        func.count().filter(JOBS.c.status.in_(_ACTIVE)),
        func.coalesce(func.sum(JOBS.c.stored_bytes).filter(recent), 0),
        func.min(JOBS.c.created).filter(recent),
    ).where(JOBS.c.owner == owner)
    with engine.connect() as connection:
        active, stored, first = connection.execute(statement).one()
    return CallerUsage(active, int(stored), _instant(first))


def _instant(value: datetime | str | None) -> datetime | None:
    """A min() of a time column: SQLite's answers the stored text, naive; all is UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def stored_datasets(engine: Engine) -> dict[str, DatasetState]:
    """What each dataset's repository holds, by dataset id (one row per dataset written)."""
    with Session(engine) as session:
        return {row.dataset_id: row_to_dataset(row) for row in session.exec(select(DatasetRow))}


def read_checkpoint(engine: Engine) -> int:
    """The last stream sequence folded into the view (0 for an empty view)."""
    with engine.connect() as connection:
        return connection.execute(_CHECKPOINT_QUERY).scalar() or 0


def count_parked(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(ParkedEvent)).one()


_OWNED_QUERY = (
    core_select(OWNED.c.sequence)
    .where(OWNED.c.owner == bindparam("owner"), OWNED.c.sequence > bindparam("after"))
    .order_by(OWNED.c.sequence)
    .limit(bindparam("limit"))
)


def owned_sequences(engine: Engine, owner: str, after: int, limit: int) -> tuple[list[int], int]:
    """The stream sequences of ``owner``'s jobs' events above ``after`` (at most ``limit``),
    and the view's checkpoint, up to which that list is complete."""
    with engine.connect() as connection:
        checkpoint = connection.execute(_CHECKPOINT_QUERY).scalar() or 0
        found = connection.execute(_OWNED_QUERY, {"owner": owner, "after": after, "limit": limit})
        return list(found.scalars()), checkpoint


def count_held(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(HeldEvent)).one()


def held_jobs(engine: Engine) -> set[str]:
    """The jobs held back from the view, waiting for an upgrade."""
    with engine.connect() as connection:
        return set(connection.execute(core_select(HELD.c.job_id).distinct()).scalars())


@dataclass(frozen=True)
class QueueCounts:
    """One process's jobs waiting (accepted) and running, and when the oldest waiting one was
    submitted."""

    process_id: str
    waiting: int = 0
    running: int = 0
    oldest_waiting: datetime | None = None


_QUEUED = [StatusCode.ACCEPTED.value, StatusCode.RUNNING.value]


def queue_counts(engine: Engine, owner: str | None = None) -> list[QueueCounts]:
    """Per process, its waiting and running jobs (only ``owner``'s, unless None): one query
    over the status index, whatever the number of finished jobs."""
    statement = (
        core_select(JOBS.c.process_id, JOBS.c.status, func.count(), func.min(JOBS.c.created))
        .where(JOBS.c.status.in_(_QUEUED))
        .group_by(JOBS.c.process_id, JOBS.c.status)
    )
    if owner is not None:
        statement = statement.where(JOBS.c.owner == owner)
    counts: dict[str, QueueCounts] = {}
    with engine.connect() as connection:
        for process_id, status, count, oldest in connection.execute(statement):
            known = counts.get(process_id, QueueCounts(process_id))
            if status == StatusCode.ACCEPTED.value:
                known = replace(known, waiting=count, oldest_waiting=_instant(oldest))
            else:
                known = replace(known, running=count)
            counts[process_id] = known
    return [counts[name] for name in sorted(counts)]


@dataclass(frozen=True)
class KeyCounts:
    """One concurrency key's jobs: waiting for it, holding it (their ids), and its limit as
    the newest of them was told."""

    key: str
    limit: int
    waiting: int = 0
    oldest_waiting: datetime | None = None
    holders: tuple[str, ...] = ()


def key_counts(engine: Engine, owner: str | None = None) -> list[KeyCounts]:
    """Per concurrency key, the jobs waiting for it and holding it (only ``owner``'s, unless
    None): the active jobs that have keys, read over the status index."""
    statement = core_select(JOBS.c.job_id, JOBS.c.status, JOBS.c["keys"], JOBS.c.created).where(
        JOBS.c.status.in_(_QUEUED), JOBS.c.keyed.is_(True)
    )
    if owner is not None:
        statement = statement.where(JOBS.c.owner == owner)
    counts: dict[str, KeyCounts] = {}
    with engine.connect() as connection:
        for job_id, status, keys, created in connection.execute(statement.order_by(JOBS.c.created)):
            for key, limit in keys.items():
                known = replace(counts.get(key, KeyCounts(key, limit)), limit=limit)
                counts[key] = _counted(known, job_id, status, created)
    return [counts[key] for key in sorted(counts)]


def _counted(known: KeyCounts, job_id: str, status: str, created: datetime) -> KeyCounts:
    if status == StatusCode.RUNNING.value:
        return replace(known, holders=(*known.holders, job_id))
    oldest = known.oldest_waiting or _instant(created)
    return replace(known, waiting=known.waiting + 1, oldest_waiting=oldest)


_LANES = ("high", "normal", "low")


def jobs_ahead(engine: Engine, state: JobState) -> int:
    """How many jobs of its process a queued job waits behind: those queued in a higher lane,
    and those of its lane submitted before it (not those fetched and waiting for a key)."""
    lane = _LANES.index(state.priority)
    statement = (
        core_select(func.count())
        .select_from(JOBS)
        .where(
            JOBS.c.status == StatusCode.ACCEPTED.value,
            JOBS.c.process_id == state.process_id,
            JOBS.c.keyed.is_(False),
            or_(
                JOBS.c.priority.in_(_LANES[:lane]),
                and_(JOBS.c.priority == state.priority, JOBS.c.created < state.created),
            ),
        )
    )
    with engine.connect() as connection:
        return connection.execute(statement).scalar_one()
