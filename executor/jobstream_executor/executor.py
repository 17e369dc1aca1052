"""The executor: competing consumers per process, a concurrency limit, dismissals, and hand-back
of running jobs on shutdown. What happens to one delivery is in attempt.py."""

import asyncio
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from jobstream_contracts.ogc import Priority
from jobstream_contracts.process import Process
from jobstream_contracts.subjects import STREAM, job_event_filter, parse_subject
from jobstream_infra.connection import CLOSE_TIMEOUT, close_nats, connect_nats
from jobstream_infra.delivery import MessageDelivery
from jobstream_infra.journal import JetStreamJournal, direct_reads
from jobstream_infra.leases import Leases
from jobstream_infra.metrics import sample_consumers, start_sampling
from jobstream_infra.provisioning import (
    ensure_executor_consumer,
    ensure_lease_bucket,
    ensure_stream,
)
from jobstream_infra.settings import ExecutorSettings

from .announce import announce, serve_estimates
from .attempt import FETCH_WAIT, handle
from .capacity import Capacity
from .runtime import Runtime

log = structlog.get_logger(__name__)


def executor_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Executor:
    def __init__(self, settings: ExecutorSettings, processes: dict[str, Process]) -> None:
        self.settings = settings
        self.processes = processes
        self.capacity = Capacity(settings.executor_concurrency)
        self.tasks: set[asyncio.Task] = set()
        self.runtime: Runtime | None = None
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None

    async def start(self, stop: asyncio.Event | None = None) -> None:
        self.nc = nc = await connect_nats(self.settings, "executor", stop=stop)
        self.js = js = nc.jetstream()
        replicas = await ensure_stream(js, new_replicas=self.settings.replicas)
        leases = Leases(await ensure_lease_bucket(js, self.settings.lease_ttl))
        pool = ThreadPoolExecutor(self.settings.executor_concurrency, thread_name_prefix="job")
        journal = JetStreamJournal(nc, js, direct_reads(replicas))
        self.runtime = Runtime(
            self.settings,
            executor_name(),
            journal,
            nc.max_payload,
            leases,
            pool,
            {},
            self.capacity,
            {process.id: process.version for process in self.processes.values()},
        )
        # Estimates are answered before the processes are announced: a gateway that lists a
        # process can ask for its estimate (seen under load: a 404 "no executor of it runs"
        # for a process the gateway had just listed). The flush has the server hold the
        # subscription before the announcement, which goes through the same connection.
        await serve_estimates(nc, self.processes)
        # Dismissals reach every executor; the one running the job cancels it.
        await nc.subscribe(job_event_filter("*", "dismissed"), cb=self._on_dismissed)
        await nc.flush()
        await announce(js, self.processes)

    async def _on_dismissed(self, msg: Msg) -> None:
        assert self.runtime is not None
        process_id, job_id, _ = parse_subject(msg.subject)
        job = self.runtime.running.get(job_id)
        # Core subscribers also see publishes the stream refused: act only on a stored one.
        if job is not None and await self.runtime.journal.is_dismissed(process_id, job_id):
            log.info("dismissal received", job_id=job_id)
            job.cancel()

    async def run(self, stop: asyncio.Event) -> None:
        assert self.runtime is not None and self.js is not None
        loops, durables = [], []
        for process in self.processes.values():
            for rank, lane in enumerate(Priority):
                durable = await ensure_executor_consumer(self.js, process.id, self.settings, lane)
                sub = await self.js.pull_subscribe_bind(durable=durable, stream=STREAM)
                loops.append(asyncio.create_task(self._fetch_loop(process, rank, sub, stop)))
                durables.append(durable)
        sample = partial(sample_consumers, self.js, durables)
        if sampler := start_sampling(self.settings.metrics_port, sample, stop):
            loops.append(sampler)
        log.info("executor running", name=self.runtime.name, processes=sorted(self.processes))
        await stop.wait()
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await self._release_running()

    async def _release_running(self) -> None:
        """Hand running jobs back: each stops at its next progress report and is nak'ed for
        redelivery to another executor. A job that reports no progress within the grace
        period is left to AckWait, which redelivers it all the same."""
        assert self.runtime is not None
        for job in self.runtime.running.values():
            job.release()
        if self.tasks:
            # The grace covers closing the connection too, which may wait CLOSE_TIMEOUT.
            grace = max(0.0, self.settings.shutdown_grace - CLOSE_TIMEOUT)
            _, pending = await asyncio.wait(self.tasks, timeout=grace)
            if pending:
                log.warning(
                    "jobs did not stop in time; AckWait will redeliver them", jobs=len(pending)
                )

    async def close(self) -> None:
        if self.runtime is None or self.nc is None:
            return
        # Threads of processes that ignored the grace period are abandoned, not awaited:
        # their messages were not acked and will be redelivered.
        self.runtime.pool.shutdown(wait=False, cancel_futures=True)
        await close_nats(self.nc, "executor")

    async def _fetch_loop(self, process: Process, rank: int, sub, stop: asyncio.Event) -> None:
        """Fetch the jobs of one lane of ``process`` (``rank`` 0 the highest) while a slot is
        free."""
        while not stop.is_set():
            await self.capacity.wait_room(process.id)
            await self.capacity.wait_free()
            try:
                msgs = await sub.fetch(1, timeout=FETCH_WAIT)
            except TimeoutError:
                continue
            except Exception as exc:  # noqa: BLE001 - a broken connection must not end the loop
                log.warning("fetch failed", process=process.id, error=str(exc))
                await asyncio.sleep(0.5)
                continue
            await self._start(process, rank, msgs[0])

    async def _start(self, process: Process, rank: int, msg: Msg) -> None:
        """Run a fetched job once a slot is free for its lane, heartbeating it while it waits
        for one."""
        assert self.runtime is not None
        await self.capacity.take_in_turn(rank, msg.in_progress, self.settings.ack_wait / 3)
        task = asyncio.create_task(handle(self.runtime, process, MessageDelivery(msg)))
        self.tasks.add(task)
        task.add_done_callback(self._job_done)

    def _job_done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        self.capacity.give()
        if not task.cancelled() and task.exception() is not None:
            # The message was not acked: JetStream redelivers it after AckWait.
            log.error("job handling failed", error=repr(task.exception()))


async def run_executor(
    settings: ExecutorSettings, processes: dict[str, Process], stop: asyncio.Event
) -> None:
    executor = Executor(settings, processes)
    await executor.start(stop)
    try:
        await executor.run(stop)
    finally:
        await executor.close()
