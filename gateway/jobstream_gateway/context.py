"""What request handlers share: settings, the journal, the view, the catalogs and identity.

What stays NATS-specific (asking executors for estimates, the quick-look store, the
connection /ready reports) sits in small named parts an in-process test may leave out.
"""

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request
from nats.errors import Error as NatsError
from nats.js.errors import ServiceUnavailableError
from sqlalchemy import Engine

from jobstream_contracts.events import Event, EventDecodeError
from jobstream_contracts.fold import JobState, fold
from jobstream_contracts.ogc import ExceptionType
from jobstream_infra.journal import HistoryChanged, Journal
from jobstream_infra.settings import GatewaySettings
from jobstream_projector import view

from .catalog import DatasetCatalog, ProcessCatalog
from .errors import VIEW_FAILURES, OGCError
from .fairness import Backlogs
from .identity import Identity
from .metrics import count_published
from .nats_parts import Connection, Executors, QuickLooks
from .room import StoreRoom
from .slots import HeldRequests

if TYPE_CHECKING:
    from .scheduling import Schedules

# JetStream's "insufficient resources": the store is at its size cap (or the disk is full).
STORE_FULL = 10023

# NATS's default max_payload less room for headers: the largest event a default server takes.
DEFAULT_MAX_EVENT_BYTES = 1024 * 1024 - 4096

# What NATS raises when it cannot be reached or does not answer in time.
UNREACHABLE = (NatsError, asyncio.TimeoutError, OSError)


def unavailable(exc: Exception, publishing: bool = False) -> OGCError:
    """503 for the stream out of reach; ``publishing``: for a publish refused before it
    left (the gateway never buffers one): nothing was recorded."""
    recorded = "; nothing was recorded" if publishing else ""
    return OGCError(
        503,
        ExceptionType.SERVICE_UNAVAILABLE,
        f"the event stream did not answer ({type(exc).__name__}){recorded}; retry later — "
        "with an Idempotency-Key a retry never creates a second job",
        "Service unavailable",
        headers={"Retry-After": "2"},
    )


def unanswered(event: Event) -> OGCError:
    """503 for a publish the server may have stored: sent, but not acknowledged in time (the
    connection down publishes nothing: the gateway never buffers). Names the job, so a client
    can look before it retries."""
    what = {"JobSubmitted": "submission", "JobDismissed": "dismissal"}.get(
        type(event).__name__, "event"
    )
    return OGCError(
        503,
        ExceptionType.SERVICE_UNAVAILABLE,
        f"the event stream did not acknowledge the {what} of job {event.job_id} in time; it "
        f"may have been recorded: look at /jobs/{event.job_id} before you retry (with an "
        "Idempotency-Key a retry never creates a second job)",
        "Service unavailable",
        headers={"Retry-After": "2"},
        members={"jobID": event.job_id},
    )


def unreadable(job_id: str, exc: EventDecodeError) -> OGCError:
    """503 for a job whose history holds an event this gateway cannot read: one written by a
    newer jobstream (readable after an upgrade; the projector holds its job back), or a damaged
    one the projector is about to park (readable once it has)."""
    if exc.newer:
        detail = f"job {job_id} has an event of a newer jobstream version; readable once upgraded"
    else:
        detail = f"job {job_id} has an event that cannot be read; retry later"
    return OGCError(
        503,
        ExceptionType.SERVICE_UNAVAILABLE,
        detail,
        "Service unavailable",
        headers={"Retry-After": "60" if exc.newer else "2"},
    )


@dataclass
class Context:
    settings: GatewaySettings
    journal: Journal
    engine: Engine
    catalog: ProcessCatalog
    datasets: DatasetCatalog
    held: HeldRequests
    identity: Identity
    # The largest event the journal stores (the server's max_payload less its headers).
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    # None: no executor offers estimates (as when none of a process runs).
    executors: Executors | None = None
    # None: no data job has stored a quick-look.
    quicklooks: QuickLooks | None = None
    # None: nothing to report about a connection (the journal is in this process).
    connection: Connection | None = None
    # None: no schedules stream (a gateway over an in-memory journal).
    schedules: "Schedules | None" = None
    # How full the journal's store is, for the submissions' reserve.
    room: StoreRoom = field(init=False)
    # Each caller's waiting jobs, for the lanes of their next ones.
    backlogs: Backlogs = field(init=False)

    def __post_init__(self) -> None:
        self.room = StoreRoom.of(self.journal, self.settings)
        self.backlogs = Backlogs(self.engine, self.settings.fair_backlog)

    async def publish(self, event: Event, expect_last: int | None = None) -> None:
        """Publish or raise 503: a request never succeeds for an event that was not stored."""
        size = len(event.encode())
        if size > self.max_event_bytes:
            raise OGCError(
                413,
                ExceptionType.INVALID_INPUT,
                f"the request is {size} bytes as an event; at most "
                f"{self.max_event_bytes} are accepted",
                "Request too large",
            )
        try:
            await self.journal.append(event, expect_last=expect_last)
            count_published(event)
        except HistoryChanged:
            raise
        except ServiceUnavailableError as exc:
            if exc.err_code != STORE_FULL:
                raise unavailable(exc) from exc
            raise OGCError(
                503,
                ExceptionType.SERVICE_UNAVAILABLE,
                "the event store is full; nothing was recorded. Retry later — an operator "
                "must make room (JOBSTREAM_EMBEDDED_MAX_STORE, or the server's max_file_store)",
                "Service unavailable",
                headers={"Retry-After": "30"},
            ) from exc
        except TimeoutError as exc:
            raise unanswered(event) from exc
        except UNREACHABLE as exc:
            raise unavailable(exc, publishing=True) from exc

    async def job(self, job_id: str, publishing: bool = False) -> JobState | None:
        """The job as of now: its view row plus any events the projector has not folded yet.

        A job answered 201 is therefore never 404, and a sync result is never followed by a
        stale "running". Should the view be unreadable, the job's whole history is folded
        instead; should the journal be unreachable, the view's row is the best answer left;
        should an event be unreadable, there is none (503). ``publishing``: read before a
        publish, whose 503 then says that nothing was recorded.
        """
        try:
            state, checkpoint = await asyncio.to_thread(view.get_job, self.engine, job_id)
        except VIEW_FAILURES:
            state, checkpoint = None, 0
        try:
            newer = [record.event for record in await self.journal.read(job_id, checkpoint)]
        except EventDecodeError as exc:
            raise unreadable(job_id, exc) from exc
        except UNREACHABLE as exc:
            if state is not None:
                return state
            raise unavailable(exc, publishing) from exc
        return fold(newer, state)


async def context(request: Request) -> Context:
    # async: FastAPI runs a plain-def dependency in its thread pool, a thread hop per request.
    return request.app.state.context


def base_url(request: Request) -> str:
    settings: GatewaySettings = request.app.state.context.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")
