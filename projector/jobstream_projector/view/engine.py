"""Creating, migrating and dropping the view's tables, on SQLite or PostgreSQL."""

import time
from pathlib import Path

import structlog
from sqlalchemy import Engine, event, func
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlmodel import Session, SQLModel, create_engine, select

from .tables import VIEW_VERSION, Checkpoint, ViewMeta

log = structlog.get_logger(__name__)

# Seconds a database server may take to accept a connection. Without a bound, a server whose
# packets are dropped holds each connecting thread for the kernel's TCP timeout (minutes),
# while readers wait for a pool slot; with it, they fail fast and the gateway answers 503.
CONNECT_TIMEOUT_SECONDS = 5


def create_view_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # The URL's own connect_timeout, if it has one, wins.
        bounded = (
            {}
            if "connect_timeout" in parsed.query
            else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        )
        return create_engine(url, pool_pre_ping=True, connect_args=bounded)
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
    """Create the view; with ``migrate``, a view written by another VIEW_VERSION is dropped
    so that the stream is replayed into the current tables.

    Migrating is the job of the projector holding the view's lease: one standing by during a
    rolling upgrade must not drop the tables the old version's active projector still writes.
    """
    create_tables(engine)
    if not migrate:
        return
    found = _stamped_version(engine)
    if found == VIEW_VERSION:
        return
    if found is not None or not _is_empty(engine):
        log.warning(
            "view written by another version; dropping it to replay the stream",
            found=found,
            expected=VIEW_VERSION,
        )
        drop_view(engine)
        create_tables(engine)
    _stamp(engine)


def _stamped_version(engine: Engine) -> int | None:
    with Session(engine) as session:
        meta = session.get(ViewMeta, "jobs")
        return None if meta is None else meta.version


def _is_empty(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Checkpoint)).one() == 0


def _stamp(engine: Engine) -> None:
    try:
        with Session(engine) as session, session.begin():
            session.merge(ViewMeta(name="jobs", version=VIEW_VERSION))
    except IntegrityError:
        # Another component stamped the empty view between our read and our insert.
        if _stamped_version(engine) != VIEW_VERSION:
            raise


def create_tables(engine: Engine) -> None:
    """The view's tables, created by whichever component starts first.

    The gateway and the projector start together (`jobstream up`) and both create what is
    missing; the loser of that race sees "already exists" (SQLite) or a duplicate type
    (PostgreSQL) for a table the winner just made, and looks again.
    """
    for attempt in range(5):
        try:
            SQLModel.metadata.create_all(engine)
            return
        except (OperationalError, ProgrammingError, IntegrityError):
            if attempt == 4:
                raise
            time.sleep(0.1)


def drop_view(engine: Engine) -> None:
    SQLModel.metadata.drop_all(engine)
