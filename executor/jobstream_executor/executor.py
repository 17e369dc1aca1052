"""The executor: competing consumers per process, heartbeats, bounded progress, dismissal."""

import asyncio
import inspect
import json
import os
import socket
from functools import partial

import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from jobstream_contracts.events import (
    ErrorInfo,
    Event,
    EventDecodeError,
    JobFailed,
    JobProgressed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
    TERMINAL_TOKENS,
    decode_event,
)
from jobstream_contracts.subjects import (
    STREAM,
    event_subject,
    job_event_filter,
    parse_subject,
)
from jobstream_infra.connection import connect_nats
from jobstream_infra.journal import publish_event, read_job_events
from jobstream_infra.provisioning import (
    ensure_executor_consumer,
    ensure_process_registry,
    ensure_stream,
)
from jobstream_infra.settings import Settings

from .capacity import Capacity
from .process import JobCancelled, Process
from .running import RunningJob

log = structlog.get_logger(__name__)

# How long one fetch waits for work. A fetch cancelled at shutdown leaves its pull request on
# the server for this long, and a message delivered to it is lost until AckWait.
FETCH_WAIT = 1.0


def executor_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


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

    async def start(self) -> None:
        self.nc = await connect_nats(self.settings, "executor")
        self.js = self.nc.jetstream()
        await ensure_stream(self.js)
        registry = await ensure_process_registry(self.js)
        for process in self.processes.values():
            await registry.put(process.id, json.dumps(process.description.to_json()).encode())
        # Dismissals reach every executor; the one running the job cancels it.
        await self.nc.subscribe(job_event_filter("*", "dismissed"), cb=self._on_dismissed)

    async def _on_dismissed(self, msg: Msg) -> None:
        _, job_id, _ = parse_subject(msg.subject)
        job = self.running.get(job_id)
        if job is not None:
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
            log.error("job handling failed", error=repr(task.exception()))

    async def _publish(self, event: Event) -> None:
        assert self.js is not None
        await publish_event(self.js, event)

    async def _handle(self, process: Process, msg: Msg) -> None:
        assert self.js is not None
        attempt = msg.metadata.num_delivered
        try:
            submitted = decode_event(msg.data)
            assert isinstance(submitted, JobSubmitted)
        except (EventDecodeError, AssertionError) as exc:
            await self._reject_unreadable(msg, attempt, exc)
            return
        job_id = submitted.job_id
        history = await read_job_events(self.js, job_id)
        if any(event.token in TERMINAL_TOKENS for event in history):
            # Dismissed while queued, or finished by an executor that died before acking.
            log.info("job already final, not running it", job_id=job_id)
            await msg.ack()
            return
        job = RunningJob(job_id, process.id, attempt)
        self.running[job_id] = job
        common = dict(job_id=job_id, process_id=process.id, attempt=attempt, trace=submitted.trace)
        log.info("job started", **common)
        await self._publish(JobStarted(executor=self.name, **common))
        keepalive = asyncio.create_task(self._keepalive(job, msg))
        try:
            outputs = await self._call(process, submitted, job)
            final: Event | None = JobSucceeded(results=outputs, **common)
        except JobCancelled:
            final = None
        except Exception as exc:  # noqa: BLE001 - any failure of the process ends the job
            log.warning("job failed", error=repr(exc), **common)
            final = JobFailed(error=ErrorInfo(type=type(exc).__name__, detail=str(exc)), **common)
        finally:
            keepalive.cancel()
            await asyncio.gather(keepalive, return_exceptions=True)
            self.running.pop(job_id, None)
        if final is None and job.released:
            log.info("job handed back for redelivery", **common)
            # Delayed past the life of this executor's abandoned pull requests, so the
            # redelivery goes to a live executor rather than to our closed inbox.
            await msg.nak(delay=FETCH_WAIT + 0.5)
            return
        if final is None:
            log.info("job dismissed while running", **common)
        else:
            await self._flush_progress(job, common)
            await self._publish(final)
        await msg.ack()

    async def _call(self, process: Process, submitted: JobSubmitted, job: RunningJob) -> dict:
        if inspect.iscoroutinefunction(process.function):
            returned = await process.function(**submitted.inputs, on_progress=job.report)
        else:
            returned = await asyncio.to_thread(
                partial(process.function, **submitted.inputs, on_progress=job.report)
            )
        outputs = process.outputs_of(returned)
        json.dumps(outputs)  # results travel as JSON; fail the job here, not in the publish
        return outputs

    async def _flush_progress(self, job: RunningJob, common: dict) -> None:
        progress = job.unpublished()
        if progress is not None:
            await self._publish(
                JobProgressed(
                    done=progress.done, total=progress.total, message=progress.message, **common
                )
            )

    async def _keepalive(self, job: RunningJob, msg: Msg) -> None:
        """Heartbeats, throttled progress and a dismissal check while the job runs."""
        assert self.js is not None
        common = dict(job_id=job.job_id, process_id=job.process_id, attempt=job.attempt)
        interval = self.settings.progress_interval
        heartbeat_every = max(self.settings.ack_wait / 3, interval)
        since_heartbeat = 0.0
        while True:
            await asyncio.sleep(interval)
            try:
                await self._flush_progress(job, common)
                since_heartbeat += interval
                if since_heartbeat >= heartbeat_every:
                    since_heartbeat = 0.0
                    await msg.in_progress()
                    if await self._is_dismissed(job):
                        job.cancel()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS may be reconnecting; try next tick
                log.warning("keepalive failed", error=str(exc), **common)

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
        process_id, job_id, _ = parse_subject(msg.subject)
        log.error("unreadable submission", job_id=job_id, error=str(exc))
        await self._publish(
            JobFailed(
                job_id=job_id,
                process_id=process_id,
                attempt=attempt,
                error=ErrorInfo(type="UnreadableSubmission", detail=str(exc)),
            )
        )
        await msg.term()


async def run_executor(settings: Settings, processes: dict[str, Process], stop: asyncio.Event):
    executor = Executor(settings, processes)
    await executor.start()
    try:
        await executor.run(stop)
    finally:
        await executor.close()
