"""The process SDK: what a process author writes against, with no runtime behind it.

A process is a description (the OGC models in ``ogc``) and a function.

A process function takes its inputs as keyword arguments plus ``on_progress(done, total,
message)``, which defaults to a no-op so the function stays callable from tests and scripts.
It returns a mapping of output id to value (or the bare value when it has one output).
Under an executor, ``on_progress`` raises :class:`JobCancelled` once the job is dismissed.

A process has a version: the description's ``version`` when its author declares one, else one
derived from its definition (:func:`derived_version`), so a changed function or description
is a new version without anyone remembering to bump it. Jobs and dataset commits record it.

A function that declares a ``job`` parameter also gets a :class:`JobContext`: the job's id and
attempt, ``record`` to add an event of its own to the job's history (a data process records
each commit this way), ``hold`` for a lease and ``submit`` for a job of its own. The executor
gives one bound to the stream; tests run the function in
``jobstream_executor.testing.JobEnvironment``, which keeps everything in memory.
"""

import hashlib
import inspect
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from .events import Event
from .messages import Message
from .ogc import ProcessDescription
from .subjects import is_valid_token


class ProgressCallback(Protocol):
    def __call__(
        self, done: float, total: float | None = None, message: str | None = None
    ) -> None: ...


def no_progress(done: float, total: float | None = None, message: str | None = None) -> None:
    """The default ``on_progress``: ignores every report."""


class JobCancelled(Exception):
    """Raised from ``on_progress`` when the running job has been dismissed."""


class PermanentError(Exception):
    """Raise from a process for a failure that retrying cannot fix (bad input found late).

    The job fails at once. Any other exception is taken as transient and retried under the
    process's retry policy.
    """


class SnapshotGone(PermanentError):
    """Raise when a snapshot a job must read (``JobContext.pinned_snapshots``) is no longer in
    its dataset's repository: the job fails at once, and an estimate is refused with 409."""


class TooMuchWork(PermanentError):
    """Raise when the work a request plans is over a limit: a job fails at once, and an
    estimate (or the check before an execute) is refused with 413 and ``estimate``."""

    def __init__(self, detail: str, estimate: dict[str, Any]) -> None:
        super().__init__(detail)
        self.estimate = estimate


class HeldLease(Protocol):
    """A lease a job holds on a shared resource (``JobContext.hold``)."""

    def check(self) -> None:
        """Call immediately before each write to the resource: raises (and the writer must
        stop) unless the lease is still this job's."""
        ...


class JobContext(Protocol):
    """What a running process gets as its ``job`` argument.

    The executor gives one bound to the job's stream and leases; process authors test with
    ``jobstream_executor.testing.JobEnvironment``, which keeps everything in memory.
    """

    @property
    def job_id(self) -> str: ...

    @property
    def process_id(self) -> str: ...

    @property
    def attempt(self) -> int: ...

    @property
    def process_version(self) -> str:
        """The version of the process running the job: what its commits record."""
        ...

    @property
    def rerun_of(self) -> str | None:
        """The job this one reruns (``POST /jobs/{id}/rerun``), else None. A data process
        writes a rerun's datasets on the branch ``events.rerun_branch`` names."""
        ...

    @property
    def pinned_snapshots(self) -> dict[str, str]:
        """Dataset id -> the snapshot this job must read it at (a rerun reads what its
        original read); a dataset not named here is read at its newest snapshot."""
        ...

    def record(self, kind: type[Event], **fields: Any) -> None:
        """Appends ``kind(**fields)``, stamped with this job, to its history before returning.
        Raises JobCancelled when the job may no longer be written to (dismissed, or taken
        over by a newer delivery)."""
        ...

    def hold(self, resource: str, wait: bool = True) -> AbstractContextManager[HeldLease]:
        """The lease on ``resource`` for the length of the ``with``. Busy: waits (reporting
        so) when ``wait``, else raises PermanentError."""
        ...

    def submit(self, process_id: str, inputs: dict[str, Any]) -> str:
        """Submits a job caused by this one and returns its id. The id is derived from this
        job, the process and the inputs, so a retried attempt that submits again creates
        nothing new."""
        ...


def content_version(definition: Any) -> str:
    """A version derived from a definition (any JSON-able value): equal definitions, equal
    versions, whatever the order of their mappings' keys."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def derived_version(description: ProcessDescription, function: Callable[..., Any]) -> str:
    """The version of a process that declares none: from its description, the function's
    qualified name and, where Python can find it, the function's source (a partial's
    underlying function's). A function whose source is unavailable (built in C, defined in
    a REPL) changes version only with its name or description."""
    target = getattr(function, "func", function)
    try:
        source = inspect.getsource(target)
    except (OSError, TypeError):
        source = None
    name = f"{getattr(target, '__module__', '')}:{getattr(target, '__qualname__', repr(target))}"
    document = description.model_dump(mode="json", by_alias=True, exclude={"version"})
    return content_version({"description": document, "function": name, "source": source})


@dataclass(frozen=True)
class Process:
    description: ProcessDescription
    function: Callable[..., Any]
    # Documents the executor announces with the process: {registry bucket: {key: document}}
    # (the data processes announce their dataset templates for the gateway's /datasets).
    announces: dict[str, dict[str, Message]] = field(default_factory=dict)
    # estimate(**inputs) -> dict: what a run with these inputs would take, answered to
    # GET /processes/{id}/estimate without running anything. Blocking is fine.
    estimate: Callable[..., dict[str, Any]] | None = None
    # False: kept off the HTTP API (never announced in the process registry); executors still
    # run its jobs for server-side submitters (derived datasets, JobContext.submit).
    exposed: bool = True
    # labels(inputs) -> {name: value}: what a job's concurrency keys may name besides its
    # inputs, worked out from them (the ingest's `provider`, from its dataset's template).
    labels: Callable[[dict[str, Any]], dict[str, str]] | None = None

    def __post_init__(self) -> None:
        if not is_valid_token(self.description.id):
            raise ValueError(f"process id {self.description.id!r} is not a valid subject token")
        if self.description.version is None:
            # Frozen, but this is construction: the description it keeps has a version.
            version = derived_version(self.description, self.function)
            described = self.description.model_copy(update={"version": version})
            object.__setattr__(self, "description", described)

    @property
    def id(self) -> str:
        return self.description.id

    @property
    def version(self) -> str:
        """The declared or derived version (never None once constructed)."""
        assert self.description.version is not None
        return self.description.version

    def labels_of(self, inputs: dict[str, Any]) -> dict[str, str]:
        return {} if self.labels is None else self.labels(inputs)

    def outputs_of(self, returned: Any) -> dict[str, Any]:
        """The function's return value as an output-id mapping."""
        outputs = self.description.outputs
        if isinstance(returned, dict) and set(returned) <= set(outputs) and returned:
            return returned
        if len(outputs) == 1:
            return {next(iter(outputs)): returned}
        raise TypeError(
            f"process {self.id} returned {type(returned).__name__}; expected a mapping of "
            f"its outputs {sorted(outputs)}"
        )
