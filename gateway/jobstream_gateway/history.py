"""A job's history, and live event streams: the record as auditors and subscribers read it.

``GET /jobs/{id}/events`` pages through a job's events as CloudEvents (JSON), or streams them,
history first and then live, as server-sent events until the job's final event.
``GET /events`` streams every job's events from now (or after ``Last-Event-ID``).
"""

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from jobstream_contracts.access import Principal
from jobstream_contracts.cloudevents import TYPE_PREFIX, to_cloudevent
from jobstream_contracts.events import (
    EVENT_TYPES,
    TERMINAL_TOKENS,
    Event,
    EventDecodeError,
    JobCreated,
    JobSubmitted,
)
from jobstream_contracts.ogc import Link
from jobstream_contracts.subjects import (
    ALL_EVENTS,
    SUBJECT_ROOT,
    is_valid_token,
    job_filter,
)
from jobstream_infra.journal import Recorded

from .callers import caller, no_such_job
from .context import UNREACHABLE, Context, base_url, context, unavailable, unreadable
from .errors import invalid_parameter
from .owners import OwnedReplay, Owners
from .pages import ListParam, list_values
from .streams import MEDIA_TYPE, event_stream, resume_point, wants_stream

router = APIRouter(tags=["Events"])

PAGE_MAX = 1000
# Events a job's stream reads at once from its history before it follows the stream.
REPLAY_PAGE = 100
_STREAMED: dict[int | str, dict[str, Any]] = {
    200: {"content": {MEDIA_TYPE: {}}, "description": "server-sent events"}
}


def _owner(first: Event) -> str | None:
    return first.owner if isinstance(first, JobSubmitted | JobCreated) else None


def _is_final(event: Event) -> bool:
    return event.token in TERMINAL_TOKENS


@dataclass
class JobReplay:
    """One job's history as the journal reads it, archived part included: an archived job's
    events are no longer in the stream for its stream to follow."""

    ctx: Context
    job_id: str
    reached: int = 0

    async def pages(self, after: int) -> AsyncGenerator[list[Recorded], None]:
        self.reached = after
        while True:
            page = await self.ctx.journal.read(self.job_id, self.reached, REPLAY_PAGE)
            if page:
                yield page
                self.reached = page[-1].sequence
            if len(page) < REPLAY_PAGE:
                return


# One URL, two answers by Accept (a page of events, or their stream): caches must know.
_VARY = {"Vary": "Accept"}


@router.get("/jobs/{job_id}/events", responses=_STREAMED)
async def job_events(
    job_id: str,
    request: Request,
    after: Annotated[int, Query(ge=0, le=2**63, description="the sequence to start after")] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
    accept: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> Response:
    """The job's events in stream order as CloudEvents; with ``Accept: text/event-stream``,
    its history and then its live events until its final one."""
    if not is_valid_token(job_id):
        raise no_such_job(job_id)
    try:
        records = await ctx.journal.read(job_id, limit=1)
        if not records or not principal.may_read(_owner(records[0].event)):
            raise no_such_job(job_id)
        if wants_stream(accept):
            stream = event_stream(
                ctx,
                principal,
                [job_filter(job_id)],
                resume_point(last_event_id, after),
                ends_with=_is_final,
                replay=JobReplay(ctx, job_id),
            )
            stream.headers.update(_VARY)
            return stream
        page = await ctx.journal.read(job_id, after=after, limit=limit + 1)
    except EventDecodeError as exc:
        raise unreadable(job_id, exc) from exc
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc
    url = base_url(request)
    own = f"{url}/jobs/{job_id}/events"
    links = [
        Link(href=f"{own}?after={after}&limit={limit}", rel="self", type="application/json"),
        Link(
            href=f"{url}/jobs/{job_id}", rel="up", type="application/json", title="the job's status"
        ),
    ]
    if len(page) > limit:
        page = page[:limit]
        links.append(
            Link(
                href=f"{own}?after={page[-1].sequence}&limit={limit}",
                rel="next",
                type="application/json",
            )
        )
    return JSONResponse(
        {
            "events": [to_cloudevent(r.event, r.sequence, r.time) for r in page],
            "links": [link.to_json() for link in links],
        },
        headers=_VARY,
    )


def _event_tokens(types: list[str]) -> list[str]:
    tokens = []
    for name in types:
        kind = EVENT_TYPES.get(name.removeprefix(TYPE_PREFIX))
        if kind is None:
            raise invalid_parameter(
                "type", f"{name!r} is not an event type (one of {', '.join(sorted(EVENT_TYPES))})"
            )
        tokens.extend(kind.tokens())
    return tokens


def event_filters(process_ids: list[str], types: list[str]) -> list[str]:
    """The subject filters of the events of these processes and types (all when empty)."""
    for process_id in process_ids:
        if not is_valid_token(process_id):
            raise invalid_parameter("processID", f"{process_id!r} is not a process id")
    tokens = _event_tokens(types)
    if not process_ids and not tokens:
        return [ALL_EVENTS]
    return [
        f"{SUBJECT_ROOT}.{process}.*.{token}"
        for process in process_ids or ["*"]
        for token in tokens or ["*"]
    ]


@router.get("/events", responses=_STREAMED, response_class=Response)
async def all_events(
    processID: ListParam,
    type: ListParam,
    after: Annotated[int | None, Query(ge=0, le=2**63)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> Response:
    """Server-sent events of every job (of the given processes and event types), from now on,
    or after ``Last-Event-ID`` (or ``after``) to resume. Callers who may not read every job
    see their own jobs' events only."""
    filters = event_filters(list_values(processID), list_values(type))
    start = resume_point(last_event_id, after)
    try:
        if principal.reads_everything:
            return event_stream(ctx, principal, filters, start)
        # Their own jobs' events only: replayed from the view's index, then followed live.
        shown = Owners(ctx).owned_by(principal.id)
        replay = OwnedReplay(ctx, principal.id, filters)
        return event_stream(ctx, principal, filters, start, shown=shown, replay=replay)
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc
