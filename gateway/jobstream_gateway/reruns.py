"""``POST /jobs/{id}/rerun``: a new job that reproduces a finished one's result.

The rerun runs the same process version on the inputs the original stored (the real ones,
not the stripped copy ``/jobs/{id}/inputs`` shows) and reads each dataset at the snapshot the
original read (``jobstream_contracts.reruns``); a data process writes what it computes on a
branch of its own, so the dataset as it is now stays as it is.

Who: whoever may change the original (its owner, an operator) and may run its process now;
the rerun is theirs. Whoever may not read the original is told it does not exist (404). A
rerun that could not reproduce the original is refused with 409, saying why: the original
did not succeed, its process is no longer served at its version (both named), or a snapshot
it read is no longer kept (the process's executor says so before anything is published; the
executor that runs the rerun checks both again).
"""

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from jobstream_contracts.access import Principal
from jobstream_contracts.events import Event, JobCreated, JobSubmitted
from jobstream_contracts.fold import apply
from jobstream_contracts.ogc import ExceptionType, Execute, ProcessDescription, StatusInfo
from jobstream_contracts.reruns import NotReproducible, RerunPlan, rerun_plan
from jobstream_contracts.status import status_info
from jobstream_infra.tracing import current_context

from .callers import caller, forbidden
from .context import Context, base_url, context
from .errors import OGCError
from .execution import check_request, lane
from .provenance import readable_history
from .quotas import check_submission

router = APIRouter(tags=["Jobs"])


@router.post(
    "/jobs/{job_id}/rerun",
    status_code=201,
    response_model=StatusInfo,
    response_model_exclude_none=True,
)
async def rerun_job(
    job_id: str,
    request: Request,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> JSONResponse:
    """Submit a new job of the same process version with the same inputs, reading each
    dataset at the snapshot this job read; its result equals this job's value for value."""
    plan = _plan(job_id, principal, await readable_history(ctx, job_id, principal))
    process = _same_version(ctx, plan)
    original = plan.original
    # What the original was asked, checked as any request is (role, inputs, plan); its
    # subscriber is the original owner's to be told, not this caller's.
    asked = {"inputs": original.inputs, "outputs": original.outputs, "response": original.response}
    body = Execute.model_validate(asked)
    checked = await check_request(ctx, process, body, principal, plan.pinned_snapshots)
    event = JobSubmitted(
        job_id=str(uuid.uuid4()),
        process_id=process.id,
        process_version=process.version,
        owner=principal.id,
        priority=await lane(ctx, process, None, True, principal),
        inputs=checked.inputs,
        outputs=checked.outputs,
        response=original.response,
        rerun_of=original.job_id,
        pinned_snapshots=plan.pinned_snapshots,
        trace=current_context(request.headers),
    )
    await check_submission(ctx, principal, len(event.encode()))
    await ctx.publish(event)
    url = base_url(request)
    document = status_info(apply(None, event), url).to_json()
    return JSONResponse(
        document, status_code=201, headers={"Location": f"{url}/jobs/{event.job_id}"}
    )


def _plan(job_id: str, principal: Principal, events: list[Event]) -> RerunPlan:
    """The rerun of the readable job, if the caller may rerun it (403) and it can be (409)."""
    first = events[0]
    assert isinstance(first, JobSubmitted | JobCreated)  # as readable_history found it
    if not principal.may_change(first.owner):
        raise forbidden(f"{principal.id} may read job {job_id} but not rerun it")
    try:
        return rerun_plan(events)
    except NotReproducible as exc:
        raise not_reproducible(str(exc)) from None


def _same_version(ctx: Context, plan: RerunPlan) -> ProcessDescription:
    """The process the original ran, if it is served at the version the original ran (409)."""
    process_id, wanted = plan.original.process_id, plan.version
    process = ctx.catalog.get(process_id)
    if process is None:
        raise not_reproducible(
            f"process {process_id} is no longer served; the rerun needs its version {wanted}"
        )
    if process.version != wanted:
        raise not_reproducible(
            f"process {process_id} is at version {process.version} now; job "
            f"{plan.original.job_id} ran version {wanted}, and a rerun runs the same one"
        )
    return process


def not_reproducible(detail: str) -> OGCError:
    return OGCError(409, ExceptionType.NOT_REPRODUCIBLE, detail, "Not reproducible")
