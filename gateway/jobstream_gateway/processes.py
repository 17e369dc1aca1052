"""Process list, process descriptions and execution."""

import asyncio
import uuid
from typing import Annotated

import structlog
from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from jobstream_contracts.access import ANONYMOUS, Principal
from jobstream_contracts.events import JobSubmitted
from jobstream_contracts.fold import JobState, apply, fold
from jobstream_contracts.ogc import (
    ExceptionType,
    Execute,
    JobControlOption,
    Link,
    ProcessDescription,
    ProcessList,
    html_alternate,
)
from jobstream_contracts.status import status_info
from jobstream_infra.journal import HistoryChanged
from jobstream_infra.tracing import current_context

from .callers import caller
from .context import UNREACHABLE, Context, base_url, context, unavailable
from .errors import OGCError
from .execution import check_request, lane, process_or_404
from .pages import page_links
from .prefer import preferences as parse_preferences
from .quotas import check_submission
from .status import results_response

log = structlog.get_logger(__name__)
router = APIRouter(tags=["Processes"])

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="items to skip")]


@router.get("/processes", response_model=ProcessList, response_model_exclude_none=True)
async def list_processes(
    request: Request, limit: Limit = 10, offset: Offset = 0, ctx: Context = Depends(context)
) -> ProcessList:
    processes = ctx.catalog.sorted()
    page = processes[offset : offset + limit]
    url = base_url(request)
    summaries = []
    for process in page:
        summary = process.summary()
        summary.links = [
            Link(
                href=f"{url}/processes/{process.id}",
                rel="self",
                type="application/json",
                title="process description",
            )
        ]
        summaries.append(summary)
    links = page_links(request, url, "/processes", offset, limit, offset + limit < len(processes))
    return ProcessList(processes=summaries, links=links)


@router.get(
    "/processes/{process_id}", response_model=ProcessDescription, response_model_exclude_none=True
)
async def describe_process(
    process_id: str, request: Request, ctx: Context = Depends(context)
) -> ProcessDescription:
    process = process_or_404(ctx, process_id).model_copy()
    url = base_url(request)
    process.links = [
        Link(href=f"{url}/processes/{process_id}", rel="self", type="application/json"),
        html_alternate(f"{url}/processes/{process_id}"),
        Link(
            href=f"{url}/processes/{process_id}/execution",
            rel="http://www.opengis.net/def/rel/ogc/1.0/execute",
            type="application/json",
            title="execute this process",
        ),
    ]
    return process


def _wants_async(process: ProcessDescription, preferences: set[str]) -> bool:
    options = set(process.jobControlOptions)
    if JobControlOption.SYNC not in options:
        return True
    if JobControlOption.ASYNC not in options:
        return False
    return "respond-async" in preferences


@router.post(
    "/processes/{process_id}/execution",
    status_code=200,
    responses={201: {"description": "job created (asynchronous execution)"}},
)
async def execute(
    process_id: str,
    request: Request,
    body: Annotated[Execute, Body()],
    prefer: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> Response:
    process = process_or_404(ctx, process_id)
    checked = await check_request(ctx, process, body, principal)
    preferences = set(parse_preferences(prefer))
    asynchronous = _wants_async(process, preferences)
    priority = await lane(ctx, process, body.priority, asynchronous, principal)
    event = JobSubmitted(
        job_id=_job_id(idempotency_key, principal),
        idempotency_key=idempotency_key,
        owner=principal.id,
        process_id=process.id,
        process_version=process.version,
        inputs=checked.inputs,
        outputs=checked.outputs,
        response=body.response,
        mode="async" if asynchronous else "sync",
        priority=priority,
        # The request's span (continuing the caller's traceparent): the attempt's parent.
        trace=current_context(request.headers),
        subscriber=body.subscriber,
    )
    await check_submission(ctx, principal, len(event.encode()))
    url = base_url(request)
    if asynchronous:
        standing = await _submit(ctx, event)
        # A replayed key answers with the job as it is now.
        state = await ctx.job(standing.job_id) if standing is not event else None
        return _created(standing, url, preferences, state)
    # A synchronous execution is a long-poll: it holds a slot, taken before anything is
    # published, so a caller past the cap gets 429 and no job.
    with ctx.held.waits.held(principal):
        state = await _run_synchronously(ctx, event)
    if state is None or not state.is_final:
        # Still running after sync_timeout: hand the client the job instead of an error.
        return _created(event, url, preferences, state)
    return results_response(state, headers={"Link": f'<{url}/jobs/{event.job_id}>; rel="monitor"'})


# Job ids of idempotent requests are derived from the key, so the key's claim and the job's
# submission are one conditional write to the stream: no second store, no expiry.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("5d0e43c4-4f06-4a38-9b4b-1f3a4c2b8e11")


def _job_id(idempotency_key: str | None, principal: Principal) -> str:
    """A new id; for an Idempotency-Key, the same id whenever this caller sends that key.

    Keys are per caller: two callers choosing the same key get two jobs. (Without
    authentication every caller is the one anonymous principal, as before owners existed.)
    """
    if idempotency_key is None:
        return str(uuid.uuid4())
    scoped = idempotency_key if principal == ANONYMOUS else f"{principal.id}\n{idempotency_key}"
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, scoped))


