"""Process list, process descriptions and execution."""

import asyncio
from typing import Annotated

import structlog
from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from jobstream_contracts.access import Principal
from jobstream_contracts.events import JobSubmitted
from jobstream_contracts.fold import JobState, apply, fold
from jobstream_contracts.ogc import (
    Execute,
    JobControlOption,
    Link,
    ProcessDescription,
    ProcessList,
    html_alternate,
)
from jobstream_contracts.status import status_info
from jobstream_infra.tracing import current_context

from .callers import caller
from .context import UNREACHABLE, Context, base_url, context, unavailable
from .execution import check_request, lane, process_or_404
from .idempotency import IdempotencyKey, job_id_for, publish_first
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
    idempotency_key: IdempotencyKey = None,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> Response:
    process = process_or_404(ctx, process_id)
    checked = await check_request(ctx, process, body, principal)
    preferences = set(parse_preferences(prefer))
    asynchronous = _wants_async(process, preferences)
    priority = await lane(ctx, process, body.priority, asynchronous, principal)
    event = JobSubmitted(
        job_id=job_id_for(idempotency_key, principal),
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
        standing = await publish_first(ctx, event)
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
            event = await publish_first(ctx, event)
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
