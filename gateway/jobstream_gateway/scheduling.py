"""Schedules on the gateway: every schedule folded from its events, and the firings handled.

Each gateway follows the schedules stream and keeps every schedule's fold; a write waits until
its own fold has it, so a client reads what it wrote. The server's clock fires each schedule
into a durable consumer that all gateways share: one handles each firing, submits its job
(whose id derives from the schedule and the instant), records the firing and arms the next
instant. A gateway killed half-way leaves the firing to be delivered again; the job id and the
firing's message id make the second handling a no-op.
"""

import asyncio
import contextlib
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import structlog
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from jobstream_contracts.events import (
    DatasetCommitted,
    EventDecodeError,
    FiringRef,
    JobSubmitted,
    decode_event,
)
from jobstream_contracts.ogc import ExceptionType, StatusCode
from jobstream_contracts.schedule_events import (
    PreviousJob,
    ScheduleEvent,
    ScheduleFired,
    ScheduleSkipped,
    ScheduleState,
    apply_schedule,
    decide_firing,
    decide_update,
    decode_schedule_event,
    firing_job_id,
    update_job_id,
)
from jobstream_contracts.schedules import FiringCause
from jobstream_contracts.subjects import (
    ALL_SCHEDULE_EVENTS,
    SCHEDULE_STREAM,
    SCHEDULER_CONSUMER,
    STREAM,
    TRIGGERS_CONSUMER,
)
from jobstream_infra.journal import HistoryChanged
from jobstream_infra.metrics import SCHEDULE_FIRINGS, SCHEDULE_LATENESS
from jobstream_infra.schedule_book import (
    ScheduleBook,
    ensure_scheduler_consumer,
    ensure_triggers_consumer,
    firing_instant,
)

from .context import UNREACHABLE, Context
from .errors import OGCError
from .inputs import validate_inputs
from .planning import ask_estimate, figures_or_refusal

log = structlog.get_logger(__name__)

# Seconds a stopping gateway gives its schedule tasks to end.
STOP_WAIT = 5.0
# Seconds a write waits for this gateway's fold to have it.
FOLD_WAIT = 5.0
# Seconds a firing's condition waits for the process's plan.
CONDITION_BUDGET = 10.0
# Seconds before a firing of a schedule this gateway has not heard of is delivered again.
UNKNOWN_SCHEDULE_DELAY = 1.0


class ScheduleCatalog:
    """Every schedule, as the fold of its events, kept current by an ordered consumer."""

    def __init__(self) -> None:
        self.states: dict[str, ScheduleState] = {}
        self.seen = 0
        self.loaded = asyncio.Event()
        # Set, and replaced by a fresh one, each time the fold moves: no lock for a waiter to
        # take back when it is cancelled.
        self._moved = asyncio.Event()
        self._sub = None

    async def start(self, js: JetStreamContext) -> None:
        self._sub = await js.subscribe(
            ALL_SCHEDULE_EVENTS,
            stream=SCHEDULE_STREAM,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
            cb=self._apply,
        )
        if (await self._sub.consumer_info()).num_pending == 0:
            self.loaded.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.loaded.wait(), 10)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def _apply(self, msg: Msg) -> None:
        try:
            event = decode_schedule_event(msg.data, msg.subject)
        except EventDecodeError as exc:
            log.warning("unreadable schedule event skipped", subject=msg.subject, error=str(exc))
        else:
            state = apply_schedule(self.states.get(event.schedule_id), event)
            if state is not None:
                self.states[event.schedule_id] = state
        self.seen = msg.metadata.sequence.stream
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()
        if msg.metadata.num_pending == 0:
            self.loaded.set()

    async def reached(self, sequence: int) -> None:
        """Once the fold has applied the stream's message ``sequence``; TimeoutError after
        FOLD_WAIT seconds."""
        async with asyncio.timeout(FOLD_WAIT):
            while self.seen < sequence:
                await self._moved.wait()

    def get(self, schedule_id: str) -> ScheduleState | None:
        return self.states.get(schedule_id)

    def fired_by_updates_of(self, dataset_id: str, moment: datetime) -> list[ScheduleState]:
        """The schedules that a dataset's update at ``moment`` fires (created before it)."""
        return [
            state
            for state in self.states.values()
            if state.spec.on_dataset_updated == dataset_id and state.created <= moment
        ]


