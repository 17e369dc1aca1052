"""OGC API - Processes - Part 4 (Job Management, a draft): a job defined without running,
changed while it is ``created``, started when its owner says so.

- ``POST /jobs`` checks the execute request as ``POST /processes/{id}/execution`` does and
  records a ``JobCreated``, under a subject no executor consumes: 201, status ``created``.
  An ``Idempotency-Key`` makes it idempotent as it makes an execution (idempotency.py).
- ``PATCH /jobs/{id}`` merges a JSON merge patch (RFC 7396) into the job's execute request,
  checks the result again and records it whole as a ``JobChanged``.
- ``POST /jobs/{id}/results`` publishes the ``JobSubmitted`` that executors run; from then on
  the job is any Part 1 job.

Each write names the sequence of the job's newest event as the gateway read it (the journal's
``expect_last``): two writes read from the same history never both land. The loser reads
again and merges its patch into, or submits, the definition that stands; once the job is no
longer created (started, ended, dismissed) it is locked: 423, as the draft answers a change,
and so a second start too, which thus learns it did not start the job.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from jobstream_contracts.access import Principal
from jobstream_contracts.events import (
    Event,
    EventDecodeError,
    JobChanged,
    JobCreated,
    JobDefinition,
    JobSubmitted,
)
from jobstream_contracts.fold import JobState, apply, fold
from jobstream_contracts.ogc import (
    ExceptionType,
    Execute,
    JobControlOption,
    NewJob,
    StatusCode,
    StatusInfo,
)
from jobstream_contracts.status import status_info
from jobstream_infra.journal import HistoryChanged
from jobstream_infra.tracing import current_context

from .callers import caller, forbidden, no_such_job
from .context import UNREACHABLE, Context, base_url, context, unavailable, unreadable
from .errors import OGCError, invalid_parameter, validated
from .execution import CheckedRequest, asked_lane, check_request, lane, process_or_404
from .idempotency import IdempotencyKey, job_id_for, publish_first
from .jobs import readable_job
from .quotas import check_submission

router = APIRouter(tags=["Jobs"])

# Reads again after a write lost to a racing one at most this often: each loss means another
# write landed, so only a job changed without pause gets this far (409).
CONTENDED = 5


@dataclass(frozen=True)
class Created:
    """A created job as its history holds it, and the sequence a write after it names."""

    state: JobState
    definition: JobDefinition
    through: int


@router.post(
    "/jobs",
    status_code=201,
    response_model=StatusInfo,
    response_model_exclude_none=True,
    responses={201: {"description": "job created; it runs once started"}},
)
async def create_job(
    request: Request,
    body: Annotated[NewJob, Body()],
    idempotency_key: IdempotencyKey = None,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> JSONResponse:
    """Create a job that waits, ``created``, until ``POST /jobs/{id}/results`` starts it.
    With an ``Idempotency-Key``, the same request again is the same job, as it is now."""
    url = base_url(request)
    process = process_or_404(ctx, _process_id(body.process, url))
    if JobControlOption.ASYNC not in process.jobControlOptions:
        raise invalid_parameter("process", f"{process.id} runs synchronously only")
    checked = await check_request(ctx, process, body, principal)
    event = JobCreated(
        job_id=job_id_for(idempotency_key, principal),
        idempotency_key=idempotency_key,
        process_id=process.id,
        owner=principal.id,
        priority=asked_lane(process, body.priority, True, principal),
        **_carried(checked, body),
        trace=current_context(request.headers),
    )
    await check_submission(ctx, principal, len(event.encode()))
    standing = await publish_first(ctx, event)
    replayed = await ctx.job(standing.job_id) if standing is not event else None
    document = status_info(replayed or apply(None, event), url).to_json()
    return JSONResponse(
        document, status_code=201, headers={"Location": f"{url}/jobs/{event.job_id}"}
    )


@router.patch("/jobs/{job_id}", response_model=StatusInfo, response_model_exclude_none=True)
async def change_job(
    job_id: str,
    request: Request,
    patch: Annotated[dict[str, Any], Body()],
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> StatusInfo:
    """Change a created job's execute request (inputs, outputs, response, subscriber,
    priority) by a JSON merge patch; 423 once it has started."""

    async def changed(created: Created) -> JobChanged:
        if "process" in patch:
            raise invalid_parameter("body.process", "a job's process cannot change")
        body = validated(Execute, merge_patch(_request_of(created.definition), patch))
        process = process_or_404(ctx, created.state.process_id)
        checked = await check_request(ctx, process, body, principal)
        return JobChanged(
            job_id=job_id,
            process_id=process.id,
            owner=created.definition.owner,
            priority=asked_lane(process, body.priority, True, principal)
            if "priority" in patch
            else created.definition.priority,
            **_carried(checked, body),
            trace=current_context(request.headers),
        )

    return await _append_to_created(ctx, job_id, principal, changed, base_url(request))


@router.post("/jobs/{job_id}/results", response_model=StatusInfo, response_model_exclude_none=True)
async def start_job(
    job_id: str,
    request: Request,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> StatusInfo:
    """Start a created job: it is submitted to its process's executors, as an asynchronous
    execution is; 423 once it has started."""

    async def submitted(created: Created) -> JobSubmitted:
        definition = created.definition
        process = process_or_404(ctx, definition.process_id)
        # Checked again: the process, or what it accepts, may have changed since.
        body = validated(Execute, _request_of(definition))
        checked = await check_request(ctx, process, body, principal)
        return JobSubmitted(
            job_id=job_id,
            process_id=process.id,
            process_version=process.version,
            owner=definition.owner,
            priority=await lane(ctx, process, definition.priority, True, principal),
            **_carried(checked, body),
            trace=current_context(request.headers),
        )

    return await _append_to_created(ctx, job_id, principal, submitted, base_url(request))


async def _append_to_created(
    ctx: Context,
    job_id: str,
    principal: Principal,
    next_event: Callable[[Created], Awaitable[Event]],
    url: str,
) -> StatusInfo:
    """Append the event ``next_event`` makes of the created job as read, if nothing was
    appended since (else read it again and make it anew); the caller's quota checked first."""
    for _ in range(CONTENDED):
        created = await _created(ctx, job_id, principal)
        event = await next_event(created)
        await check_submission(ctx, principal, len(event.encode()))
        try:
            await ctx.publish(event, expect_last=created.through)
        except HistoryChanged:
            continue
        return status_info(apply(created.state, event), url)
    raise _contended(job_id)


