"""Writing events to the stream and reading them back.

Reads are direct gets by default: answered by any replica, cheaper than the leader's API. On a
replicated stream a follower may not yet hold a write the leader just acknowledged, so a job
answered 201 could read as missing; components reading a replicated stream pass
``direct=False`` and ask the leader (``direct_reads``).
"""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import BadRequestError, NotFoundError

from jobstream_contracts.events import Event, EventDecodeError, JobDismissed
from jobstream_contracts.subjects import STREAM, event_subject, job_filter

from .reader import read_batches

# Re-exported: a Recorded is what every journal answers; stream_sequence reads one.
from .records import CaughtUp, Stored, recorded
from .records import Recorded as Recorded
from .records import stream_sequence as stream_sequence

# JetStream's answer when an expected-last-sequence condition does not hold.
WRONG_LAST_SEQUENCE = 10071


class HistoryChanged(Exception):
    """The job's history grew since the caller last read it; nothing was written."""


@dataclass(frozen=True)
class StoreUsage:
    """The bytes the journal's store holds, and the most it may (None: no limit it knows)."""

    used: int
    capacity: int | None = None


async def publish_event(
    js: JetStreamContext, event: Event, timeout: float = 5.0, expect_last: int | None = None
) -> PubAck:
    """Append an event; with ``expect_last``, only if the job's newest event has that sequence.

    The condition makes writes that must happen at most once (a job's final event, the
    submission of an idempotent request) safe against racing writers: JetStream checks it
    atomically against every subject of the job. The event id doubles as the message id, so a
    publish retried within the duplicate window is stored once.
    """
    headers = {"Nats-Msg-Id": str(event.event_id)}
    if expect_last is not None:
        headers["Nats-Expected-Last-Subject-Sequence"] = str(expect_last)
        headers["Nats-Expected-Last-Subject-Sequence-Subject"] = job_filter(event.job_id)
    try:
        return await js.publish(
            event.subject, event.encode(), timeout=timeout, stream=STREAM, headers=headers
        )
    except BadRequestError as exc:
        if exc.err_code == WRONG_LAST_SEQUENCE:
            raise HistoryChanged(event.job_id) from exc
        raise


def direct_reads(replicas: int) -> bool:
    """Whether reads of a stream with ``replicas`` may go to any replica and see every
    acknowledged write."""
    return replicas == 1


async def read_job_records(
    js: JetStreamContext,
    job_id: str,
    after: int = 0,
    limit: int | None = None,
    direct: bool = True,
) -> list[Recorded]:
    """One job's events above sequence ``after``, in stream order, at most ``limit``."""
    return (await catch_up(js, job_id, after, limit, direct)).records


async def catch_up(
    js: JetStreamContext,
    job_id: str,
    after: int = 0,
    limit: int | None = None,
    direct: bool = True,
) -> CaughtUp:
    """One job's readable events above ``after`` (at most ``limit``), and how far the read went."""
    records: list[Recorded] = []
    through = after
    async with aclosing(job_messages(js, job_id, after, direct)) as messages:
        async for message in messages:
            through = message.sequence
            record = recorded(message.sequence, message.time, message.subject, message.data)
            if record is not None:
                records.append(record)
            if limit is not None and len(records) >= limit:
                break
    return CaughtUp(records, through)


async def job_messages(
    js: JetStreamContext, job_id: str, after: int = 0, direct: bool = True
) -> AsyncGenerator[Stored, None]:
    """Every message stored on one job's subjects above ``after``, as stored, one get each."""
    seq = after + 1
    subject = job_filter(job_id)
    while True:
        try:
            msg = await js.get_msg(STREAM, seq=seq, subject=subject, next=True, direct=direct)
        except NotFoundError:
            return
        # A stored message always has its sequence, time and subject.
        assert msg.seq is not None and msg.time is not None and msg.subject is not None
        yield Stored(msg.seq, msg.time, msg.subject, msg.data or b"")
        seq = msg.seq + 1


async def read_job_events(
    js: JetStreamContext, job_id: str, after: int = 0, direct: bool = True
) -> list[Event]:
    records = await read_job_records(js, job_id, after, direct=direct)
    return [record.event for record in records]


