"""OGC API - Processes - Part 1: Core 1.0 resources (OGC 18-062r2) as pydantic models.

Serialise with ``model_dump(mode="json", exclude_none=True)``: the standard's schemas treat
absent and null differently, and absent is what they expect.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .access import Role
from .estimates import Estimate

SPEC = "http://www.opengis.net/spec/ogcapi-processes-1/1.0"
EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0"
# Part 4 (Job Management), a draft: its URIs as the draft's abstract test suite and its
# locked-job requirement spell them (opengeospatial/ogcapi-processes, extensions/job_management).
PART4_SPEC = "http://www.opengis.net/spec/ogcapi-processes-4/1.0"
PART4_EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-4/1.0"

CONFORMANCE_CLASSES = [
    f"{SPEC}/conf/core",
    f"{SPEC}/conf/ogc-process-description",
    f"{SPEC}/conf/json",
    f"{SPEC}/conf/html",
    f"{SPEC}/conf/oas30",
    f"{SPEC}/conf/job-list",
    f"{SPEC}/conf/dismiss",
    f"{SPEC}/conf/callback",
    f"{PART4_SPEC}/conf/job-management",
]


class ExceptionType(StrEnum):
    NO_SUCH_PROCESS = f"{EXCEPTIONS}/no-such-process"
    NO_SUCH_JOB = f"{EXCEPTIONS}/no-such-job"
    NO_SUCH_DATASET = "https://jobstream.dev/errors/no-such-dataset"
    NO_SUCH_SCHEDULE = "https://jobstream.dev/errors/no-such-schedule"
    RESULT_NOT_READY = f"{EXCEPTIONS}/result-not-ready"
    # Part 4: a job that is no longer created (started, ended or dismissed) cannot change.
    LOCKED = f"{PART4_EXCEPTIONS}/locked"
    # A created job changed by others again and again while a change or start was tried.
    JOB_CHANGING = "https://jobstream.dev/errors/job-changing"
    # A rerun that could not reproduce its original: another process version, a snapshot gone.
    NOT_REPRODUCIBLE = "https://jobstream.dev/errors/not-reproducible"
    # The standard names no type for these; RFC 7807 lets a server define its own.
    INVALID_PARAMETER = "https://jobstream.dev/errors/invalid-parameter"
    INVALID_INPUT = "https://jobstream.dev/errors/invalid-input"
    JOB_FAILED = "https://jobstream.dev/errors/job-failed"
    JOB_DISMISSED = "https://jobstream.dev/errors/job-dismissed"
    NOT_ALLOWED = "https://jobstream.dev/errors/not-allowed"
    IDEMPOTENCY_KEY_REUSED = "https://jobstream.dev/errors/idempotency-key-reused"
    # A caller holds as many event streams or long-polls open as one caller may.
    TOO_MANY_REQUESTS = "https://jobstream.dev/errors/too-many-requests"
    SERVICE_UNAVAILABLE = "https://jobstream.dev/errors/service-unavailable"
    UNAUTHENTICATED = "https://jobstream.dev/errors/unauthenticated"
    FORBIDDEN = "https://jobstream.dev/errors/forbidden"
    TOO_MANY_JOBS = "https://jobstream.dev/errors/too-many-jobs"
    # A caller's recent jobs hold as many bytes of the stream as one caller may store.
    TOO_MUCH_STORED = "https://jobstream.dev/errors/too-much-stored"
    # The event store is down to the share kept for outcomes, dismissals and operators.
    STORE_RESERVED = "https://jobstream.dev/errors/store-reserved"
    # A path no route takes; an error the gateway did not expect (its log says more).
    NOT_FOUND = "https://jobstream.dev/errors/not-found"
    INTERNAL = "https://jobstream.dev/errors/internal"
    # An archived job's events fail their checksum: a file was changed after it was written.
    ARCHIVE_DAMAGED = "https://jobstream.dev/errors/archive-damaged"


class Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Link(Model):
    href: str
    rel: str | None = None
    type: str | None = None
    hreflang: str | None = None
    title: str | None = None


def html_alternate(href: str) -> Link:
    """The same resource as a web page (the gateway answers ``?f=html`` with one)."""
    separator = "&" if "?" in href else "?"
    return Link(
        href=f"{href}{separator}f=html", rel="alternate", type="text/html", title="as a web page"
    )


class OGCException(Model):
    type: str
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None


class LandingPage(Model):
    title: str | None = None
    description: str | None = None
    links: list[Link]
    # Extension member: the jobstream release answering (the standard's schema allows others).
    version: str | None = None


class ConfClasses(Model):
    conformsTo: list[str]


class JobControlOption(StrEnum):
    SYNC = "sync-execute"
    ASYNC = "async-execute"
    DISMISS = "dismiss"


class Priority(StrEnum):
    """A job's lane: executors take high before normal before low, each lane in submission
    order."""

    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class TransmissionMode(StrEnum):
    VALUE = "value"
    REFERENCE = "reference"


class DescriptionType(Model):
    title: str | None = None
    description: str | None = None
    keywords: list[str] | None = None


class InputDescription(DescriptionType):
    minOccurs: int = 1
    maxOccurs: int | Literal["unbounded"] | None = None
    schema_: dict[str, Any] = Field(alias="schema")


class OutputDescription(DescriptionType):
    schema_: dict[str, Any] = Field(alias="schema")


class RetryPolicy(Model):
    """How often a failing job is tried, and how long it waits between tries.

    ``maxAttempts`` counts attempts that failed with a retryable error; the wait before try
    n + 1 is ``backoff[n - 1]`` seconds (the last entry repeats).
    """

    maxAttempts: int = Field(default=4, ge=1)
    backoff: list[float] = Field(default_factory=lambda: [60.0, 120.0, 240.0], min_length=1)

    def delay_after(self, failures: int) -> float:
        return self.backoff[min(failures, len(self.backoff)) - 1]


class ConcurrencyLimit(Model):
    """At most ``max`` jobs that share a key run at once, on every executor together.

    ``key`` is a template: ``{name}`` stands for the job's input of that name or a label the
    process derives from its inputs (the ingest's ``{provider}``), so ``dataset:{dataset_id}``
    counts per dataset and ``ingest`` counts every job of the process. Processes that name
    the same key share its slots. A job lacking a value the template names is not limited.
    """

    key: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^([A-Za-z0-9_.:-]|\{[A-Za-z_][A-Za-z0-9_]*\})+$",
        examples=["dataset:{dataset_id}"],
    )
    max: int = Field(ge=1, le=1000)


# What a process offers when its description says nothing.
DEFAULT_JOB_CONTROL = (JobControlOption.ASYNC, JobControlOption.SYNC, JobControlOption.DISMISS)


class ProcessSummary(DescriptionType):
    id: str
    # The version the author declared; None until a Process derives one from its definition
    # (process.derived_version), so every description announced carries one.
    version: str | None = None
    jobControlOptions: list[JobControlOption] = Field(
        default_factory=lambda: list(DEFAULT_JOB_CONTROL)
    )
    outputTransmission: list[TransmissionMode] = Field(
        default_factory=lambda: [TransmissionMode.VALUE]
    )
    links: list[Link] | None = None
    # Extension member: the standard's schema allows additional members.
    retryPolicy: RetryPolicy = Field(default_factory=RetryPolicy)
    # Extension member: the least role that may execute the process.
    role: Role = Role.SUBMITTER
    # Extension member: whether GET /processes/{id}/estimate answers (its executors announce
    # it). None: announced by an executor too old to say, so the gateway asks anyway.
    offersEstimate: bool | None = None
    # Extension member: seconds one attempt may run before it is stopped and the job failed
    # (None: the executor's JOBSTREAM_MAX_RUNTIME).
    maxRuntime: float | None = Field(default=None, gt=0)
    # Extension member: how many of its jobs may run at once, per key, across the cluster.
    concurrency: list[ConcurrencyLimit] = Field(default_factory=list)
    # Extension member: the lane of its asynchronous jobs unless a request asks for another
    # (a synchronous execution, someone waiting on it, goes high).
    priority: Priority = Priority.NORMAL


class ProcessDescription(ProcessSummary):
    inputs: dict[str, InputDescription] = Field(default_factory=dict)
    outputs: dict[str, OutputDescription] = Field(default_factory=dict)

    def summary(self) -> ProcessSummary:
        return ProcessSummary.model_validate(self.model_dump(exclude={"inputs", "outputs"}))


class ProcessList(Model):
    processes: list[ProcessSummary]
    links: list[Link]


class OutputRequest(Model):
    format: dict[str, Any] | None = None
    transmissionMode: TransmissionMode = TransmissionMode.VALUE


def _callback_uri(uri: str | None) -> str | None:
    if uri is None:
        return None
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{uri!r} is not an http or https URL")
    return uri


class Subscriber(Model):
    """Where a job's outcome is POSTed (the OGC callback requirement class): the results
    document on success, the status document on progress and on failure."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    successUri: str
    inProgressUri: str | None = None
    failedUri: str | None = None

    @field_validator("successUri", "inProgressUri", "failedUri")
    @classmethod
    def _http(cls, uri: str | None) -> str | None:
        return _callback_uri(uri)

    def uris(self) -> list[str]:
        return [uri for uri in (self.successUri, self.inProgressUri, self.failedUri) if uri]


class Execute(Model):
    """The body of ``POST /processes/{id}/execution``."""

    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, OutputRequest] = Field(default_factory=dict)
    response: Literal["raw", "document"] = "raw"
    subscriber: Subscriber | None = None
    # Extension member: the job's lane. Lower than the process's default: anyone; higher: an
    # operator or an admin.
    priority: Priority | None = None


