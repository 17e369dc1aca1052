"""One delivery of one job: read its history, decide, run it, and end it exactly once.

Every event of a running job is appended on the condition that the job's history is still the
one this attempt knows (``write``), so a dismissal or a second executor racing with this one is
noticed at the next write and a job never ends twice.
"""

import asyncio
import random
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import structlog
from nats.errors import Error as NatsError
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from jobstream_contracts.concurrency import SlotKey
from jobstream_contracts.events import (
    TERMINAL_TOKENS,
    ErrorInfo,
    Event,
    EventDecodeError,
    EventOffSubject,
    JobFailed,
    JobProgressed,
    JobRetryScheduled,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
    JobWaiting,
    decode_event,
    utc_now,
)
from jobstream_contracts.process import JobCancelled, PermanentError, Process
from jobstream_contracts.redaction import strip_url_secrets
from jobstream_contracts.subjects import parse_subject
from jobstream_infra import metrics
from jobstream_infra.delivery import Delivery
from jobstream_infra.journal import HistoryChanged
from jobstream_infra.leases import Lease
from jobstream_infra.records import CaughtUp
from jobstream_infra.tracing import TRACER, context_of

from .bridge import Bridge
from .decisions import Fail, Retry, Run, Skip, error_of, on_delivery, on_error
from .loops import stop_loop
from .running import RunningJob
from .runtime import Runtime
from .slots import Busy

log = structlog.get_logger(__name__)

# How long one fetch waits for work (the executor's fetch loop). A fetch cancelled at shutdown
# leaves its pull request on the server for this long, and a message delivered to it is lost
# until AckWait: a job handed back is redelivered only after it.
FETCH_WAIT = 1.0
# Seconds between a waiting job's looks for a free concurrency slot (jittered, so waiters on
# several executors do not look in step). One KV create per slot of the key per look.
SLOT_LOOK = 1.0


async def handle(runtime: Runtime, process: Process, delivery: Delivery) -> None:
    """Carry one delivery of a submission to its end: acked, nak'ed or terminated."""
    attempt = delivery.attempt
    try:
        submitted, later = await _history_of(runtime, delivery)
    except EventDecodeError as exc:
        await _reject_unreadable(runtime, delivery, attempt, exc)
        return
    job = RunningJob(submitted.job_id, process.id, attempt, later.through)
    with (
        structlog.contextvars.bound_contextvars(
            job_id=job.job_id, process_id=process.id, attempt=attempt
        ),
        _attempt_span(submitted, attempt),
    ):
        history = [submitted, *(record.event for record in later.records)]
        decision = on_delivery(history, attempt, process.description.retryPolicy)
        await Attempt(runtime, process, delivery, job, submitted).carry_out(decision)


def _attempt_span(submitted: JobSubmitted, attempt: int):
    """The attempt's span, a child of the request that submitted the job (its stored trace
    context): a data job's commits, in the job's thread, become its children."""
    return TRACER.start_as_current_span(
        f"attempt {submitted.process_id}",
        context=context_of(submitted.trace),
        kind=SpanKind.CONSUMER,
        attributes={
            "jobstream.job_id": submitted.job_id,
            "jobstream.process_id": submitted.process_id,
            "jobstream.attempt": attempt,
        },
    )


async def _history_of(runtime: Runtime, delivery: Delivery) -> tuple[JobSubmitted, CaughtUp]:
    """The delivered submission, and the job's events stored after it."""
    submitted = decode_event(delivery.data, delivery.subject)
    if not isinstance(submitted, JobSubmitted):
        raise EventDecodeError(f"{type(submitted).__name__} on a submission subject")
    # Nothing before the submission concerns a run (a created job's definitions, which the
    # submission repeats in full): read only what follows it, one direct get for a fresh job
    # instead of two.
    return submitted, await runtime.journal.catch_up(submitted.job_id, after=delivery.sequence)


