"""Reading the stream in order from a position, in bounded batches: what event streams, the
export and a rebuild up to an instant share.

An ephemeral pull consumer per reader: the server keeps the position and filters the subjects,
and the reader holds at most one batch, however slowly it is consumed.
"""

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from jobstream_contracts.subjects import ALL_EVENTS, STREAM

from .records import Recorded, Stored, readable

# Seconds a reader's consumer outlives a reader that vanished without unsubscribing.
INACTIVE_THRESHOLD = 30.0


class UnreadableEvent(Exception):
    """A stored message that is not an event this code can read, or one that disagrees with its
    subject: what a reader that must not skip (an export, a rebuild) stops at."""

    def __init__(self, sequence: int, subject: str, reason: str) -> None:
        super().__init__(
            f"the event at stream sequence {sequence} ({subject}) cannot be read: {reason}"
        )
        self.sequence = sequence


def _config(filters: list[str], after: int | None, since: datetime | None) -> ConsumerConfig:
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE, inactive_threshold=INACTIVE_THRESHOLD, mem_storage=True
    )
    if len(filters) > 1:  # one is given to pull_subscribe as its subject
        config.filter_subjects = filters
    if since is not None:
        config.deliver_policy = DeliverPolicy.BY_START_TIME
        config.opt_start_time = since
    elif after is None:
        config.deliver_policy = DeliverPolicy.NEW
    else:
        config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
        config.opt_start_seq = after + 1
    return config


async def read_batches(
    js: JetStreamContext,
    filters: list[str] | None = None,
    after: int | None = 0,
    since: datetime | None = None,
    batch: int = 100,
    wait: float = 1.0,
) -> AsyncGenerator[list[Recorded], None]:
    """Batches of events matching ``filters``, from sequence ``after`` + 1 (``None``: only new
    ones) or from the instant ``since``; an empty batch each ``wait`` seconds without events.

    Messages that are not events this code can read are skipped: the projector parks them.
    """
    async with aclosing(read_stored(js, filters, after, since, batch, wait)) as batches:
        async for stored in batches:
            yield readable(stored)


async def read_stored(
    js: JetStreamContext,
    filters: list[str] | None = None,
    after: int | None = 0,
    since: datetime | None = None,
    batch: int = 100,
    wait: float = 1.0,
) -> AsyncGenerator[list[Stored], None]:
    """Like read_batches, but every message as stored, read as an event or not."""
    sub = await js.pull_subscribe(
        filters[0] if filters else ALL_EVENTS,
        stream=STREAM,
        config=_config(filters or [ALL_EVENTS], after, since),
    )
    try:
        while True:
            try:
                msgs = await sub.fetch(batch, timeout=wait)
            except TimeoutError:
                yield []
                continue
            yield [Stored.of(msg) for msg in msgs]
    finally:
        # Also when the reader is cancelled (a client hanging up): the consumer goes now,
        # not after its inactivity threshold.
        await asyncio.shield(sub.unsubscribe())
