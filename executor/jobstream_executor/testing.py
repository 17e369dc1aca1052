"""A JobContext for testing a process function without an executor, stream or leases.

Like Temporal's ``ActivityEnvironment``: the environment runs the function as an executor
would (its inputs, ``on_progress``, and ``job`` if it declares one) and keeps in memory what
the function asked of its job, so a test can look::

    env = JobEnvironment()
    result = env.run(my_process, dataset_id="demo")
    assert env.progress[-1] == (10, 10, "done")
    assert [type(event) for event in env.records] == [DatasetCommitted]

``dismiss()`` makes the next report or record raise JobCancelled, as a dismissal does under
an executor. Leases are held in this environment only: a second hold of a held resource is
busy (PermanentError without ``wait``; a wait would never end, so it is refused too).
"""

import asyncio
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jobstream_contracts.events import Event
from jobstream_contracts.process import JobCancelled, PermanentError
from jobstream_infra.leases import LeaseLost

from .bridge import arguments, caused_job_id

Report = tuple[float, float | None, str | None]


@dataclass
class EnvironmentLease:
    """A lease of the environment; ``check`` fails once the environment took it away."""

    resource: str
    environment: "JobEnvironment"
    checks: int = 0

    def check(self) -> None:
        self.checks += 1
        if self.resource in self.environment.lost:
            raise LeaseLost(f"lease on {self.resource} was lost; stopping before writing")


@dataclass
class JobEnvironment:
    job_id: str = "test-job"
    process_id: str = "test-process"
    attempt: int = 1
    process_version: str = "test-version"
    # As a rerun's JobContext has them (JobSubmitted.rerun_of, .pinned_snapshots).
    rerun_of: str | None = None
    pinned_snapshots: dict[str, str] = field(default_factory=dict)
    # What the function asked of its job, in order.
    progress: list[Report] = field(default_factory=list)
    records: list[Event] = field(default_factory=list)
    holds: list[str] = field(default_factory=list)
    submitted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Resources held now, and those whose lease was taken away (see ``lose``).
    held: set[str] = field(default_factory=set)
    lost: set[str] = field(default_factory=set)
    dismissed: bool = False

    def dismiss(self) -> None:
        """From now on, reports and records raise JobCancelled."""
        self.dismissed = True

    def lose(self, resource: str) -> None:
        """The lease on ``resource`` passes to someone else: its next check raises."""
        self.lost.add(resource)

    def on_progress(
        self, done: float, total: float | None = None, message: str | None = None
    ) -> None:
        self._check_dismissed()
        self.progress.append((done, total, message))

    def record(self, kind: type[Event], **fields: Any) -> None:
        self._check_dismissed()
        stamp = {"job_id": self.job_id, "process_id": self.process_id, "attempt": self.attempt}
        self.records.append(kind(**stamp, **fields))

    @contextmanager
    def hold(self, resource: str, wait: bool = True) -> Iterator[EnvironmentLease]:
        if resource in self.held:
            raise PermanentError(f"{resource} is busy: held by job {self.job_id}")
        self.held.add(resource)
        self.holds.append(resource)
        try:
            yield EnvironmentLease(resource, self)
        finally:
            self.held.discard(resource)

    def submit(self, process_id: str, inputs: dict[str, Any]) -> str:
        self.submitted.append((process_id, inputs))
        return caused_job_id(self.job_id, process_id, inputs)

    def run(self, function: Callable[..., Any], /, **inputs: Any) -> Any:
        """Calls ``function`` as an executor would; a coroutine function runs to its end."""
        kwargs = arguments(function, inputs, self.on_progress, self)
        if inspect.iscoroutinefunction(function):
            return asyncio.run(function(**kwargs))
        return function(**kwargs)

    def _check_dismissed(self) -> None:
        if self.dismissed:
            raise JobCancelled(self.job_id)