def _process_id(reference: str, url: str) -> str:
    """The id of the process ``reference`` names: its id, or the URL of its description."""
    prefix = f"{url}/processes/"
    if reference.startswith(prefix):
        return reference.removeprefix(prefix)
    if "/" in reference:
        raise invalid_parameter(
            "process", f"{reference!r} is no process of this server: give an id or {prefix}<id>"
        )
    return reference


def _carried(checked: CheckedRequest, body: Execute) -> dict[str, Any]:
    """The members of the execute request a job's events carry, as checked."""
    return {
        "inputs": checked.inputs,
        "outputs": checked.outputs,
        "response": body.response,
        "subscriber": body.subscriber,
    }


def _request_of(definition: JobDefinition) -> dict[str, Any]:
    """The execute request a definition holds, as JSON: what a merge patch applies to."""
    request = {
        "inputs": definition.inputs,
        "outputs": definition.outputs,
        "response": definition.response,
        "priority": definition.priority.value,
    }
    if definition.subscriber is not None:
        request["subscriber"] = definition.subscriber.to_json()
    return request


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: ``patch``'s members replace ``target``'s, objects merged member by member,
    a null removing the member."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


async def _created(ctx: Context, job_id: str, principal: Principal) -> Created:
    """The job, if the caller may change it and it is still created (404, 403, 423)."""
    # The view answers first: a job that has run long has a long history, not read to refuse.
    _changeable(job_id, principal, await readable_job(ctx, job_id, principal, publishing=True))
    try:
        caught = await ctx.journal.catch_up(job_id)
    except EventDecodeError as exc:
        raise unreadable(job_id, exc) from exc
    except UNREACHABLE as exc:
        raise unavailable(exc, publishing=True) from exc
    events = [record.event for record in caught.records]
    state = fold(events)
    if state is None:  # stored a moment ago, trimmed since: as gone as it gets
        raise no_such_job(job_id)
    _changeable(job_id, principal, state)
    # A created job's history is its definitions: the newest stands.
    definition = next(e for e in reversed(events) if isinstance(e, JobDefinition))
    return Created(state, definition, caught.through)


def _changeable(job_id: str, principal: Principal, state: JobState) -> None:
    if not principal.may_change(state.owner):
        raise forbidden(f"{principal.id} may read job {job_id} but not change or start it")
    if state.status != StatusCode.CREATED:
        raise _locked(job_id, state.status)


def _locked(job_id: str, status: StatusCode) -> OGCError:
    return OGCError(
        423,
        ExceptionType.LOCKED,
        f"job {job_id} is {status.value}: only a created job can be changed or started",
        "Locked",
    )


def _contended(job_id: str) -> OGCError:
    return OGCError(
        409,
        ExceptionType.JOB_CHANGING,
        f"job {job_id} kept changing while this request was made; read it and retry",
        "Conflict",
    )
