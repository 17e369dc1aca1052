"""The projector process: follows the stream from the view's checkpoint and folds it in.

It never spins on an event: one it cannot decode or apply is parked (the view moves on), and
one written by a newer jobstream is held back with every later event of its job, while the
view moves on for every other job. Parking that one would lose it from the view for good; an
upgraded projector applies what was held when it starts. Meanwhile the gateway answers 503
for that job only.

Finished jobs' events the archiver trimmed from the stream are read from the archive and folded
in their places, merged by sequence, by a projector behind them (a rebuild, a fresh view): the
view is the one the untrimmed stream gave.

Any number of projectors may run on one view: the holder of the view's lease writes it, the
others stand by and take over from the checkpoint once it dies (standby.py).
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError, ServiceUnavailableError
from sqlalchemy import Engine

from jobstream_contracts.events import EventDecodeError, decode_event
from jobstream_contracts.subjects import ALL_EVENTS, STREAM, parse_subject
from jobstream_infra.archive import Archive
from jobstream_infra.archive_order import ArchivedInOrder, first_archived_after, in_sequence
from jobstream_infra.connection import close_nats, connect_nats, stopped_within
from jobstream_infra.journal import (
    JetStreamJournal,
    Journal,
    direct_reads,
    last_sequence_at,
    stream_sequence,
)
from jobstream_infra.leases import Lease
from jobstream_infra.metrics import (
    PROJECTOR_APPLIED,
    PROJECTOR_HELD,
    PROJECTOR_LAG,
    PROJECTOR_PARKED,
    start_sampling,
)
from jobstream_infra.provisioning import ensure_stream
from jobstream_infra.reader import UnreadableEvent
from jobstream_infra.records import Stored
from jobstream_infra.settings import ProjectorSettings

from .standby import ViewLease, view_lease_key
from .view import (
    CheckpointMoved,
    Decode,
    Fenced,
    HeldEvent,
    ParkedEvent,
    apply_batch,
    count_held,
    count_parked,
    create_view,
    create_view_engine,
    drop_view,
    held_event,
    parked_event,
    read_checkpoint,
    release_held,
)

log = structlog.get_logger(__name__)


class ConsumerLost(Exception):
    pass


class Message(Protocol):
    """A message of the stream as the projector folds it: the journal's stored bytes."""

    @property
    def sequence(self) -> int: ...

    @property
    def subject(self) -> str: ...

    @property
    def data(self) -> bytes: ...


@dataclass(frozen=True)
class StreamMessage:
    sequence: int
    subject: str
    data: bytes

    @classmethod
    def of(cls, msg: Msg) -> "StreamMessage":
        return cls(stream_sequence(msg), msg.subject, msg.data)

    @classmethod
    def archived(cls, stored: Stored) -> "StreamMessage":
        """An archived message with the bytes the stream held: the archive keeps an event's
        JSON, and the event's own encoding is what was stored (what its job's row adds up)."""
        try:
            data = decode_event(stored.data, stored.subject).encode()
        except EventDecodeError:
            data = stored.data
        return cls(stored.sequence, stored.subject, data)


# Seconds before asking again a cluster that answered a fetch with 503.
UNAVAILABLE_PAUSE = 0.2
# The bound above every sequence: archived messages below it are all that remain.
END = 2**64


