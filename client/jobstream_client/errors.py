"""Typed errors, each carrying the OGC exception body the gateway answered with.

Decisions:
- The class is chosen by the body's ``type`` URI first (it says what went wrong), then by the
  HTTP status (a proxy's 502 has no body of ours); either way the body is kept whole in
  ``exception``.
- A job that ends failed or dismissed is an error too (:class:`JobFailed`, :class:`JobDismissed`),
  raised by ``Job.wait()`` and ``Job.results()`` alike, with the final status when known.
- A request that never got an answer is :class:`Unreachable` (no status), so callers catch one
  family; the httpx error is its ``__cause__``.
"""

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from jobstream_contracts.ogc import AttemptError, ExceptionType, OGCException, StatusInfo


class JobstreamError(Exception):
    """An error answered by the service (or standing in for one), as its OGC exception body."""

    def __init__(self, exception: OGCException, retry_after: float | None = None) -> None:
        super().__init__(exception.detail or exception.title or exception.type)
        self.exception = exception
        # Seconds the service asked the client to wait before trying again (Retry-After).
        self.retry_after = retry_after

    @property
    def type(self) -> str:
        return self.exception.type

    @property
    def title(self) -> str | None:
        return self.exception.title

    @property
    def status(self) -> int | None:
        return self.exception.status

    @property
    def detail(self) -> str | None:
        return self.exception.detail


class Unreachable(JobstreamError):
    """No answer: the connection failed or timed out."""


class BadRequest(JobstreamError):
    """400: the request was refused before anything was recorded."""

    @property
    def field(self) -> str | None:
        """The parameter or input the gateway named first (its details read ``name: why``)."""
        name, colon, _ = (self.detail or "").partition(":")
        return name.strip() if colon and " " not in name.strip() else None


class InvalidParameter(BadRequest):
    """A request parameter, header or member is wrong."""


class InvalidInput(BadRequest):
    """A process input is wrong, or the request is too large."""


class Unauthenticated(JobstreamError):
    """401: no credential, or one the service does not accept."""


class Forbidden(JobstreamError):
    """403: the caller's role does not allow this."""


class NotFound(JobstreamError):
    """404: no such process, job or dataset (or someone else's job)."""


class NoSuchProcess(NotFound):
    pass


class NoSuchJob(NotFound):
    pass


class NoSuchDataset(NotFound):
    pass


class ResultNotReady(JobstreamError):
    """The job has not finished yet."""


class IdempotencyKeyReused(JobstreamError):
    """422: the Idempotency-Key was used before for a different request."""


class TooManyJobs(JobstreamError):
    """429: the caller has as many jobs queued or running as it may; see ``retry_after``."""


class TooManyRequests(JobstreamError):
    """429: the caller holds as many event streams or long-polls open as it may; see
    ``retry_after``."""


class Unavailable(JobstreamError):
    """503 (or another 5xx): the service cannot answer now; see ``retry_after``."""


class JobEnded(JobstreamError):
    """A job that ended without results. ``job`` is its final status when it is known."""

    def __init__(
        self,
        exception: OGCException,
        retry_after: float | None = None,
        job: StatusInfo | None = None,
    ) -> None:
        super().__init__(exception, retry_after)
        self.job = job


class JobFailed(JobEnded):
    """The job failed; ``error`` is its last attempt's error (``type``, ``detail``)."""

    @property
    def error(self) -> AttemptError | None:
        errors = self.job.errors if self.job else None
        return errors[-1] if errors else None


class JobDismissed(JobEnded):
    """The job was dismissed."""


_BY_TYPE: dict[str, type[JobstreamError]] = {
    ExceptionType.NO_SUCH_PROCESS: NoSuchProcess,
    ExceptionType.NO_SUCH_JOB: NoSuchJob,
    ExceptionType.NO_SUCH_DATASET: NoSuchDataset,
    ExceptionType.RESULT_NOT_READY: ResultNotReady,
    ExceptionType.INVALID_PARAMETER: InvalidParameter,
    ExceptionType.INVALID_INPUT: InvalidInput,
    ExceptionType.JOB_FAILED: JobFailed,
    ExceptionType.JOB_DISMISSED: JobDismissed,
    ExceptionType.IDEMPOTENCY_KEY_REUSED: IdempotencyKeyReused,
    ExceptionType.SERVICE_UNAVAILABLE: Unavailable,
    ExceptionType.UNAUTHENTICATED: Unauthenticated,
    ExceptionType.FORBIDDEN: Forbidden,
    ExceptionType.TOO_MANY_JOBS: TooManyJobs,
    ExceptionType.TOO_MANY_REQUESTS: TooManyRequests,
}

_BY_STATUS: dict[int, type[JobstreamError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    429: TooManyJobs,
}


def _error_class(exception: OGCException) -> type[JobstreamError]:
    if exception.type in _BY_TYPE:
        return _BY_TYPE[exception.type]
    status = exception.status or 0
    return _BY_STATUS.get(status, Unavailable if status >= 500 else JobstreamError)


def _body(response: httpx.Response) -> OGCException:
    try:
        body = response.json()
        if isinstance(body, dict) and "type" in body:
            return OGCException.model_validate({"status": response.status_code, **body})
    except ValueError:
        pass  # not JSON: a proxy's page, say
    return OGCException(
        type="about:blank",
        title=response.reason_phrase,
        status=response.status_code,
        detail=response.text[:500] or response.reason_phrase,
    )


def retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds: delay-seconds or an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def error_from(response: httpx.Response) -> JobstreamError:
    """The typed error of a response that is not a success (read its body first)."""
    exception = _body(response)
    return _error_class(exception)(exception, retry_after(response))


def unreachable(exc: httpx.TransportError) -> Unreachable:
    """The gateway did not answer: the detail names the address asked and why."""
    reason = str(exc) or type(exc).__name__
    try:
        where = f"{exc.request.url.scheme}://{exc.request.url.netloc.decode()}"
    except RuntimeError:  # an error raised before any request was made
        where = "the gateway"
    detail = f"cannot reach {where}: {reason}"
    return Unreachable(OGCException(type="about:blank", title="Unreachable", detail=detail))


def job_ended(job: StatusInfo) -> JobEnded:
    """The error of a job that ended failed or dismissed, from its final status."""
    if job.status == "dismissed":
        kind, title, cls = ExceptionType.JOB_DISMISSED, "Job dismissed", JobDismissed
    else:
        kind, title, cls = ExceptionType.JOB_FAILED, "Job failed", JobFailed
    detail = f"job {job.jobID} {job.status.value}: {job.message or 'no message'}"
    return cls(OGCException(type=kind, title=title, detail=detail), job=job)