class Schedules:
    """The schedules part of a gateway's context: the record, its fold and the firings."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.book = ScheduleBook(js)
        self.catalog = ScheduleCatalog()
        self._tasks: list[asyncio.Task] = []

    async def start(self, ctx: Context) -> None:
        await self.catalog.start(self.js)
        await ensure_scheduler_consumer(self.js)
        await ensure_triggers_consumer(self.js)
        self._tasks = [
            asyncio.create_task(
                self._consume(SCHEDULE_STREAM, SCHEDULER_CONSUMER, ctx, self._handle)
            ),
            asyncio.create_task(self._consume(STREAM, TRIGGERS_CONSUMER, ctx, self._updated)),
        ]

    def keep(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` beside the firings until the schedules stop."""
        self._tasks.append(asyncio.create_task(work))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # Whatever a task was doing, a stopping gateway does not wait on it for long.
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_WAIT)
        await self.catalog.stop()

    async def record(self, event: ScheduleEvent, expect_new: bool = False) -> ScheduleState:
        """Append ``event`` and return the schedule once this gateway's fold has it."""
        sequence = await self.book.append(event, expect_new)
        await self.catalog.reached(sequence)
        state = self.catalog.get(event.schedule_id)
        assert state is not None
        return state

    async def arm_next(self, state: ScheduleState, now: datetime) -> None:
        """Arm the first instant after now (never a burst), or disarm a paused schedule."""
        instant = None if state.paused or state.deleted else _next(state, now)
        if instant is None:
            await self.book.disarm(state.id)
        else:
            await self.book.arm(state.id, instant)

    # -- firings -----------------------------------------------------------------------------
    async def _consume(self, stream: str, consumer: str, ctx: Context, handle) -> None:
        """Hand each message of the durable ``consumer`` to ``handle``, for good."""
        sub = await self.js.pull_subscribe_bind(consumer, stream=stream)
        task = asyncio.current_task()
        while True:
            try:
                # One at a time: a batch waits for more until its timeout, and a firing
                # would wait with it (a 1 s schedule fired 3 s late).
                messages = await sub.fetch(1, timeout=5)
            except (TimeoutError, *UNREACHABLE) as exc:
                # nats-py's fetch can turn a cancellation into one of its own errors: a
                # stopping gateway's loop would fetch on for ever (a test suite hung on it).
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from exc
                if not isinstance(exc, TimeoutError):  # the connection is down: wait for it
                    log.warning("fetching firings failed", error=repr(exc))
                    await asyncio.sleep(1)
                continue
            for msg in messages:
                await handle(ctx, msg)

    async def _handle(self, ctx: Context, msg: Msg) -> None:
        schedule_id = msg.subject.rsplit(".", 1)[1]
        try:
            instant = firing_instant(msg.data)
        except (ValueError, KeyError) as exc:
            log.warning("unreadable firing dropped", subject=msg.subject, error=str(exc))
            await msg.ack()
            return
        state = self.catalog.get(schedule_id)
        if state is None:
            await msg.nak(delay=UNKNOWN_SCHEDULE_DELAY)
            return
        try:
            await self.fire(ctx, state, instant)
        except Exception:
            log.exception("firing not handled; delivered again", schedule=schedule_id)
            await msg.nak(delay=1)
            return
        await msg.ack()

    async def _updated(self, ctx: Context, msg: Msg) -> None:
        """A dataset's commit: a job of each schedule its updates fire (created before it)."""
        try:
            event = decode_event(msg.data, msg.subject)
        except EventDecodeError as exc:
            log.warning("unreadable commit passed over", subject=msg.subject, error=str(exc))
            await msg.ack()
            return
        if isinstance(event, DatasetCommitted) and event.count > 0 and event.updates_dataset:
            for state in list(self.catalog.states.values()):
                if (
                    state.spec.on_dataset_updated == event.dataset_id
                    and state.created <= event.time
                ):
                    await self._fire_on_update(ctx, state, event)
        await msg.ack()

    async def _fire_on_update(
        self, ctx: Context, state: ScheduleState, update: DatasetCommitted
    ) -> None:
        reason = decide_update(state, await _standing(ctx, state.last_job_id))
        if reason is None:
            job_id = update_job_id(state.id, update.event_id)
            with contextlib.suppress(FiringRefused):
                await self.submit(ctx, state, update.time, "dataset-updated", job_id=job_id)
            return
        if reason != "deleted":
            skipped = ScheduleSkipped(
                schedule_id=state.id, instant=update.time, reason=reason, cause="dataset-updated"
            )
            await self.book.record_firing(skipped, str(update.event_id))
            SCHEDULE_FIRINGS.labels("dataset-updated", "skipped").inc()

    async def fire(self, ctx: Context, state: ScheduleState, instant: datetime) -> None:
        now = datetime.now(UTC)
        previous = await _standing(ctx, state.last_job_id)
        decision = decide_firing(state, instant, now, previous)
        SCHEDULE_LATENESS.observe((now - instant).total_seconds())
        for skipped in decision.skip:
            await self.book.record_firing(skipped, skipped.instant)
            SCHEDULE_FIRINGS.labels(skipped.cause, "skipped").inc(skipped.count)
        for moment, cause in decision.fire:
            with contextlib.suppress(FiringRefused):  # recorded as skipped, with why
                await self.submit(ctx, state, moment, cause)
        if decision.arm is not None:
            await self.book.arm(state.id, decision.arm)
        log.info(
            "schedule fired",
            schedule=state.id,
            instant=instant.isoformat(),
            jobs=len(decision.fire),
            skipped=len(decision.skip),
            lateness=round((now - instant).total_seconds(), 3),
        )

    async def submit(
        self,
        ctx: Context,
        state: ScheduleState,
        instant: datetime,
        cause: FiringCause,
        actor: str = "clock",
        job_id: str | None = None,
    ) -> str:
        """Submit the firing's job and record the firing; the job's id. FiringRefused, with
        the firing recorded as skipped, when its process or inputs are no longer valid."""
        job_id = job_id or firing_job_id(state.id, instant)
        firing = job_id if cause == "dataset-updated" else instant
        try:
            event = _submission(ctx, state, instant, cause, job_id)
            if state.spec.condition == "new-periods" and cause not in ("manual", "backfill"):
                await _check_new_periods(ctx, event)
        except (OGCError, FiringRefused) as exc:
            reason = exc.detail if isinstance(exc, OGCError) else str(exc)
            skipped = ScheduleSkipped(
                schedule_id=state.id, instant=instant, reason=reason, cause=cause, actor=actor
            )
            await self.book.record_firing(skipped, firing)
            SCHEDULE_FIRINGS.labels(cause, "skipped").inc()
            raise FiringRefused(reason) from exc
        with contextlib.suppress(HistoryChanged):  # submitted before: the same firing
            await ctx.publish(event, expect_last=0)
        fired = ScheduleFired(
            schedule_id=state.id, instant=instant, job_id=job_id, cause=cause, actor=actor
        )
        sequence = await self.book.record_firing(fired, firing)
        SCHEDULE_FIRINGS.labels(cause, "job").inc()
        with contextlib.suppress(TimeoutError):
            await self.catalog.reached(sequence)
        return job_id


