"""Job list, job status, results and dismissal."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from jobstream_contracts.access import Principal
from jobstream_contracts.events import JobDismissed
from jobstream_contracts.fold import JobState, apply
from jobstream_contracts.ogc import ExceptionType, JobList, StatusCode, StatusInfo
from jobstream_contracts.status import status_info
from jobstream_contracts.subjects import is_valid_token
from jobstream_projector import view

from .callers import caller, forbidden, readable
from .context import Context, base_url, context
from .errors import VIEW_FAILURES, OGCError, invalid_parameter
from .following import document_of, etag, matches, next_document, state_at
from .pages import ListParam, list_values, page_links
from .prefer import preferences, wait_seconds
from .status import results_response

router = APIRouter(tags=["Jobs"])

MAX_SECONDS = 10**9  # ~31 years: anything larger overflows SQL integers and means nothing


def _instant(name: str, text: str) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise invalid_parameter(name, f"{text!r} is not an RFC 3339 date-time") from None
    # The view keeps UTC; SQLite compares the text, so convert before comparing.
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _interval(text: str | None) -> tuple[datetime | None, datetime | None]:
    if text is None:
        return None, None
    if "/" not in text:
        instant = _instant("datetime", text)
        if instant is None:
            raise invalid_parameter(
                "datetime", "an open instant '..' needs an interval like '../2026-01-01T00:00:00Z'"
            )
        return instant, instant
    start, _, end = text.partition("/")
    lower, upper = _instant("datetime", start), _instant("datetime", end)
    if lower and upper and lower > upper:
        raise invalid_parameter("datetime", "the interval's start is after its end")
    return lower, upper


def _seconds(name: str, raw: list[str] | None) -> float | None:
    values = list_values(raw)
    if not values:
        return None
    if len(values) > 1:
        raise invalid_parameter(name, "give one value")
    try:
        seconds = int(values[0])
    except ValueError:
        raise invalid_parameter(name, f"{values[0]!r} is not a whole number of seconds") from None
    if not 0 <= seconds <= MAX_SECONDS:
        raise invalid_parameter(name, f"must be between 0 and {MAX_SECONDS} seconds")
    return seconds


@router.get("/jobs", response_model=JobList, response_model_exclude_none=True)
async def list_jobs(
    request: Request,
    type: ListParam,
    processID: ListParam,
    status: ListParam,
    minDuration: ListParam,
    maxDuration: ListParam,
    datetime_: Annotated[str | None, Query(alias="datetime")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> JobList:
    url = base_url(request)
    types = list_values(type)
    if any(value != "process" for value in types):
        raise invalid_parameter("type", "the only job type is 'process'")
    statuses = []
    for value in list_values(status):
        try:
            statuses.append(StatusCode(value))
        except ValueError:
            allowed = ", ".join(code.value for code in StatusCode)
            raise invalid_parameter("status", f"{value!r} is not one of {allowed}") from None
    created_from, created_to = _interval(datetime_)
    query = view.JobQuery(
        process_ids=list_values(processID),
        statuses=statuses,
        created_from=created_from,
        created_to=created_to,
        min_duration=_seconds("minDuration", minDuration),
        max_duration=_seconds("maxDuration", maxDuration),
        limit=limit,
        offset=offset,
        owner=None if principal.reads_everything else principal.id,
    )
    states, has_more = await asyncio.to_thread(view.list_jobs, ctx.engine, query)
    return JobList(
        jobs=[status_info(state, url) for state in states],
        links=page_links(request, url, "/jobs", offset, limit, has_more),
    )


async def readable_job(
    ctx: Context, job_id: str, principal: Principal, publishing: bool = False
) -> JobState:
    """The job as of now, if the caller may read it; otherwise 404."""
    state = await ctx.job(job_id, publishing) if is_valid_token(job_id) else None
    return readable(principal, state, job_id)


@router.get(
    "/jobs/{job_id}",
    response_model=StatusInfo,
    response_model_exclude_none=True,
    responses={304: {"description": "not modified: the job has not changed (If-None-Match)"}},
)
async def job_status(
    job_id: str,
    request: Request,
    at: Annotated[str | None, Query(description="the status as of this RFC 3339 instant")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    prefer: Annotated[str | None, Header()] = None,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> Response:
    """The job's status. Its ETag changes with every event that changes it: with
    ``If-None-Match`` and ``Prefer: wait=<seconds>`` the answer comes when it changes, or 304."""
    url = base_url(request)
    if at is not None:
        return _tagged(document_of(await _job_at(ctx, job_id, at, principal), url))
    state = await readable_job(ctx, job_id, principal)
    document = document_of(state, url, await _ahead(ctx, state))
    if not matches(if_none_match, etag(document)):
        return _tagged(document)
    wait = wait_seconds(preferences(prefer))
    applied = {"Preference-Applied": f"wait={wait:g}"} if wait else {}
    newer = None
    if wait:
        with ctx.held.waits.held(principal):
            newer = await next_document(ctx, job_id, url, etag(document), wait)
    if newer is not None:
        return _tagged(newer, applied)
    return Response(status_code=304, headers={"ETag": etag(document), **applied})


# A job queued this long is told how many jobs it waits behind. A younger one is not: most jobs
# start within it, and every poll of them would pay for the count.
IN_LINE_AFTER = timedelta(seconds=1)


async def _ahead(ctx: Context, state: JobState) -> int | None:
    """The jobs a job queued in its lane waits behind; None for any other job."""
    if state.status != StatusCode.ACCEPTED or state.keys or state.message:
        return None  # running, ended, waiting for a key, or for a retry
    if datetime.now(UTC) - state.updated < IN_LINE_AFTER:
        return None
    try:
        return await asyncio.to_thread(view.jobs_ahead, ctx.engine, state)
    except VIEW_FAILURES:
        return None


def _tagged(document: dict, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(document, headers={"ETag": etag(document), **(headers or {})})


async def _job_at(ctx: Context, job_id: str, at: str, principal: Principal) -> JobState:
    instant = _instant("at", at)
    if instant is None:
        raise invalid_parameter("at", "give an instant, such as 2026-01-01T00:00:00Z")
    state = await state_at(ctx, job_id, instant) if is_valid_token(job_id) else None
    if state is None or not principal.may_read(state.owner):
        raise OGCError(
            404,
            ExceptionType.NO_SUCH_JOB,
            f"no job with id {job_id!r} at {instant.isoformat()}",
            "No such job",
        )
    return state


@router.get("/jobs/{job_id}/results")
async def job_results(
    job_id: str, ctx: Context = Depends(context), principal: Principal = Depends(caller)
) -> Response:
    return results_response(await readable_job(ctx, job_id, principal))


@router.delete("/jobs/{job_id}", response_model=StatusInfo, response_model_exclude_none=True)
async def dismiss_job(
    job_id: str,
    request: Request,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> StatusInfo:
    """Dismiss a job: a queued one never starts, a running one stops at its next progress
    report, a finished one has its results withdrawn. Dismissing twice is harmless."""
    # An outage met while the job is read (the view without its row yet) is a 503 that says
    # nothing was recorded, as one met at the publish is (CI, stop 32).
    state = await readable_job(ctx, job_id, principal, publishing=True)
    if not principal.may_change(state.owner):
        raise forbidden(f"{principal.id} may read job {job_id} but not dismiss it")
    if state.status != StatusCode.DISMISSED:
        event = JobDismissed(
            job_id=state.job_id, process_id=state.process_id, attempt=state.attempt, by=principal.id
        )
        await ctx.publish(event)
        state = apply(state, event)
    return status_info(state, base_url(request))