def _same_request(a: JobSubmitted, b: JobSubmitted) -> bool:
    fields = ("process_id", "inputs", "outputs", "response", "subscriber", "owner")
    return all(getattr(a, name) == getattr(b, name) for name in fields)


async def _submit(ctx: Context, event: JobSubmitted) -> JobSubmitted:
    """Publish the submission; for an idempotent request, only if its job does not exist yet.

    Returns the submission that stands: the new one, or the earlier one with the same key.
    """
    if event.idempotency_key is None:
        await ctx.publish(event)
        return event
    try:
        await ctx.publish(event, expect_last=0)
        return event
    except HistoryChanged:
        pass
    try:
        history = await ctx.journal.read(event.job_id, limit=1)
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc
    earlier = history[0].event if history else None
    if not isinstance(earlier, JobSubmitted) or not _same_request(earlier, event):
        raise OGCError(
            422,
            ExceptionType.IDEMPOTENCY_KEY_REUSED,
            f"Idempotency-Key {event.idempotency_key!r} was used for job {event.job_id} with a "
            "different request; use a new key for a new request",
            "Idempotency-Key reused",
        )
    return earlier


def _created(
    event: JobSubmitted, url: str, preferences: set[str], state: JobState | None = None
) -> JSONResponse:
    state = state or apply(None, event)
    headers = {"Location": f"{url}/jobs/{event.job_id}"}
    if "respond-async" in preferences:
        headers["Preference-Applied"] = "respond-async"
    return JSONResponse(status_info(state, url).to_json(), status_code=201, headers=headers)


async def _run_synchronously(ctx: Context, event: JobSubmitted) -> JobState | None:
    """Publish the submission and wait for the job's final event (or the sync timeout)."""
    try:
        # Watch before publishing, so the final event cannot slip past.
        async with ctx.journal.watch(event.job_id) as changed:
            event = await _submit(ctx, event)
            return await _final_state(ctx, event.job_id, changed)
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc


async def _final_state(ctx: Context, job_id: str, changed: asyncio.Event) -> JobState | None:
    """The job once final, or None when the sync timeout passes first; folds only the
    events it has not read yet each time the journal says something was published."""
    state: JobState | None = None
    seen = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.settings.sync_timeout
    while (left := deadline - loop.time()) > 0:
        try:
            await asyncio.wait_for(changed.wait(), min(left, 2.0))
        except TimeoutError:
            pass  # a final event stored while our connection was down is in the journal
        changed.clear()
        # A wake-up may come of a publish the journal refused: the record decides.
        try:
            records = await ctx.journal.read(job_id, after=seen)
        except UNREACHABLE:
            continue  # the job is recorded; keep waiting, or answer 201 at the deadline
        if records:
            seen = records[-1].sequence
            state = fold((record.event for record in records), state)
        if state is not None and state.is_final:
            return state
    return None