class Projector:
    def __init__(
        self,
        js: JetStreamContext,
        journal: Journal,
        engine: Engine,
        batch_size: int = 500,
        linger: float = 0.0,
        decode: Decode = decode_event,
        archive: Archive | None = None,
    ) -> None:
        # Its own consumer of the stream, not the journal's followers: those skip what they
        # cannot read, the projector parks it.
        self.js = js
        self.journal = journal
        self.engine = engine
        self.batch_size = batch_size
        self.linger = linger
        self.checkpoint = 0
        # The view's lease while this projector is the active one; None: it writes unfenced
        # (a rebuild, which owns the view it drops).
        self.lease: Lease | None = None
        # Unreadable events are parked so the view keeps moving; a rebuild stops at one
        # instead (UnreadableEvent), unless asked to park them too.
        self.park_unreadable = True
        self.decode = decode
        # Jobs with an event held back (written by a newer jobstream): their later events
        # are held too, so that each job's events are folded in order.
        self.held_jobs: set[str] = set()
        # Finished jobs' events trimmed from the stream (infra/archiver.py): folded in their
        # place by a projector behind them, from what ``archived`` loaded at subscribe time.
        self.archive = archive
        self.archived: ArchivedInOrder | None = None

    async def resume_from_view(self) -> None:
        """Take up where the view is: its checkpoint, and the jobs held back in it, after
        applying what this version reads of theirs (it may be the upgrade they waited for)."""
        self.checkpoint = await asyncio.to_thread(read_checkpoint, self.engine)
        fence = self.lease.check if self.lease is not None else None
        self.held_jobs = await asyncio.to_thread(release_held, self.engine, self.decode, fence)

    async def _load_archive(self) -> None:
        """What the archive holds above the checkpoint: nothing, for a projector at the
        stream's head, which then pays nothing for the archive per batch."""
        if self.archive is None:
            return
        self.archived = ArchivedInOrder(self.archive)
        await asyncio.to_thread(self.archived.load, self.checkpoint)

    async def _subscribe(self):
        await self.resume_from_view()
        await self._load_archive()
        # An ephemeral consumer starting after the checkpoint: the view, not the server,
        # remembers how far the projection got.
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self.checkpoint + 1,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30.0,
            mem_storage=True,
        )
        return await self.js.pull_subscribe(ALL_EVENTS, stream=STREAM, config=config)

    def _decode(self, messages: Sequence[Message]) -> tuple[list, list[ParkedEvent | HeldEvent]]:
        """The events to fold, and those set aside: held (see ``held_jobs``) or parked."""
        batch, aside = [], []
        for message in messages:
            seq, subject = message.sequence, message.subject
            job_id = _job_of(subject)
            data = message.data.decode("utf-8", errors="replace")
            if job_id in self.held_jobs:
                reason = "a job held back: an earlier event of it is of a newer jobstream"
                aside.append(held_event(seq, subject, job_id, reason, data))
                continue
            try:
                batch.append((seq, self.decode(message.data, subject)))
            except EventDecodeError as exc:
                if exc.newer and job_id is not None:
                    log.warning(
                        "held back a job's event of a newer jobstream", seq=seq, job_id=job_id
                    )
                    self.held_jobs.add(job_id)
                    aside.append(held_event(seq, subject, job_id, str(exc), data))
                    continue
                if not self.park_unreadable:
                    raise UnreadableEvent(seq, subject, str(exc)) from None
                log.error("parked an event the projector cannot read", seq=seq, error=str(exc))
                aside.append(parked_event(seq, subject, str(exc), data))
        return batch, aside

    async def step(self, sub, timeout: float = 1.0, until: int | None = None) -> int:
        """Fold the next batch, up to sequence ``until``, with the archived messages before
        it; returns how many messages it held (0 when idle)."""
        size = self.batch_size if until is None else min(self.batch_size, until - self.checkpoint)
        fetched = await self._fetch(sub, size, timeout)
        if fetched is None:
            return 0
        stream = [m for m in fetched if until is None or m.sequence <= until]
        # Once the stream has nothing more (up to ``until``), every archived message left is
        # due; before that, those below the next message the stream will deliver.
        ended = not stream or len(stream) < len(fetched)
        bound = stream[-1].sequence if not ended else (END if until is None else until + 1)
        messages = await self._merged(stream, bound, until if ended else None)
        for start in range(0, len(messages), self.batch_size):
            chunk = messages[start : start + self.batch_size]
            await self._check_contiguous([message.sequence for message in chunk])
            await self.apply(chunk)
        return len(messages)

    async def _fetch(self, sub, size: int, timeout: float) -> list[StreamMessage] | None:
        """The stream's next messages ([]: none more, for now); None when the cluster could
        not answer."""
        try:
            msgs = await sub.fetch(size, timeout=timeout)
        except TimeoutError:
            return []
        except ServiceUnavailableError:
            # A cluster answers 503 while a new consumer settles (a node just rejoined): ask
            # again shortly rather than end a rebuild with a traceback.
            await asyncio.sleep(UNAVAILABLE_PAUSE)
            return None
        return [StreamMessage.of(msg) for msg in msgs]

    async def _merged(
        self, stream: list[StreamMessage], bound: int, through: int | None
    ) -> list[StreamMessage]:
        """``stream`` with the archived messages below ``bound``, in sequence order. A gap
        they leave (or, with ``through``, a shortfall) lists the archive again: the archiver
        may have trimmed since it was loaded."""
        archived = await self._archived_below(bound)
        merged = in_sequence(archived, stream, self.checkpoint) if archived else stream
        if self.archived is not None and not _whole(merged, self.checkpoint, through):
            await asyncio.to_thread(self.archived.load, self.checkpoint)
            archived += await self._archived_below(bound)
            merged = in_sequence(archived, stream, self.checkpoint)
        return merged

    async def _archived_below(self, bound: int) -> list[StreamMessage]:
        archived = self.archived
        if archived is None or not archived.reaches(bound):
            return []
        return await asyncio.to_thread(
            lambda: [StreamMessage.archived(stored) for stored in archived.below(bound)]
        )

    async def apply(self, messages: Sequence[Message]) -> None:
        """Fold messages that follow the checkpoint into the view, setting aside what cannot
        be read (see ``_decode``)."""
        batch, aside = self._decode(messages)
        fence = self.lease.check if self.lease is not None else None
        sizes = {message.sequence: len(message.data) for message in messages}
        self.checkpoint = await asyncio.to_thread(
            apply_batch, self.engine, batch, self.checkpoint, aside, fence, sizes
        )
        PROJECTOR_APPLIED.inc(len(batch))

    async def _check_contiguous(self, sequences: list[int]) -> None:
        """Messages must follow the checkpoint without a gap: with no acks, a message lost in
        transit would otherwise be skipped for good. A gap the stream itself has (history
        purged below its first sequence) is accepted; one the archive fills is none."""
        expected = self.checkpoint + 1
        for seq in sequences:
            if seq != expected:
                first = (await self.js.stream_info(STREAM)).state.first_seq
                if seq > expected and expected < first and seq <= first:
                    expected = seq + 1
                    continue
                raise ConsumerLost(f"expected sequence {expected}, got {seq}")
            expected += 1

    async def run(self, stop: asyncio.Event) -> None:
        sub = await self._subscribe()
        idle = 0
        while not stop.is_set():
            try:
                if self.lease is not None and self.lease.lost:
                    raise Fenced(f"the lease on the view ({self.lease.resource}) was lost")
                count = await self.step(sub)
                if not count:
                    idle += 1
                    if idle % 5 == 0 and not await self._consumer_alive(sub):
                        raise ConsumerLost
                    continue
                idle = 0
                if count < self.batch_size and self.linger:
                    await asyncio.sleep(self.linger)
            except CheckpointMoved as exc:
                log.warning("checkpoint moved, resuming from the view", reason=str(exc))
                sub = await self._resubscribe(sub, stop)
            except Fenced:
                await _unsubscribe(sub)
                raise
            except Exception as exc:  # noqa: BLE001 - NATS restarts must not end the projector
                # Our ephemeral consumer is gone (a server restart) or the connection is
                # down: start again from the view's checkpoint once NATS answers.
                log.warning(
                    "projector consumer lost, resubscribing",
                    error=repr(exc),
                    checkpoint=self.checkpoint,
                )
                sub = await self._resubscribe(sub, stop)
            if sub is None:
                log.info(
                    "stopped while waiting for nats; the view is at its checkpoint",
                    checkpoint=self.checkpoint,
                )
                return
        await _unsubscribe(sub)

    async def _resubscribe(self, old, stop: asyncio.Event):
        """A new consumer from the checkpoint once NATS answers; None once ``stop`` is set."""
        await _unsubscribe(old)
        while not await stopped_within(stop, 0.5):
            try:
                return await self._subscribe()
            except Exception as exc:  # noqa: BLE001 - NATS may still be down
                log.info("waiting to resubscribe", error=repr(exc))
        return None

    async def _consumer_alive(self, sub) -> bool:
        try:
            await sub.consumer_info()
            return True
        except NotFoundError:
            return False

    async def last_sequence_at(self, instant: datetime) -> int:
        """The sequence of the last message stored at ``instant``, in the stream or, trimmed
        from it since, in the archive."""
        stream = await last_sequence_at(self.journal, instant)
        if self.archive is None:
            return stream
        archived = await asyncio.to_thread(first_archived_after, self.archive, instant)
        return stream if archived is None else min(stream, archived - 1)

    async def catch_up(self, until: int | None = None) -> int:
        """Fold everything up to the stream's current end (or sequence ``until``), then return
        the checkpoint."""
        last = await self.journal.last_sequence()
        target = last if until is None else min(until, last)
        sub = await self._subscribe()
        try:
            while self.checkpoint < target:
                await self.step(sub, until=target)
        finally:
            await sub.unsubscribe()
        return self.checkpoint


