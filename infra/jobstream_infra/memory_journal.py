"""The journal held in one process: the contract of ``JetStreamJournal`` without a server.

For tests of what is built on the journal (an executor's attempt, a projector's apply loop)
that need no network, and held to the same contract suite as the stream (tests/contract). It
keeps what the stream keeps, encoded bytes under a subject, and decodes on read, so an
event this code cannot read behaves as it does on the stream.
"""

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from itertools import islice

from jobstream_contracts.events import Event, EventDecodeError, JobDismissed
from jobstream_contracts.subjects import ALL_EVENTS, event_subject, job_filter

from .journal import HistoryChanged, Recorded, StoreUsage
from .records import CaughtUp, Stored
from .subject_patterns import matches_any, subject_matches

# JetStream's duplicate window as jobstream provisions the stream (provisioning.py).
DUPLICATE_WINDOW = 120.0


class InMemoryJournal:
    """A journal in a list: sequences from 1, no gaps, nothing ever removed."""

    def __init__(
        self,
        duplicate_window: float = DUPLICATE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        capacity: int | None = None,
    ) -> None:
        self.duplicate_window = duplicate_window
        self.clock = clock
        # What usage() reports as the store's limit; nothing is refused past it.
        self.capacity = capacity
        self.stored: list[Stored] = []
        # Event id -> (its sequence, when it was stored by ``clock``).
        self._ids: dict[str, tuple[int, float]] = {}
        # Set and replaced at every store: what followers wait on.
        self._grown = asyncio.Event()
        self._watchers: list[tuple[str, asyncio.Event]] = []

    async def append(self, event: Event, expect_last: int | None = None) -> int:
        self._wake_watchers(event.subject)  # as a core subscriber, refused publishes too
        # The condition first, as JetStream checks it: a retried conditional append is
        # refused once its first try moved the job on.
        if expect_last is not None and self._last_of(job_filter(event.job_id)) != expect_last:
            raise HistoryChanged(event.job_id)
        duplicate = self._duplicate_of(str(event.event_id))
        if duplicate is not None:
            return duplicate
        sequence = self.append_bytes(event.subject, event.encode())
        self._ids[str(event.event_id)] = (sequence, self.clock())
        return sequence

    def append_bytes(self, subject: str, data: bytes) -> int:
        """Store a message as it is, checked for nothing: what another writer, or a broken
        one, can put in the stream."""
        previous = self.stored[-1].time if self.stored else None
        now = datetime.now(UTC)
        stored_at = max(now, previous) if previous else now  # the stream's times never go back
        self.stored.append(Stored(len(self.stored) + 1, stored_at, subject, data))
        self._wake_watchers(subject)
        self._grown.set()
        self._grown = asyncio.Event()
        return len(self.stored)

    async def read(self, job_id: str, after: int = 0, limit: int | None = None) -> list[Recorded]:
        found = (stored.recorded() for stored in self._of(job_id, after))
        return list(islice((record for record in found if record is not None), limit))

    async def catch_up(self, job_id: str, after: int = 0) -> CaughtUp:
        found = self._of(job_id, after)
        through = found[-1].sequence if found else after
        return CaughtUp(await self.read(job_id, after), through)

    def _of(self, job_id: str, after: int) -> list[Stored]:
        pattern = job_filter(job_id)
        return [
            stored for stored in self.stored[after:] if subject_matches(pattern, stored.subject)
        ]

    async def at(self, sequences: list[int]) -> list[Recorded]:
        found = []
        for sequence in sequences:
            if not 0 < sequence <= len(self.stored):
                continue
            try:
                found.append(self.stored[sequence - 1].recorded())
            except EventDecodeError:
                continue
        return [record for record in found if record is not None]

    async def is_dismissed(self, process_id: str, job_id: str) -> bool:
        dismissal = event_subject(process_id, job_id, JobDismissed.token)
        return any(stored.subject == dismissal for stored in self.stored)

    async def follow(
        self,
        filters: list[str] | None = None,
        after: int | None = 0,
        since: datetime | None = None,
        batch: int = 100,
        wait: float = 1.0,
    ) -> AsyncGenerator[list[Recorded], None]:
        patterns = filters or [ALL_EVENTS]
        position = self._start(after, since)
        while True:
            grown = self._grown
            taken, position = self._scan(patterns, position, batch)
            if taken:
                yield _readable(taken)
                continue
            try:
                await asyncio.wait_for(grown.wait(), wait)
            except TimeoutError:
                yield []

    @asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[asyncio.Event]:
        watcher = (job_filter(job_id), asyncio.Event())
        self._watchers.append(watcher)
        try:
            yield watcher[1]
        finally:
            self._watchers.remove(watcher)

    async def last_sequence(self) -> int:
        return len(self.stored)

    async def usage(self) -> StoreUsage:
        return StoreUsage(sum(len(stored.data) for stored in self.stored), self.capacity)

    def _start(self, after: int | None, since: datetime | None) -> int:
        """The sequence a follower starts after."""
        if since is not None:
            later = (s.sequence for s in self.stored if s.time >= since)
            return next(later, len(self.stored) + 1) - 1
        return len(self.stored) if after is None else after

    def _scan(self, patterns: list[str], after: int, limit: int) -> tuple[list[Stored], int]:
        """Up to ``limit`` messages under ``patterns`` after ``after``, and where the scan
        stopped."""
        taken: list[Stored] = []
        position = after
        for stored in self.stored[after:]:
            if len(taken) == limit:
                break
            position = stored.sequence
            if matches_any(patterns, stored.subject):
                taken.append(stored)
        return taken, position

    def _duplicate_of(self, event_id: str) -> int | None:
        """The sequence an event id was stored under, if within the duplicate window."""
        known = self._ids.get(event_id)
        if known is None:
            return None
        sequence, stored_at = known
        if self.clock() - stored_at > self.duplicate_window:
            del self._ids[event_id]
            return None
        return sequence

    def _last_of(self, pattern: str) -> int:
        """The newest sequence under ``pattern``; 0 when there is none."""
        for stored in reversed(self.stored):
            if subject_matches(pattern, stored.subject):
                return stored.sequence
        return 0

    def _wake_watchers(self, subject: str) -> None:
        for pattern, changed in self._watchers:
            if subject_matches(pattern, subject):
                changed.set()


def _readable(taken: list[Stored]) -> list[Recorded]:
    """The events among ``taken`` this code can read; the stream's readers skip the others."""
    records = []
    for stored in taken:
        try:
            record = stored.recorded()
        except EventDecodeError:
            continue
        if record is not None:
            records.append(record)
    return records