class Journal(Protocol):
    """The record of every job: what the gateway, the executor and the notifier append to and
    read from. ``JetStreamJournal`` is the record itself; ``InMemoryJournal`` holds the same
    contract in one process (tests/contract runs one suite against both).
    """

    async def append(self, event: Event, expect_last: int | None = None) -> int:
        """Store ``event`` and answer its sequence. With ``expect_last``, only if the job's newest
        event has that sequence (0: the job has none); else ``HistoryChanged``, nothing stored.
        An event whose id was stored a moment ago is not stored twice."""
        ...

    async def read(self, job_id: str, after: int = 0, limit: int | None = None) -> list[Recorded]:
        """One job's events above sequence ``after``, in stream order, at most ``limit``."""
        ...

    async def catch_up(self, job_id: str, after: int = 0) -> CaughtUp:
        """One job's events above ``after`` as ``read`` answers them, and the sequence of its
        newest stored message, readable or not (``after`` when there is none)."""
        ...

    async def is_dismissed(self, process_id: str, job_id: str) -> bool:
        """Whether the job has been dismissed, without reading its history."""
        ...

    async def at(self, sequences: list[int]) -> list[Recorded]:
        """The events stored at these sequences, in the order given; a sequence holding none,
        or a message a follower would skip (unreadable, off its subject), gives nothing."""
        ...

    def follow(
        self,
        filters: list[str] | None = None,
        after: int | None = 0,
        since: datetime | None = None,
        batch: int = 100,
        wait: float = 1.0,
    ) -> AsyncGenerator[list[Recorded], None]:
        """Batches of the events matching ``filters`` (subject patterns; all events when None)
        from sequence ``after`` + 1 (None: only new ones) or from the instant ``since``; an
        empty batch after each ``wait`` seconds without events."""
        ...

    def watch(self, job_id: str) -> AbstractAsyncContextManager[asyncio.Event]:
        """An event set whenever something is published for the job, while the context is open.

        A hint to read again, never the record: it may also fire for a publish the journal
        refused, and a reader must look once more after a timeout.
        """
        ...

    async def last_sequence(self) -> int:
        """The sequence of the newest stored event (0 when there is none)."""
        ...

    async def usage(self) -> StoreUsage:
        """How full the store is: every stored event counts."""
        ...


class JetStreamJournal:
    """The journal on the JetStream stream ``STREAM``: the record."""

    def __init__(self, nc: NATS, js: JetStreamContext, direct: bool = True) -> None:
        self.nc = nc
        self.js = js
        # Direct gets only where every replica holds every acknowledged write (direct_reads).
        self.direct = direct

    async def append(self, event: Event, expect_last: int | None = None) -> int:
        return (await publish_event(self.js, event, expect_last=expect_last)).seq

    async def read(self, job_id: str, after: int = 0, limit: int | None = None) -> list[Recorded]:
        return await read_job_records(self.js, job_id, after, limit, self.direct)

    async def catch_up(self, job_id: str, after: int = 0) -> CaughtUp:
        return await catch_up(self.js, job_id, after, direct=self.direct)

    async def is_dismissed(self, process_id: str, job_id: str) -> bool:
        # One get of the dismissal's own subject, no history read.
        subject = event_subject(process_id, job_id, JobDismissed.token)
        try:
            await self.js.get_last_msg(STREAM, subject, direct=self.direct)
        except NotFoundError:
            return False
        return True

    async def at(self, sequences: list[int]) -> list[Recorded]:
        # Direct gets at once: a page of a caller's replay is one round trip, not a hundred.
        found = await asyncio.gather(*(self._get(sequence) for sequence in sequences))
        return [record for record in found if record is not None]

    async def _get(self, sequence: int) -> Recorded | None:
        try:
            msg = await self.js.get_msg(STREAM, seq=sequence, direct=self.direct)
        except NotFoundError:
            return None
        assert msg.seq is not None and msg.time is not None and msg.subject is not None
        try:
            return recorded(msg.seq, msg.time, msg.subject, msg.data or b"")
        except EventDecodeError:
            return None

    def follow(
        self,
        filters: list[str] | None = None,
        after: int | None = 0,
        since: datetime | None = None,
        batch: int = 100,
        wait: float = 1.0,
    ) -> AsyncGenerator[list[Recorded], None]:
        return read_batches(self.js, filters, after, since, batch, wait)

    @asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[asyncio.Event]:
        changed = asyncio.Event()

        async def wake(_msg: Any) -> None:
            changed.set()

        subscription = await self.nc.subscribe(job_filter(job_id), cb=wake)
        try:
            yield changed
        finally:
            await subscription.unsubscribe()

    async def last_sequence(self) -> int:
        return (await self.js.stream_info(STREAM)).state.last_seq

    async def usage(self) -> StoreUsage:
        # The account's file storage: the stream shares it with the buckets, and the
        # account's JetStream limit, when it has one, is what refuses writes.
        info = await self.js.account_info()
        limit = info.limits.max_storage
        return StoreUsage(info.storage, limit if limit is not None and limit >= 0 else None)


async def last_sequence_at(journal: Journal, instant: datetime) -> int:
    """The sequence of the last event the journal had stored at ``instant``."""
    # Stored times have nanoseconds, instants (and what the stream reports) microseconds: an
    # event stored within the instant's microsecond was stored "at" it.
    after = instant + timedelta(microseconds=1)
    async with aclosing(journal.follow(since=after, batch=1)) as batches:
        async for batch in batches:
            if batch:
                return batch[0].sequence - 1
            break
    return await journal.last_sequence()
