"""The executor: competing consumers per process, heartbeats, bounded progress, retries as
redeliveries, dismissal and hand-back on shutdown."""

import asyncio
import inspect
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial

import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError

from jobstream_contracts.events import (
    TERMINAL_TOKENS,
    ErrorInfo,
    Event,
    EventDecodeError,
    JobFailed,
    JobProgressed,
    JobRetryScheduled,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
    decode_event,
)
from jobstream_contracts.subjects import (
    ESTIMATORS_QUEUE,
    STREAM,
    estimate_subject,
    event_subject,
    job_event_filter,
    parse_subject,
)
from jobstream_infra.connection import connect_nats
from jobstream_infra.journal import HistoryChanged, publish_event, read_job_history
from jobstream_infra.provisioning import (
    ensure_executor_consumer,
    ensure_lease_bucket,
    ensure_process_registry,
    ensure_registry,
    ensure_stream,
)
from jobstream_infra.settings import Settings

from .capacity import Capacity
from .lease import Lease, LeaseBusy, LeaseLost, Leases
from jobstream_contracts.process import JobCancelled, JobContext, PermanentError, Process
from .running import RunningJob

log = structlog.get_logger(__name__)

# How long one fetch waits for work. A fetch cancelled at shutdown leaves its pull request on
# the server for this long, and a message delivered to it is lost until AckWait.
FETCH_WAIT = 1.0
# Namespace of the ids of jobs that jobs submit (JobContext.submit).
CAUSED_JOBS = uuid.UUID("6f2b1c7e-3d4a-4e0b-9a51-2c8d7e6f5a40")
# Deliveries beyond the retry policy's attempts that executors may lose to crashes or
# shutdowns before the job is failed rather than tried forever.
CRASH_REDELIVERIES = 5


def executor_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _error(exc: BaseException) -> ErrorInfo:
    return ErrorInfo(type=type(exc).__name__, detail=str(exc) or type(exc).__name__)


