"""The schedules stream: schedules' events, and the server's clock that fires them.

Each schedule's clock is one message on ``jobstream.clock.<id>`` carrying a NATS message
schedule (``Nats-Schedule: @at <instant>``): at that instant the server publishes its body,
the instant, to ``jobstream.ticks.<id>`` in the same stream, replicated like any message, and
fires it late (at once) if it was down then. Whoever handles the firing arms the next
instant; a plain message on the clock subject disarms it (pause, delete).

Why one ``@at`` at a time rather than the server's own cron or ``@every``: the server's cron
knows no rule for the repeated hour of a fall-back night, ``@every`` counts from whenever the
stream's leader started, and neither tells a firing it missed while the cluster was down. An
instant computed here (``cadence.py``) is exact, so each firing's job id derives from it, and
a firing handled late can see which instants it missed and apply the catch-up policy.

Schedules need a stream of their own: JetStream turns message schedules on only for a new
stream, and one that allows them must allow rollups, so it cannot deny purges the way the job
stream does. Message deletes stay denied.
"""

import json
from datetime import UTC, datetime

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from jobstream_contracts.events import DatasetCommitted
from jobstream_contracts.schedule_events import ScheduleEvent, decode_schedule_event
from jobstream_contracts.subjects import (
    ALL_SCHEDULE_EVENTS,
    CLOCK_ROOT,
    SCHEDULE_STREAM,
    SCHEDULER_CONSUMER,
    TICK_ROOT,
    TRIGGERS_CONSUMER,
    clock_subject,
    job_event_filter,
    schedule_filter,
    tick_subject,
)

from .journal import WRONG_LAST_SEQUENCE
from .provisioning import ensure_durable, patiently


def schedule_stream_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=SCHEDULE_STREAM,
        description="jobstream schedules: their events, their clocks and firings",
        subjects=[ALL_SCHEDULE_EVENTS, f"{CLOCK_ROOT}.>", f"{TICK_ROOT}.>"],
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=120,
        allow_direct=True,
        allow_msg_schedules=True,
        # What JetStream makes of a stream with message schedules; said here so that a
        # second create finds the same configuration.
        allow_rollup_hdrs=True,
        deny_purge=False,
        deny_delete=True,
    )


async def ensure_schedule_stream(js: JetStreamContext, replicas: int = 1) -> None:
    async def create() -> None:
        await js.add_stream(schedule_stream_config(replicas))

    await patiently(create, "creating the schedules stream")


class ScheduleTaken(Exception):
    """A schedule of that id exists (or existed: ids are never reused)."""


def _at(instant: datetime) -> str:
    return "@at " + instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ScheduleBook:
    """Appends schedule events, reads one schedule's, arms and disarms its clock."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def append(self, event: ScheduleEvent, expect_new: bool = False) -> int:
        """The event's stream sequence. ``expect_new``: only if the schedule has no events
        yet (BadRequestError otherwise: the id is taken)."""
        headers = {"Nats-Msg-Id": str(event.event_id)}
        if expect_new:
            headers["Nats-Expected-Last-Subject-Sequence"] = "0"
            headers["Nats-Expected-Last-Subject-Sequence-Subject"] = schedule_filter(
                event.schedule_id
            )
        try:
            ack = await self.js.publish(event.subject, event.encode(), headers=headers)
        except BadRequestError as exc:
            if exc.err_code == WRONG_LAST_SEQUENCE:
                raise ScheduleTaken(event.schedule_id) from exc
            raise
        return ack.seq

    async def record_firing(self, event: ScheduleEvent, firing: str | datetime) -> int:
        """A firing's event, once per schedule, firing (its instant, or the update that
        caused it) and kind within the duplicate window, whoever handles the firing."""
        if isinstance(firing, datetime):
            firing = f"{firing.astimezone(UTC):%FT%T}"
        key = f"{event.schedule_id}:{firing}:{type(event).__name__}"
        ack = await self.js.publish(event.subject, event.encode(), headers={"Nats-Msg-Id": key})
        return ack.seq

    async def read(
        self, schedule_id: str, after: int = 0, limit: int | None = None
    ) -> list[tuple[int, ScheduleEvent]]:
        """The events of one schedule after the stream sequence ``after`` (at most ``limit``),
        each with its sequence, oldest first."""
        sub = await self.js.subscribe(
            schedule_filter(schedule_id),
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            config=ConsumerConfig(opt_start_seq=after + 1),
        )
        events: list[tuple[int, ScheduleEvent]] = []
        try:
            info = await sub.consumer_info()
            delivered = info.delivered.consumer_seq if info.delivered else 0
            if info.num_pending == 0 and not delivered:
                return events
            while True:
                msg = await sub.next_msg(timeout=5)
                event = decode_schedule_event(msg.data, msg.subject)
                events.append((msg.metadata.sequence.stream, event))
                if msg.metadata.num_pending == 0 or len(events) == limit:
                    return events
        finally:
            await sub.unsubscribe()

    async def arm(self, schedule_id: str, instant: datetime) -> None:
        """The server fires ``schedule_id`` at ``instant`` (at once if it is past); the
        instant armed before is replaced."""
        body = json.dumps({"instant": instant.astimezone(UTC).isoformat()}).encode()
        headers = {"Nats-Schedule": _at(instant), "Nats-Schedule-Target": tick_subject(schedule_id)}
        await self.js.publish(clock_subject(schedule_id), body, headers=headers)

    async def disarm(self, schedule_id: str) -> None:
        await self.js.publish(clock_subject(schedule_id), b"disarmed")


def firing_instant(data: bytes) -> datetime:
    """The instant a firing was armed for (its body); ValueError if it names none."""
    instant = datetime.fromisoformat(json.loads(data)["instant"])
    if instant.tzinfo is None:
        raise ValueError("a firing's instant has no time zone")
    return instant


async def ensure_triggers_consumer(js: JetStreamContext, ack_wait: float = 30.0) -> None:
    """The durable consumer of dataset updates that fire schedules: from when it is first
    created, never the updates before (a new trigger does not replay history)."""
    config = ConsumerConfig(
        durable_name=TRIGGERS_CONSUMER,
        filter_subject=job_event_filter("*", DatasetCommitted.token),
        ack_wait=ack_wait,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.NEW,
        max_ack_pending=-1,
    )
    await ensure_durable(js, config)


async def ensure_scheduler_consumer(js: JetStreamContext, ack_wait: float = 30.0) -> None:
    """The durable consumer of firings the gateways share."""
    config = ConsumerConfig(
        durable_name=SCHEDULER_CONSUMER,
        filter_subject=f"{TICK_ROOT}.>",
        ack_wait=ack_wait,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        max_ack_pending=-1,
    )
    await ensure_durable(js, config, SCHEDULE_STREAM)