class FiringRefused(Exception):
    """A firing that made no job: its process is not offered, or its inputs no longer fit."""


def _next(state: ScheduleState, now: datetime) -> datetime | None:
    after = max(now, state.handled) if state.handled else now
    cadence = state.spec.cadence(state.created)
    return None if cadence is None else cadence.after(after)


def _submission(
    ctx: Context, state: ScheduleState, instant: datetime, cause: FiringCause, job_id: str
) -> JobSubmitted:
    process = ctx.catalog.get(state.spec.process)
    if process is None:
        raise OGCError(
            404, ExceptionType.NO_SUCH_PROCESS, f"the process {state.spec.process!r} is not offered"
        )
    inputs = validate_inputs(process, state.spec.inputs)
    return JobSubmitted(
        job_id=job_id,
        process_id=process.id,
        process_version=process.version,
        owner=state.owner,
        inputs=inputs,
        priority=state.spec.priority or process.priority,
        fired_by=FiringRef(schedule_id=state.id, instant=instant, cause=cause),
    )


async def _check_new_periods(ctx: Context, event: JobSubmitted) -> None:
    """FiringRefused unless the process's plan for these inputs has periods to add."""
    try:
        reply = await ask_estimate(
            ctx, event.process_id, event.inputs, size_only=True, budget=CONDITION_BUDGET
        )
        figures = figures_or_refusal(reply)
    except NoRespondersError:
        raise FiringRefused(
            f"condition new-periods: no executor of {event.process_id} answered for its plan"
        ) from None
    if not figures.get("periods"):
        raise FiringRefused("condition new-periods: nothing newer than what is stored to add")


async def _standing(ctx: Context, job_id: str | None) -> PreviousJob:
    if job_id is None:
        return "none"
    job = await ctx.job(job_id)
    if job is None or job.is_final:
        return "ended"
    return "waiting" if job.status == StatusCode.ACCEPTED else "running"