async def _reject_unreadable(
    runtime: Runtime, delivery: Delivery, attempt: int, exc: EventDecodeError
) -> None:
    if exc.newer:
        # Written by a newer jobstream (a rolling upgrade): leave it to one that reads it.
        log.warning("submission or history newer than this executor", error=str(exc))
        await delivery.nak(delay=runtime.settings.ack_wait)
        return
    if isinstance(exc, EventOffSubject):
        # Not a submission of the job its subject names: nothing to fail, no job to record.
        metrics.EVENTS_OFF_SUBJECT.inc()
        log.error("a submission that disagrees with its subject; dropped", error=str(exc))
        await delivery.term()
        return
    process_id, job_id, _ = parse_subject(delivery.subject)
    log.error("unreadable submission", job_id=job_id, error=str(exc))
    await runtime.journal.append(
        JobFailed(
            job_id=job_id,
            process_id=process_id,
            attempt=attempt,
            error=ErrorInfo(type="UnreadableSubmission", detail=strip_url_secrets(str(exc))),
        ),
    )
    metrics.JOBS_FAILED.labels(process_id).inc()
    await delivery.term()


class MaxRuntimeExceeded(PermanentError):
    """The attempt ran past its process's maximum runtime: the job fails, not retried (the
    same inputs would run as long again)."""

    def __init__(self, limit: float, abandoned: bool) -> None:
        how = "left running in its thread: it did not stop" if abandoned else "stopped"
        super().__init__(f"ran past its maximum runtime of {limit:g} s; {how}")


async def _finished_within(call: asyncio.Future, seconds: float) -> bool:
    """Whether ``call`` ended within ``seconds`` (raising what it raised); it runs on either
    way. A timeout and a shield: about 20 us a job here, asyncio.wait twice that."""
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            await asyncio.shield(call)
    except TimeoutError:
        if not deadline.expired():
            raise  # the call's own
        return False
    return True


def _cause_logged(exc: BaseException):
    """The full error text on the log lines that report it; the event's copy is stripped of
    URL secrets (decisions.error_of), the log's is masked (logging.py)."""
    return structlog.contextvars.bound_contextvars(cause=f"{type(exc).__name__}: {exc}")