def _whole(messages: Sequence[Message], after: int, through: int | None) -> bool:
    """Whether ``messages`` follow ``after`` without a gap (and reach ``through``)."""
    if any(message.sequence != after + 1 + i for i, message in enumerate(messages)):
        return False
    return through is None or after + len(messages) >= through


def _job_of(subject: str) -> str | None:
    try:
        return parse_subject(subject)[1]
    except ValueError:  # not an event's subject: nothing of any job
        return None


async def _unsubscribe(sub) -> None:
    try:
        await sub.unsubscribe()
    except Exception:  # noqa: BLE001 - the subscription may be long gone with its server
        pass


async def _open(
    settings: ProjectorSettings,
    stop: asyncio.Event | None = None,
    migrate: bool = False,
    wait: float | None = None,
):
    engine = create_view_engine(settings.view_url)
    await asyncio.to_thread(create_view, engine, migrate)
    nc = await connect_nats(settings, "projector", wait=wait, stop=stop)
    js = nc.jetstream()
    replicas = await ensure_stream(js, new_replicas=settings.replicas)
    journal = JetStreamJournal(nc, js, direct_reads(replicas))
    projector = Projector(
        js,
        journal,
        engine,
        settings.projector_batch,
        settings.projector_linger,
        archive=Archive(settings.archive_location),
    )
    return nc, projector


