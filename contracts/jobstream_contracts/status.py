"""Job states rendered as the OGC API documents: statusInfo and the results document.

Pure functions of the fold's state, so the gateway and the notifier (which POSTs these
documents to subscribers) render a job the same way.
"""

from typing import Any

from .estimates import Estimate
from .fold import JobState
from .ogc import Link, Priority, StatusCode, StatusInfo, html_alternate

# No registered relation names a resource's event history; RFC 8288 extension relations are URIs.
HISTORY_REL = "https://jobstream.dev/rel/history"


def status_info(state: JobState, base_url: str, ahead: int | None = None) -> StatusInfo:
    """The job's status document; ``ahead``: the jobs a queued job waits behind, if known."""
    job_url = f"{base_url}/jobs/{state.job_id}"
    links = [
        Link(href=job_url, rel="self", type="application/json", title="this job's status"),
        html_alternate(job_url),
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
        message=state.message if ahead is None else _in_line(state, ahead),
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
        estimate=None if state.estimate is None else Estimate.model_validate(state.estimate),
        priority=Priority(state.priority),
        jobsAhead=ahead,
    )


def _in_line(state: JobState, ahead: int) -> str:
    jobs = "1 job" if ahead == 1 else f"{ahead} jobs"
    return f"queued: {jobs} of {state.process_id} ahead of it ({state.priority} lane)"


def requested_results(state: JobState) -> dict[str, Any]:
    """The job's results, limited to the outputs its execute request asked for."""
    return {
        name: value
        for name, value in (state.results or {}).items()
        if not state.outputs or name in state.outputs
    }


def results_document(state: JobState) -> dict[str, Any]:
    # In a results document an object must travel qualified, or it reads as a link/value.
    return {
        name: {"value": value, "mediaType": "application/json"}
        if isinstance(value, dict)
        else value
        for name, value in requested_results(state).items()
    }
