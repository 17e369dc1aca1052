"""Provenance, inputs and definitions: what made a job's results and a dataset's snapshots,
for auditors.

``GET /jobs/{id}/prov``, ``GET /jobs/{id}/inputs`` and ``GET /jobs/{id}/definition`` are OGC
API - Processes Part 4's (Job Management); access follows the job's: a caller who may not read
it gets 404. ``GET /datasets/{id}/prov`` follows a dataset's lineage through its sources, read
like the datasets (operators and auditors). The documents are shaped in
``jobstream_contracts.provenance``; here the events are read.
"""

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from jobstream_contracts.access import Principal
from jobstream_contracts.dataset_fold import DatasetState
from jobstream_contracts.events import (
    DatasetCommitted,
    Event,
    EventDecodeError,
    JobCreated,
    JobSubmitted,
)
from jobstream_contracts.fold import JobState
from jobstream_contracts.ogc import ExceptionType, Link, NewJob
from jobstream_contracts.provenance import dataset_provenance, job_provenance
from jobstream_contracts.redaction import strip_secrets_within
from jobstream_contracts.subjects import is_valid_token
from jobstream_projector import view

from .callers import caller, no_such_job
from .context import UNREACHABLE, Context, base_url, context, unavailable, unreadable
from .errors import OGCError
from .jobs import readable_job

jobs_router = APIRouter(tags=["Jobs"])
datasets_router = APIRouter(tags=["Datasets"])

# Jobs whose events are read at once while a dataset's lineage is gathered.
READS_AT_ONCE = 8
_PROV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}}, "description": "a W3C PROV-JSON document"}
}


async def job_events(ctx: Context, job_id: str) -> list[Event]:
    try:
        return [record.event for record in await ctx.journal.read(job_id)]
    except EventDecodeError as exc:
        raise unreadable(job_id, exc) from exc
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc


async def readable_history(ctx: Context, job_id: str, principal: Principal) -> list[Event]:
    """The job's events, if the caller may read it; 404 as if it did not exist otherwise. Its
    first event names its owner: a ``JobSubmitted``, or a ``JobCreated`` (Part 4)."""
    events = await job_events(ctx, job_id) if is_valid_token(job_id) else []
    first = events[0] if events else None
    if not isinstance(first, JobSubmitted | JobCreated) or not principal.may_read(first.owner):
        raise no_such_job(job_id)
    return events


@jobs_router.get("/jobs/{job_id}/prov", responses=_PROV, response_class=JSONResponse)
async def job_prov(
    job_id: str,
    request: Request,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> JSONResponse:
    """The job's provenance as W3C PROV-JSON: the job, its process at its version, who or what
    caused it, each executor that ran it, the dataset snapshots it read and committed."""
    events = await readable_history(ctx, job_id, principal)
    if not any(isinstance(event, JobSubmitted) for event in events):
        raise _not_started(job_id)
    return JSONResponse(job_provenance(events, base_url(request)))


def _not_started(job_id: str) -> OGCError:
    """A job created (Part 4) and not started yet: nothing ran, so nothing to trace yet (404,
    as OGC answers results not ready)."""
    return OGCError(
        404,
        ExceptionType.RESULT_NOT_READY,
        f"job {job_id} is created and has not started: its provenance begins when "
        f"POST /jobs/{job_id}/results starts it",
        "Not started",
    )


@jobs_router.get("/jobs/{job_id}/inputs")
async def job_inputs(
    job_id: str,
    request: Request,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> dict[str, Any]:
    """The job's inputs and requested outputs as they were submitted, as an execute request's
    members, with every URL stripped of its credentials, query and fragment."""
    job = await readable_job(ctx, job_id, principal)
    url = base_url(request)
    return {**_asked(job), "links": _links(url, job_id, "inputs")}


@jobs_router.get(
    "/jobs/{job_id}/definition", response_model=NewJob, response_model_exclude_none=True
)
async def job_definition(
    job_id: str,
    request: Request,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> dict[str, Any]:
    """The request that defines the job (OGC API - Processes - Part 4): the body it was
    created with or changed to by ``/jobs``, or executed with; for a started job, the lane it
    was given. A body ``POST /jobs`` takes. URLs are stripped as in ``/inputs``; the
    subscriber is left out, as there: its callback URLs are the receiver's, not the job's."""
    job = await readable_job(ctx, job_id, principal)
    url = base_url(request)
    return {
        "process": f"{url}/processes/{job.process_id}",
        **_asked(job),
        "response": job.response,
        "priority": job.priority,
        "links": _links(url, job_id, "definition"),
    }


def _asked(job: JobState) -> dict[str, Any]:
    """The inputs and outputs the job was asked for, every URL in them stripped of secrets."""
    return {
        "inputs": strip_secrets_within(job.inputs),
        "outputs": strip_secrets_within(job.outputs),
    }


def _links(url: str, job_id: str, resource: str) -> list[dict[str, Any]]:
    links = [
        Link(href=f"{url}/jobs/{job_id}/{resource}", rel="self", type="application/json"),
        Link(href=f"{url}/jobs/{job_id}", rel="up", type="application/json", title="the job"),
    ]
    return [link.to_json() for link in links]


@datasets_router.get("/datasets/{dataset_id}/prov", responses=_PROV, response_class=JSONResponse)
async def dataset_prov(
    dataset_id: str, request: Request, ctx: Context = Depends(context)
) -> JSONResponse:
    """The dataset's lineage as W3C PROV-JSON: each snapshot committed by the jobs the view
    keeps for it (its last ``JOBS_KEPT``), the job and process version that wrote it, and for a
    derived dataset the source snapshot it came from, followed through the sources."""
    stored = await asyncio.to_thread(view.stored_datasets, ctx.engine)
    if dataset_id not in stored:
        raise OGCError(
            404,
            ExceptionType.NO_SUCH_DATASET,
            f"no dataset {dataset_id!r} has been written; GET /datasets lists them",
            "No such dataset",
        )
    commits = await _lineage(ctx, stored, dataset_id)
    return JSONResponse(dataset_provenance(commits, base_url(request)))


async def _lineage(
    ctx: Context, stored: dict[str, DatasetState], dataset_id: str
) -> list[DatasetCommitted]:
    """The commits of ``dataset_id`` and of every dataset it was derived from, in turn."""
    commits: list[DatasetCommitted] = []
    seen: set[str] = set()
    waiting = [dataset_id]
    while waiting:
        current = waiting.pop()
        seen.add(current)
        state = stored.get(current)
        if state is None:  # a source the view does not hold (never written here)
            continue
        own = await _commits_of(ctx, state)
        commits.extend(own)
        sources = {c.source.dataset_id for c in own if c.source is not None}
        waiting.extend(sorted(sources - seen - set(waiting)))
    return commits


async def _commits_of(ctx: Context, state: DatasetState) -> list[DatasetCommitted]:
    """The commits to ``state``'s dataset by the jobs the view keeps for it, oldest first."""
    gate = asyncio.Semaphore(READS_AT_ONCE)

    async def read(job_id: str) -> list[Event]:
        async with gate:
            return await job_events(ctx, job_id)

    histories = await asyncio.gather(*(read(job_id) for job_id in state.jobs))
    return [
        event
        for history in histories
        for event in history
        if isinstance(event, DatasetCommitted) and event.dataset_id == state.dataset_id
    ]