async def run_projector(settings: ProjectorSettings, stop: asyncio.Event) -> None:
    nc, projector = await _open(settings, stop)
    view_lease = ViewLease(
        projector.js, view_lease_key(projector.engine), settings.projector_lease_ttl
    )
    log.info(
        "projector running",
        view=projector.engine.url.render_as_string(),
        lease=view_lease.key,
    )
    sampler = start_sampling(settings.metrics_port, lambda: _sample_view(projector), stop)
    try:
        await _take_turns(projector, view_lease, stop)
    finally:
        if sampler is not None:
            sampler.cancel()
        await close_nats(nc, "projector")
        projector.engine.dispose()


async def _sample_view(projector: Projector) -> None:
    """The view's lag and parked events, as /ready reports them: the same in every projector,
    active or standing by."""
    last = await projector.journal.last_sequence()
    checkpoint = await asyncio.to_thread(read_checkpoint, projector.engine)
    PROJECTOR_LAG.set(max(0, last - checkpoint))
    PROJECTOR_PARKED.set(await asyncio.to_thread(count_parked, projector.engine))
    PROJECTOR_HELD.set(await asyncio.to_thread(count_held, projector.engine))


async def _take_turns(projector: Projector, view_lease: ViewLease, stop: asyncio.Event) -> None:
    """Stand by until the view's lease is ours, project while it is, stand by again if it is
    lost; until ``stop``."""
    while (lease := await view_lease.wait(stop)) is not None:
        async with view_lease.held(lease):
            projector.lease = lease
            log.info("projector active", lease=lease.resource)
            try:
                await asyncio.to_thread(create_view, projector.engine)
                await projector.run(stop)
                return
            except Fenced as exc:
                log.warning(
                    "projector lease lost; standing by without writing",
                    reason=str(exc),
                    checkpoint=projector.checkpoint,
                )
            finally:
                projector.lease = None


async def rebuild_view(
    settings: ProjectorSettings,
    until: int | datetime | None = None,
    skip_unreadable: bool = False,
) -> int:
    """Drop the view and replay the stream from sequence 1, up to sequence or instant ``until``
    (the view as it was then); returns the final checkpoint. UnreadableEvent at the first
    event that cannot be read, unless ``skip_unreadable`` parks them as the projector does."""
    engine = create_view_engine(settings.view_url)
    await asyncio.to_thread(drop_view, engine)
    engine.dispose()
    # A command a person runs: an unreachable server ends it (NatsUnreachable), not a wait.
    nc, projector = await _open(settings, migrate=True, wait=settings.nats_command_wait)
    try:
        projector.park_unreadable = skip_unreadable
        if isinstance(until, datetime):
            until = await projector.last_sequence_at(until)
        return await projector.catch_up(until)
    finally:
        await close_nats(nc, "projector")
        projector.engine.dispose()