class NewJob(Execute):
    """The body of ``POST /jobs`` (Part 4): the process, by its id or the URL of its
    description, and the execute request's members. The job waits, created, until started."""

    process: str = Field(min_length=1, max_length=2048)


class StatusCode(StrEnum):
    # Part 4: defined, not yet started (Part 1's statusCode has no such value; see
    # docs/reference/conformance.md).
    CREATED = "created"
    ACCEPTED = "accepted"
    RUNNING = "running"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    DISMISSED = "dismissed"


FINAL_STATUSES = frozenset({StatusCode.SUCCESSFUL, StatusCode.FAILED, StatusCode.DISMISSED})


class AttemptError(BaseModel):
    """A failed attempt's error, as a job's status lists them (``errors``)."""

    model_config = ConfigDict(frozen=True)

    attempt: int
    type: str
    detail: str


class StatusInfo(Model):
    """A job's status, with jobstream's progress details as extra members."""

    type: Literal["process"] = "process"
    jobID: str
    processID: str | None = None
    status: StatusCode
    message: str | None = None
    created: datetime | None = None
    started: datetime | None = None
    finished: datetime | None = None
    updated: datetime | None = None
    progress: int | None = Field(default=None, ge=0, le=100)
    links: list[Link] | None = None
    # Extensions (the schema allows additional members).
    attempt: int | None = None
    done: float | None = None
    total: float | None = None
    percent: float | None = None
    # Each failed attempt's error, oldest first.
    errors: list[AttemptError] | None = None
    # What the run was expected to take when it started (data processes: periods, bytes,
    # duration).
    estimate: Estimate | None = None
    # Its lane: high, normal or low.
    priority: Priority | None = None
    # Queued a while: the jobs of its process it waits behind (higher lanes, and its own
    # lane's earlier ones).
    jobsAhead: int | None = Field(default=None, ge=0)


class JobList(Model):
    jobs: list[StatusInfo]
    links: list[Link]