class Attempt:
    def __init__(
        self,
        runtime: Runtime,
        process: Process,
        delivery: Delivery,
        job: RunningJob,
        submitted: JobSubmitted,
    ) -> None:
        self.runtime = runtime
        self.process = process
        self.delivery = delivery
        self.job = job
        self.submitted = submitted
        # The envelope fields of every event this attempt writes.
        self.common: dict[str, Any] = dict(
            job_id=job.job_id, process_id=process.id, attempt=job.attempt, trace=submitted.trace
        )
        # Seconds the attempt may run (the process's own limit, else the executor's).
        self.max_runtime = process.description.maxRuntime or runtime.settings.max_runtime
        # A call that ran past the maximum runtime and did not stop: its thread still runs.
        self.abandoned: asyncio.Future | None = None

    async def carry_out(self, decision: Skip | Run | Fail | Retry) -> None:
        if isinstance(decision, Skip):
            log.info("job already final, not running it")
            await self.delivery.ack()
        elif isinstance(decision, Run):
            await self._run(decision.failures)
        elif isinstance(decision, Fail):
            await self._fail(decision.error)
        else:
            await self._retry(decision)

    async def _run(self, failures: int) -> None:
        bridge = Bridge(self.runtime, self.job, self.submitted, self.write)
        try:
            call = bridge.bind(self.process)
            needed = self.runtime.slots_needed(self.process, self.submitted.inputs)
        except Exception as exc:  # noqa: BLE001 - inputs it cannot take: no retry mends them
            with _cause_logged(exc):
                await self._fail(error_of(exc))
            return
        # Registered before it waits for its slots: a dismissal or a shutdown reaches it there.
        self.runtime.running[self.job.job_id] = self.job
        try:
            slots = await self._admitted(needed)
            if slots is not None:
                async with self.runtime.slots.held(slots):
                    await self._run_admitted(call, failures, {k.key: k.limit for k in needed})
        finally:
            self.runtime.running.pop(self.job.job_id, None)

    async def _admitted(self, needed: list[SlotKey]) -> list[Lease] | None:
        """A slot of every key the job needs, taken once free; None if the job ended while it
        waited (dismissed, or handed back). It waits outside this executor's slots, its
        message kept alive and the dismissal check made by the keepalive."""
        if not needed:
            return []
        holder = {"job_id": self.job.job_id, "executor": self.runtime.name}
        waiting_for: str | None = None
        done = asyncio.Event()
        keepalive = asyncio.create_task(self._keepalive(done))
        try:
            while not self.job.cancelled:
                taken = await self.runtime.slots.take_all(needed, holder)
                if not isinstance(taken, Busy):
                    return taken
                if taken.key.key != waiting_for and not await self._wait_recorded(taken.key):
                    break
                waiting_for = taken.key.key
                async with self.runtime.capacity.lent(self.process.id, self._ending):
                    await asyncio.sleep(SLOT_LOOK * random.uniform(0.75, 1.25))
        finally:
            await stop_loop(keepalive, done)
        await self._cancelled()
        return None

    def _ending(self) -> bool:
        return self.job.cancelled

    async def _wait_recorded(self, key: SlotKey) -> bool:
        """Record what the job waits for; False when it is final already."""
        log.info("waiting for a concurrency slot", key=key.key, limit=key.limit)
        waiting = JobWaiting(key=key.key, limit=key.limit, in_use=key.limit, **self.common)
        return await self._write_persistently(waiting)

    async def _run_admitted(self, call, failures: int, holds: dict[str, int]) -> None:
        log.info("job started")
        try:
            final = await self._call(call, holds)
        except JobCancelled:
            await self._cancelled()
            return
        except Exception as exc:  # noqa: BLE001 - the policy decides: retry or fail
            with _cause_logged(exc):
                await self.carry_out(on_error(exc, failures, self.process.description.retryPolicy))
            return
        finally:
            if self.abandoned is not None:
                # A thread cannot be stopped: its slot stays taken until it returns.
                await asyncio.wait({self.abandoned})
        if final is not None:
            await self._succeed(final)

    async def _call(self, call, holds: dict[str, int]) -> JobSucceeded | None:
        """Run the process with its keepalive; None if the job may not start (final already)."""
        # Conditional on the history read before: a dismissal stored since then makes it fail
        # and the job is not run. One stored after it reaches the executor's dismissal
        # listener, as the job is in `running` already (or the keepalive's check, should the
        # connection be down).
        # Persistently: a publish that fails while NATS elects a leader or reconnects is no
        # failure of the job's, and must not cost it an attempt and the policy's delay.
        started = JobStarted(executor=self.runtime.name, holds=holds, **self.common)
        if not await self._write_persistently(started):
            await self.delivery.ack()
            return None
        call_returned = asyncio.Event()
        keepalive = asyncio.create_task(self._keepalive(call_returned))
        try:
            with metrics.job_running(self.process.id):
                returned = await self._within_runtime(call())
            final = JobSucceeded(results=self.process.outputs_of(returned), **self.common)
            self.runtime.check_fits(final)
            return final
        finally:
            await stop_loop(keepalive, call_returned)

    async def _within_runtime(self, running: Awaitable[Any]) -> Any:
        """What the call returns, unless it runs past the maximum runtime: it is then asked to
        stop (its next progress report raises JobCancelled) and, should it run on through the
        grace, left to its thread while the job fails."""
        call = asyncio.ensure_future(running)
        try:
            if await _finished_within(call, self.max_runtime):
                return call.result()
            log.warning("job ran past its maximum runtime", max_runtime=self.max_runtime)
            self.job.time_out()
            if await _finished_within(call, self.runtime.settings.shutdown_grace):
                return call.result()
        except asyncio.CancelledError:
            call.cancel()
            raise
        if isinstance(call, asyncio.Task):
            call.cancel()  # a coroutine stops here; a thread cannot be stopped
        self.abandoned = call
        raise MaxRuntimeExceeded(self.max_runtime, abandoned=True)

    async def _succeed(self, final: JobSucceeded) -> None:
        await self._flush_progress()
        if await self._write_persistently(final):
            await self.delivery.ack()
            metrics.JOBS_SUCCEEDED.labels(self.process.id).inc()
            log.info("job succeeded")
        elif not self.job.superseded:
            await self.delivery.ack()  # dismissed meanwhile: the dismissal is its final state

    async def _cancelled(self) -> None:
        if self.job.timed_out:
            await self._fail(error_of(MaxRuntimeExceeded(self.max_runtime, abandoned=False)))
        elif self.job.superseded:
            log.info("left the job to its newer delivery")
        elif self.job.released:
            log.info("job handed back for redelivery")
            # Delayed past the life of this executor's abandoned pull requests, so the
            # redelivery goes to a live executor rather than to our closed inbox.
            await self.delivery.nak(delay=FETCH_WAIT + 0.5)
        else:
            log.info("job dismissed while running")
            await self.delivery.ack()

    async def _fail(self, error: ErrorInfo) -> None:
        log.warning("job failed", error=error.detail)
        trace.get_current_span().set_status(Status(StatusCode.ERROR, error.detail))
        await self._flush_progress()
        written = await self._write_persistently(JobFailed(error=error, **self.common))
        if written:
            metrics.JOBS_FAILED.labels(self.process.id).inc()
        if written or not self.job.superseded:
            # Terminated, not acked: JetStream will never deliver this submission again.
            await self.delivery.term()

    async def _retry(self, decision: Retry) -> None:
        log.warning(
            "job attempt failed; retrying", error=decision.error.detail, delay=decision.delay
        )
        trace.get_current_span().set_status(Status(StatusCode.ERROR, decision.error.detail))
        await self._flush_progress()
        retry_at = utc_now() + timedelta(seconds=decision.delay)
        scheduled = JobRetryScheduled(
            error=decision.error, delay=decision.delay, retry_at=retry_at, **self.common
        )
        if await self._write_persistently(scheduled):
            metrics.JOBS_RETRIED.labels(self.process.id).inc()
            # The redelivery is the retry: nothing waits in this process meanwhile.
            await self.delivery.nak(delay=decision.delay)
        elif not self.job.superseded:
            await self.delivery.ack()  # the job became final meanwhile (dismissed)

    # -- writing the job's events -------------------------------------------------------------
    async def write(self, job: RunningJob, event: Event) -> bool:
        """Append one of the job's events, on the condition that its history is still the one
        this attempt knows. False (nothing written) once the job is final, or once a newer
        delivery of it has started elsewhere (this one is then a zombie and stops)."""
        while True:
            try:
                job.last_seq = await self.runtime.journal.append(event, expect_last=job.last_seq)
                return True
            except HistoryChanged:
                newer = await self.runtime.journal.catch_up(job.job_id, after=job.last_seq)
            events = [record.event for record in newer.records]
            if any(e.token in TERMINAL_TOKENS for e in events):
                log.info("job is final; not writing to it", kind=type(event).__name__)
                job.cancel()
                return False
            if any(isinstance(e, JobStarted) and e.attempt > job.attempt for e in events):
                log.warning("a newer delivery of this job runs elsewhere; stopping this one")
                job.superseded = True
                job.cancel()
                return False
            if newer.through > job.last_seq:
                job.last_seq = newer.through
            else:  # a replica behind the leader answered the read: give it a moment
                await asyncio.sleep(0.05)

    async def _write_persistently(self, event: Event) -> bool:
        """write, riding out a NATS outage while keeping the message alive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(60.0, self.runtime.settings.ack_wait)
        while True:
            try:
                return await self.write(self.job, event)
            except (TimeoutError, NatsError, OSError) as exc:
                if loop.time() > deadline:
                    raise
                log.warning("publish failed; retrying", kind=type(event).__name__, error=repr(exc))
                await asyncio.sleep(1.0)
                try:
                    await self.delivery.in_progress()
                except Exception:  # noqa: BLE001 - the connection may still be down
                    pass

    async def _flush_progress(self, persistently: bool = True) -> None:
        """Publish the latest unpublished progress; before a final event, riding out an outage
        (the final event would wait for NATS anyway)."""
        progress = self.job.unpublished()
        if progress is None:
            return
        event = JobProgressed(
            done=progress.done, total=progress.total, message=progress.message, **self.common
        )
        if persistently:
            await self._write_persistently(event)
        else:
            await self.write(self.job, event)

    async def _keepalive(self, call_returned: asyncio.Event) -> None:
        """Heartbeats, throttled progress and a dismissal check while the job runs."""
        loop = asyncio.get_running_loop()
        settings = self.runtime.settings
        last_heartbeat = loop.time()
        while not call_returned.is_set():
            await asyncio.sleep(settings.progress_interval)
            # Heartbeat first and on its own: a slow or failing progress publish must not
            # delay it past AckWait.
            if loop.time() - last_heartbeat >= settings.ack_wait / 3:
                try:
                    await self.delivery.in_progress()
                    last_heartbeat = loop.time()
                    journal = self.runtime.journal
                    if await journal.is_dismissed(self.job.process_id, self.job.job_id):
                        self.job.cancel()
                except Exception as exc:  # noqa: BLE001 - NATS may be reconnecting
                    log.warning("heartbeat failed", error=str(exc))
            try:
                await self._flush_progress(persistently=False)
            except Exception as exc:  # noqa: BLE001 - the next tick publishes it again
                log.warning("progress publish failed", error=str(exc))
