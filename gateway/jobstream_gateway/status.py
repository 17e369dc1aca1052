"""Job states rendered as OGC statusInfo and results."""

from typing import Any

from fastapi.responses import JSONResponse, PlainTextResponse, Response

from jobstream_contracts.fold import JobState
from jobstream_contracts.ogc import ExceptionType, Link, StatusCode, StatusInfo

from .errors import OGCError

# No registered relation names a resource's event history; RFC 8288 extension relations are URIs.
HISTORY_REL = "https://jobstream.dev/rel/history"


def status_info(state: JobState, base_url: str) -> StatusInfo:
    job_url = f"{base_url}/jobs/{state.job_id}"
    links = [
        Link(href=job_url, rel="self", type="application/json", title="this job's status"),
        Link(
            href=f"{base_url}/processes/{state.process_id}",
            rel="process",
            type="application/json",
            title="the process this job runs",
        ),
        Link(
            href=f"{job_url}/events",
            rel=HISTORY_REL,
            type="application/json",
            title="this job's events, in stream order (text/event-stream: live)",
        ),
    ]
    if state.caused_by:
        links.append(
            Link(
                href=f"{base_url}/jobs/{state.caused_by}",
                rel="up",
                type="application/json",
                title="the job that caused this one",
            )
        )
    if state.status == StatusCode.SUCCESSFUL:
        links.append(
            Link(
                href=f"{job_url}/results",
                rel="http://www.opengis.net/def/rel/ogc/1.0/results",
                type="application/json",
                title="results of this job",
            )
        )
    return StatusInfo(
        jobID=state.job_id,
        processID=state.process_id,
        status=state.status,
        message=state.message,
        created=state.created,
        started=state.started,
        finished=state.finished,
        updated=state.updated,
        progress=state.progress,
        links=links,
        attempt=state.attempt or None,
        done=state.done,
        total=state.total,
        percent=state.percent,
        errors=state.errors or None,
        estimate=state.estimate,
    )


def results_response(state: JobState, headers: dict[str, str] | None = None) -> Response:
    """The results of a finished job in the form its execute request asked for.

    ``response: raw`` with one output answers the bare value; ``document`` (or raw with
    several outputs, where 1.0 would want multipart) answers the results document.
    """
    if state.status in (StatusCode.ACCEPTED, StatusCode.RUNNING):
        raise OGCError(
            404,
            ExceptionType.RESULT_NOT_READY,
            f"job {state.job_id} is {state.status.value}; results are not ready",
        )
    if state.status == StatusCode.DISMISSED:
        raise OGCError(
            404, ExceptionType.JOB_DISMISSED, f"job {state.job_id} was dismissed: {state.message}"
        )
    if state.status == StatusCode.FAILED:
        error = state.error or {}
        raise OGCError(
            500,
            ExceptionType.JOB_FAILED,
            f"job {state.job_id} failed: {error.get('type', 'Error')}: "
            f"{error.get('detail', state.message)}",
            "Job failed",
        )
    results: dict[str, Any] = {
        name: value
        for name, value in (state.results or {}).items()
        if not state.outputs or name in state.outputs
    }
    if state.response == "raw" and len(results) == 1:
        value = next(iter(results.values()))
        if isinstance(value, str):
            return PlainTextResponse(value, headers=headers)
        return JSONResponse(value, headers=headers)
    # In a results document an object must travel qualified, or it reads as a link/value.
    document = {
        name: {"value": value, "mediaType": "application/json"}
        if isinstance(value, dict)
        else value
        for name, value in results.items()
    }
    return JSONResponse(document, headers=headers)