class Executor:
    def __init__(self, settings: Settings, processes: dict[str, Process]) -> None:
        self.settings = settings
        self.processes = processes
        self.name = executor_name()
        self.capacity = Capacity(settings.executor_concurrency)
        self.running: dict[str, RunningJob] = {}
        self.tasks: set[asyncio.Task] = set()
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.leases: Leases | None = None
        # Blocking process functions run here, one thread per slot (asyncio's default pool
        # has min(32, cores + 4) threads, which would cap a larger concurrency).
        self.pool = ThreadPoolExecutor(settings.executor_concurrency, thread_name_prefix="job")

    async def start(self) -> None:
        self.nc = await connect_nats(self.settings, "executor")
        self.js = self.nc.jetstream()
        await ensure_stream(self.js)
        self.leases = Leases(await ensure_lease_bucket(self.js, self.settings.lease_ttl))
        registry = await ensure_process_registry(self.js)
        for process in self.processes.values():
            if not process.exposed:  # hidden from the gateway; withdrawn if announced before
                await registry.delete(process.id)
                continue
            await registry.put(process.id, json.dumps(process.description.to_json()).encode())
            for bucket, documents in process.announces.items():
                announced = await ensure_registry(self.js, bucket)
                for key, document in documents.items():
                    await announced.put(key, json.dumps(document).encode())
        for process in self.processes.values():
            if process.estimate is not None:
                await self.nc.subscribe(estimate_subject(process.id), queue=ESTIMATORS_QUEUE,
                                        cb=partial(self._on_estimate, process))
        # Dismissals reach every executor; the one running the job cancels it.
        await self.nc.subscribe(job_event_filter("*", "dismissed"), cb=self._on_dismissed)

    async def _on_estimate(self, process: Process, msg: Msg) -> None:
        """Answer GET /processes/{id}/estimate: {"estimate": …} or {"error": …}."""
        try:
            inputs = json.loads(msg.data)
            inspect.signature(process.estimate).bind(**inputs)
            reply = {"estimate": await asyncio.to_thread(process.estimate, **inputs)}
        except (PermanentError, TypeError, ValueError) as exc:
            reply = {"error": {"kind": "invalid-input", "detail": str(exc)}}
        except Exception as exc:  # noqa: BLE001 - the source may be unreachable
            log.warning("estimate failed", process=process.id, error=repr(exc))
            reply = {"error": {"kind": "failed", "detail": f"{type(exc).__name__}: {exc}"}}
        await msg.respond(json.dumps(reply, default=str).encode())

    async def _on_dismissed(self, msg: Msg) -> None:
        _, job_id, _ = parse_subject(msg.subject)
        job = self.running.get(job_id)
        # Core subscribers also see publishes the stream refused: act only on a stored one.
        if job is not None and await self._is_dismissed(job):
            log.info("dismissal received", job_id=job_id)
            job.cancel()

    async def run(self, stop: asyncio.Event) -> None:
        assert self.js is not None
        loops = []
        for process in self.processes.values():
            durable = await ensure_executor_consumer(self.js, process.id, self.settings)
            sub = await self.js.pull_subscribe_bind(durable=durable, stream=STREAM)
            loops.append(asyncio.create_task(self._fetch_loop(process, sub, stop)))
        log.info("executor running", name=self.name, processes=sorted(self.processes))
        await stop.wait()
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await self._release_running()

    async def _release_running(self) -> None:
        """Hand running jobs back: each stops at its next progress report and is nak'ed for
        redelivery to another executor. A job that reports no progress within the grace
        period is left to AckWait, which redelivers it all the same."""
        for job in self.running.values():
            job.release()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=self.settings.shutdown_grace)
            if pending:
                log.warning("jobs did not stop in time; AckWait will redeliver them",
                            jobs=len(pending))

    async def close(self) -> None:
        # Threads of processes that ignored the grace period are abandoned, not awaited:
        # their messages were not acked and will be redelivered.
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self.nc is not None:
            await self.nc.close()

    async def _fetch_loop(self, process: Process, sub, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.capacity.wait_free()
            try:
                msgs = await sub.fetch(1, timeout=FETCH_WAIT)
            except asyncio.TimeoutError:
                continue
            except Exception as exc:  # noqa: BLE001 - a broken connection must not end the loop
                log.warning("fetch failed", process=process.id, error=str(exc))
                await asyncio.sleep(0.5)
                continue
            msg = msgs[0]
            while not self.capacity.free:
                try:
                    await self.capacity.wait_free(timeout=self.settings.ack_wait / 3)
                except asyncio.TimeoutError:
                    await msg.in_progress()
            self.capacity.take()
            task = asyncio.create_task(self._handle(process, msg))
            self.tasks.add(task)
            task.add_done_callback(self._job_done)

    def _job_done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        self.capacity.give()
        if not task.cancelled() and task.exception() is not None:
            # The message was not acked: JetStream redelivers it after AckWait.
            log.error("job handling failed", error=repr(task.exception()))

    # -- one job ---------------------------------------------------------------------------
    async def _publish(self, job: RunningJob, event: Event) -> bool:
        """Append one of the job's events, on the condition that its history is still the one
        this executor knows. False (nothing written) once the job is final, or once a newer
        delivery of it has started elsewhere (this one is then a zombie and stops).

        Every event of a running job is written this way, so a dismissal or a second executor
        racing with this one is noticed at the next write and a job never ends twice.
        """
        assert self.js is not None
        while True:
            try:
                ack = await publish_event(self.js, event, expect_last=job.last_seq)
                job.last_seq = ack.seq
                return True
            except HistoryChanged:
                newer = await read_job_history(self.js, job.job_id, after=job.last_seq)
            if any(e.token in TERMINAL_TOKENS for _, e in newer):
                log.info("job is final; not writing to it", job_id=job.job_id, kind=event.type)
                job.cancel()
                return False
            if any(isinstance(e, JobStarted) and e.attempt > job.attempt for _, e in newer):
                log.warning("a newer delivery of this job runs elsewhere; stopping this one",
                            job_id=job.job_id, attempt=job.attempt)
                job.superseded = True
                job.cancel()
                return False
            if newer:
                job.last_seq = newer[-1][0]
            else:  # a replica behind the leader answered the read: give it a moment
                await asyncio.sleep(0.05)

    async def _publish_persistently(self, job: RunningJob, msg: Msg, event: Event) -> bool:
        """_publish, riding out a NATS outage while keeping the message alive."""
        deadline = asyncio.get_running_loop().time() + max(60.0, self.settings.ack_wait)
        while True:
            try:
                return await self._publish(job, event)
            except (NatsError, asyncio.TimeoutError, OSError) as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.warning("final publish failed; retrying", job_id=job.job_id, error=repr(exc))
                await asyncio.sleep(1.0)
                try:
                    await msg.in_progress()
                except Exception:  # noqa: BLE001 - the connection may still be down
                    pass

    async def _handle(self, process: Process, msg: Msg) -> None:
        assert self.js is not None
        attempt = msg.metadata.num_delivered
        try:
            submitted = decode_event(msg.data)
            if not isinstance(submitted, JobSubmitted):
                raise EventDecodeError(f"{submitted.type} on a submission subject")
            # The submission is the job's first event (nothing is written to a job before
            # it): read only what follows it, one direct get for a fresh job instead of two.
            submitted_seq = msg.metadata.sequence.stream
            history = [(submitted_seq, submitted),
                       *await read_job_history(self.js, submitted.job_id, after=submitted_seq)]
        except EventDecodeError as exc:
            if exc.newer:
                # Written by a newer jobstream (a rolling upgrade): leave it to one that reads it.
                log.warning("submission or history newer than this executor", error=str(exc))
                await msg.nak(delay=self.settings.ack_wait)
                return
            await self._reject_unreadable(msg, attempt, exc)
            return
        job = RunningJob(submitted.job_id, process.id, attempt, history[-1][0] if history else 0)
        common = dict(job_id=job.job_id, process_id=process.id, attempt=attempt,
                      trace=submitted.trace)
        if any(event.token in TERMINAL_TOKENS for _, event in history):
            # Dismissed while queued, or finished by an executor that died before acking.
            log.info("job already final, not running it", job_id=job.job_id)
            await msg.ack()
            return
        policy = process.description.retryPolicy
        failures = sum(isinstance(event, JobRetryScheduled) for _, event in history)
        if attempt > policy.maxAttempts + CRASH_REDELIVERIES:
            error = ErrorInfo(
                type="DeliveryLimitExceeded",
                detail=f"delivered {attempt} times; executors stopped while running it "
                f"{attempt - 1 - failures} times",
            )
            await self._fail(job, msg, JobFailed(error=error, **common))
            return
        try:
            call = self._bind(process, submitted, job)
        except TypeError as exc:
            await self._fail(job, msg, JobFailed(error=_error(exc), **common))
            return

        self.running[job.job_id] = job
        log.info("job started", **common)
        try:
            # Conditional on the history read above: a dismissal stored since then makes it
            # fail and the job is not run. One stored after it reaches _on_dismissed, as the
            # job is registered in self.running already (or the keepalive's check, should
            # the connection be down).
            if not await self._publish(job, JobStarted(executor=self.name, **common)):
                await msg.ack()
                return
            call_returned = asyncio.Event()
            keepalive = asyncio.create_task(self._keepalive(job, msg, call_returned))
            try:
                final = JobSucceeded(results=process.outputs_of(await call()), **common)
                self._check_fits(final)
            finally:
                await stop_loop(keepalive, call_returned)
        except JobCancelled:
            if job.superseded:
                log.info("left the job to its newer delivery", **common)
            elif job.released:
                log.info("job handed back for redelivery", **common)
                # Delayed past the life of this executor's abandoned pull requests, so the
                # redelivery goes to a live executor rather than to our closed inbox.
                await msg.nak(delay=FETCH_WAIT + 0.5)
            else:
                log.info("job dismissed while running", **common)
                await msg.ack()
            return
        except PermanentError as exc:
            await self._fail(job, msg, JobFailed(error=_error(exc), **common))
            return
        except Exception as exc:  # noqa: BLE001 - any other failure is worth another try
            await self._retry_or_fail(job, msg, policy, failures + 1, _error(exc), common)
            return
        finally:
            self.running.pop(job.job_id, None)
        await self._flush_progress(job, common)
        if await self._publish_persistently(job, msg, final):
            await msg.ack()
            log.info("job succeeded", **common)
        elif not job.superseded:
            await msg.ack()  # dismissed meanwhile: the dismissal is its final state

    def _check_fits(self, event: Event) -> None:
        """Results must be storable as an event: a PermanentError here, not a failed publish."""
        assert self.nc is not None
        size = len(event.encode())
        if size > self.nc.max_payload - 4096:
            raise PermanentError(
                f"results are {size} bytes; events carry at most "
                f"{self.nc.max_payload - 4096} (store large results and return a reference)"
            )

    def _bind(self, process: Process, submitted: JobSubmitted, job: RunningJob):
        """The call of the process function; TypeError if the inputs do not fit it."""
        kwargs = {**submitted.inputs, "on_progress": job.report}
        loop = asyncio.get_running_loop()
        if "job" in inspect.signature(process.function).parameters:
            kwargs["job"] = JobContext(job.job_id, job.process_id, job.attempt,
                                       record=partial(self._record_from_thread, job, loop),
                                       hold=partial(self._hold_from_thread, job, loop),
                                       submit=partial(self._submit_from_thread, job, loop,
                                                      submitted.trace))
        inspect.signature(process.function).bind(**kwargs)
        if inspect.iscoroutinefunction(process.function):
            return partial(process.function, **kwargs)
        return partial(loop.run_in_executor, self.pool, partial(process.function, **kwargs))

    def _record_from_thread(self, job: RunningJob, loop: asyncio.AbstractEventLoop,
                            kind: type[Event], **fields) -> None:
        """JobContext.record for a process running in the pool: waits for the stream's ack."""
        event = kind(job_id=job.job_id, process_id=job.process_id, attempt=job.attempt,
                     **fields)
        self._check_fits(event)
        written = asyncio.run_coroutine_threadsafe(self._publish(job, event), loop)
        if not written.result(timeout=max(60.0, self.settings.ack_wait)):
            raise JobCancelled(job.job_id)

    def _submit_from_thread(self, job: RunningJob, loop: asyncio.AbstractEventLoop,
                            trace: dict[str, str], process_id: str, inputs: dict) -> str:
        """JobContext.submit: a job caused by this one, created once whatever the retries."""
        key = f"{job.job_id}/{process_id}/{json.dumps(inputs, sort_keys=True)}"
        event = JobSubmitted(job_id=str(uuid.uuid5(CAUSED_JOBS, key)), process_id=process_id,
                             inputs=inputs, caused_by=job.job_id, trace=trace)
        self._check_fits(event)
        try:
            asyncio.run_coroutine_threadsafe(
                publish_event(self.js, event, expect_last=0), loop).result(timeout=60)
        except HistoryChanged:
            pass  # submitted by an earlier attempt of this job
        return event.job_id

    @contextmanager
    def _hold_from_thread(self, job: RunningJob, loop: asyncio.AbstractEventLoop, resource: str,
                          wait: bool = True) -> Iterator[Lease]:
        """JobContext.hold for a process running in the pool."""
        assert self.leases is not None
        leases = self.leases

        def run(coroutine):
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)

        holder = {"job_id": job.job_id, "attempt": job.attempt, "executor": self.name}
        while True:
            try:
                lease = run(leases.acquire(resource, holder))
                break
            except LeaseBusy as busy:
                if not wait:
                    raise PermanentError(str(busy)) from None
                # Raises JobCancelled if the job is dismissed while it waits.
                job.report(0, None, f"waiting: {busy}")
                time.sleep(min(1.0, self.settings.lease_ttl / 4))
        released = asyncio.Event()
        renewer = asyncio.run_coroutine_threadsafe(self._renew(lease, released), loop)
        try:
            yield lease
        finally:
            loop.call_soon_threadsafe(released.set)
            renewer.cancel()
            with suppress(Exception):
                run(leases.release(lease))

    async def _renew(self, lease: Lease, released: asyncio.Event) -> None:
        assert self.leases is not None
        ttl = self.settings.lease_ttl
        renewed = asyncio.get_running_loop().time()
        while not lease.lost:
            await asyncio.sleep(ttl / 3)
            if released.is_set():  # the cancel may have been lost (see stop_loop)
                return
            try:
                await self.leases.renew(lease)
                renewed = asyncio.get_running_loop().time()
            except LeaseLost:
                lease.lost = True
            except Exception as exc:  # noqa: BLE001 - NATS may be reconnecting
                log.warning("lease renewal failed", resource=lease.resource, error=repr(exc))
                # Past the TTL the lease may have expired and passed to someone else.
                if asyncio.get_running_loop().time() - renewed >= ttl:
                    lease.lost = True
        log.warning("lease lost", resource=lease.resource, job_id=lease.holder.get("job_id"))

    async def _fail(self, job: RunningJob, msg: Msg, event: JobFailed) -> None:
        log.warning("job failed", job_id=job.job_id, error=event.error.detail)
        await self._flush_progress(job, dict(job_id=job.job_id, process_id=job.process_id,
                                              attempt=job.attempt))
        if await self._publish_persistently(job, msg, event) or not job.superseded:
            # Terminated, not acked: JetStream will never deliver this submission again.
            await msg.term()

    async def _retry_or_fail(self, job, msg, policy, failures: int, error: ErrorInfo,
                             common: dict) -> None:
        if failures >= policy.maxAttempts:
            await self._fail(job, msg, JobFailed(error=error, **common))
            return
        delay = policy.delay_after(failures)
        retry_at = datetime.now(UTC) + timedelta(seconds=delay)
        log.warning("job attempt failed; retrying", error=error.detail, delay=delay, **common)
        await self._flush_progress(job, common)
        scheduled = JobRetryScheduled(error=error, delay=delay, retry_at=retry_at, **common)
        if await self._publish_persistently(job, msg, scheduled):
            # The redelivery is the retry: nothing waits in this process meanwhile.
            await msg.nak(delay=delay)
        elif not job.superseded:
            await msg.ack()  # the job became final meanwhile (dismissed)

    async def _flush_progress(self, job: RunningJob, common: dict) -> None:
        progress = job.unpublished()
        if progress is not None:
            await self._publish(
                job,
                JobProgressed(done=progress.done, total=progress.total, message=progress.message,
                              **common),
            )

    async def _keepalive(self, job: RunningJob, msg: Msg, call_returned: asyncio.Event) -> None:
        """Heartbeats, throttled progress and a dismissal check while the job runs."""
        loop = asyncio.get_running_loop()
        common = dict(job_id=job.job_id, process_id=job.process_id, attempt=job.attempt)
        heartbeat_every = self.settings.ack_wait / 3
        last_heartbeat = loop.time()
        while not call_returned.is_set():
            await asyncio.sleep(self.settings.progress_interval)
            # Heartbeat first and on its own: a slow or failing progress publish must not
            # delay it past AckWait.
            if loop.time() - last_heartbeat >= heartbeat_every:
                try:
                    await msg.in_progress()
                    last_heartbeat = loop.time()
                    if await self._is_dismissed(job):
                        job.cancel()
                except Exception as exc:  # noqa: BLE001 - NATS may be reconnecting
                    log.warning("heartbeat failed", error=str(exc), **common)
            try:
                await self._flush_progress(job, common)
            except Exception as exc:  # noqa: BLE001
                log.warning("progress publish failed", error=str(exc), **common)

    async def _is_dismissed(self, job: RunningJob) -> bool:
        """Covers a dismissal published while this executor's connection was down."""
        assert self.js is not None
        subject = event_subject(job.process_id, job.job_id, "dismissed")
        try:
            await self.js.get_last_msg(STREAM, subject, direct=True)
        except NotFoundError:
            return False
        return True

    async def _reject_unreadable(self, msg: Msg, attempt: int, exc: Exception) -> None:
        assert self.js is not None
        process_id, job_id, _ = parse_subject(msg.subject)
        log.error("unreadable submission", job_id=job_id, error=str(exc))
        await publish_event(self.js, JobFailed(
            job_id=job_id, process_id=process_id, attempt=attempt,
            error=ErrorInfo(type="UnreadableSubmission", detail=str(exc)),
        ))
        await msg.term()


async def stop_loop(task: asyncio.Task, stop: asyncio.Event) -> None:
    """End a loop task that checks ``stop`` after each of its awaits, and wait for it.

    The flag, not only a cancel: on Python 3.11 ``asyncio.wait_for`` (inside every nats-py
    request) drops a cancel that arrives as the request's answer does, and a loop relying on
    the cancel goes on for ever while the job waits for it: a job stuck "running" at 100 %.
    """
    stop.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def run_executor(settings: Settings, processes: dict[str, Process], stop: asyncio.Event):
    executor = Executor(settings, processes)
    await executor.start()
    try:
        await executor.run(stop)
    finally:
        await executor.close()
