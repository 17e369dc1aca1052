"""The call of a process function, and the JobContext it gets, across the thread boundary.

Blocking process functions run in the executor's pool; what they ask of the job (record an
event, hold a lease, submit a job) runs on the event loop and is awaited from their thread.
"""

import asyncio
import contextvars
import inspect
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any

from jobstream_contracts.events import Event, JobSubmitted
from jobstream_contracts.process import (
    JobCancelled,
    JobContext,
    PermanentError,
    Process,
    ProgressCallback,
)
from jobstream_infra.journal import HistoryChanged
from jobstream_infra.leases import Lease, LeaseBusy, renew_until_released
from jobstream_infra.metrics import LEASE_WAIT_SECONDS

from .running import RunningJob
from .runtime import Runtime

# Namespace of the ids of jobs that jobs submit (JobContext.submit).
CAUSED_JOBS = uuid.UUID("6f2b1c7e-3d4a-4e0b-9a51-2c8d7e6f5a40")
# A request from a process's thread to the event loop that takes longer has lost its loop.
LOOP_TIMEOUT = 60.0

# write(job, event) -> whether it was appended (see Attempt.write).
Writer = Callable[[RunningJob, Event], Coroutine[Any, Any, bool]]


def caused_job_id(job_id: str, process_id: str, inputs: dict[str, Any]) -> str:
    """The id of the job that ``job_id`` submits: the same whatever attempt submits it."""
    key = f"{job_id}/{process_id}/{json.dumps(inputs, sort_keys=True)}"
    return str(uuid.uuid5(CAUSED_JOBS, key))


def arguments(
    function: Callable[..., Any],
    inputs: dict[str, Any],
    on_progress: ProgressCallback,
    job: JobContext,
) -> dict[str, Any]:
    """The keyword arguments of a process call: its inputs, ``on_progress``, and ``job`` if it
    declares one; TypeError if the inputs do not fit the function."""
    kwargs: dict[str, Any] = {**inputs, "on_progress": on_progress}
    if "job" in inspect.signature(function).parameters:
        kwargs["job"] = job
    inspect.signature(function).bind(**kwargs)
    return kwargs


class Bridge:
    """Binds one job's process call; as the job's JobContext, its methods run from the
    process's thread."""

    def __init__(
        self, runtime: Runtime, job: RunningJob, submitted: JobSubmitted, write: Writer
    ) -> None:
        self.runtime = runtime
        self.job = job
        self.submitted = submitted
        self.write = write
        self.loop = asyncio.get_running_loop()

    @property
    def job_id(self) -> str:
        return self.job.job_id

    @property
    def process_id(self) -> str:
        return self.job.process_id

    @property
    def attempt(self) -> int:
        return self.job.attempt

    @property
    def process_version(self) -> str:
        return self.runtime.versions[self.job.process_id]

    @property
    def rerun_of(self) -> str | None:
        return self.submitted.rerun_of

    @property
    def pinned_snapshots(self) -> dict[str, str]:
        return self.submitted.pinned_snapshots

    def bind(self, process: Process) -> Callable[[], Awaitable[Any]]:
        """The call of the process function; TypeError if the inputs do not fit it,
        PermanentError for a rerun this executor's version of the process cannot reproduce."""
        self._check_rerun_version()
        context: JobContext = self
        kwargs = arguments(process.function, self.submitted.inputs, self.job.report, context)
        if inspect.iscoroutinefunction(process.function):
            return partial(process.function, **kwargs)
        # The job's log context (job_id, attempt) goes with the call into the pool's thread.
        call = partial(contextvars.copy_context().run, partial(process.function, **kwargs))
        return partial(self.loop.run_in_executor, self.runtime.pool, call)

    def _check_rerun_version(self) -> None:
        """A rerun runs the version its original ran, or not at all: an executor upgraded
        after the gateway checked the version must not make a different result look like a
        reproduction."""
        if self.rerun_of is None:
            return
        wanted, here = self.submitted.process_version, self.process_version
        if wanted != here:
            raise PermanentError(
                f"this rerun of job {self.rerun_of} needs {self.process_id} at version "
                f"{wanted}; this executor runs version {here}"
            )

    def _on_loop(self, coroutine: Coroutine[Any, Any, Any], timeout: float = LOOP_TIMEOUT):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=timeout)

    def record(self, kind: type[Event], **fields: Any) -> None:
        """JobContext.record: returns once the stream acknowledged the event."""
        job = self.job
        event = kind(job_id=job.job_id, process_id=job.process_id, attempt=job.attempt, **fields)
        self.runtime.check_fits(event)
        if not self._on_loop(
            self.write(job, event), max(LOOP_TIMEOUT, self.runtime.settings.ack_wait)
        ):
            raise JobCancelled(job.job_id)

    def submit(self, process_id: str, inputs: dict[str, Any]) -> str:
        """JobContext.submit: a job caused by this one, created once whatever the retries."""
        event = JobSubmitted(
            job_id=caused_job_id(self.job.job_id, process_id, inputs),
            process_id=process_id,
            # Known when this executor serves the process too (a sync and its resample).
            process_version=self.runtime.versions.get(process_id),
            inputs=inputs,
            caused_by=self.job.job_id,
            trace=self.submitted.trace,
        )
        self.runtime.check_fits(event)
        with suppress(HistoryChanged):  # submitted by an earlier attempt of this job
            self._on_loop(self.runtime.journal.append(event, expect_last=0))
        return event.job_id

    @contextmanager
    def hold(self, resource: str, wait: bool = True) -> Iterator[Lease]:
        """JobContext.hold: the lease on ``resource``, renewed on the loop while held and
        confirmed on it at each ``check`` (see jobstream_infra.leases)."""
        leases = self.runtime.leases
        lease = self._acquire(resource, wait)
        lease.confirm = partial(self._confirm, lease)
        released = asyncio.Event()
        renewer = asyncio.run_coroutine_threadsafe(
            renew_until_released(leases, lease, released, self.runtime.settings.lease_ttl),
            self.loop,
        )
        try:
            yield lease
        finally:
            self.loop.call_soon_threadsafe(released.set)
            renewer.cancel()
            with suppress(Exception):
                self._on_loop(leases.release(lease))

    def _confirm(self, lease: Lease) -> None:
        # Answered within a third of the TTL, or unconfirmed: at least two thirds of the TTL
        # then remain for the write that follows the confirmation.
        self._on_loop(self.runtime.leases.renew(lease), self.runtime.settings.lease_ttl / 3)

    def _acquire(self, resource: str, wait: bool) -> Lease:
        holder = {
            "job_id": self.job.job_id,
            "attempt": self.job.attempt,
            "executor": self.runtime.name,
        }
        while True:
            try:
                return self._on_loop(self.runtime.leases.acquire(resource, holder))
            except LeaseBusy as busy:
                if not wait:
                    raise PermanentError(str(busy)) from None
                # Raises JobCancelled if the job is dismissed while it waits.
                self.job.report(0, None, f"waiting: {busy}")
                pause = min(1.0, self.runtime.settings.lease_ttl / 4)
                LEASE_WAIT_SECONDS.labels(self.job.process_id).inc(pause)
                time.sleep(pause)
