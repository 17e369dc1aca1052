"""Job results as HTTP responses, in the form the execute request asked for."""

from fastapi.responses import JSONResponse, PlainTextResponse, Response

from jobstream_contracts.fold import JobState
from jobstream_contracts.ogc import ExceptionType, StatusCode
from jobstream_contracts.status import requested_results, results_document

from .errors import OGCError


def results_response(state: JobState, headers: dict[str, str] | None = None) -> Response:
    """The results of a finished job in the form its execute request asked for.

    ``response: raw`` with one output answers the bare value; ``document`` (or raw with
    several outputs, where 1.0 would want multipart) answers the results document.
    """
    if state.status in (StatusCode.CREATED, StatusCode.ACCEPTED, StatusCode.RUNNING):
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
    results = requested_results(state)
    if state.response == "raw" and len(results) == 1:
        value = next(iter(results.values()))
        if isinstance(value, str):
            return PlainTextResponse(value, headers=headers)
        return JSONResponse(value, headers=headers)
    return JSONResponse(results_document(state), headers=headers)
