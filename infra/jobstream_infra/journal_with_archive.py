"""A journal whose archived jobs read as if they had never left the stream.

Readers of a job's history (its events page, its status at an instant, its provenance, a
rerun, a replay of one's own jobs) get the archive's events merged with whatever the stream
still holds of the job, in sequence order, each once. Writes, followers and watches are the
stream's.

What it costs a job that was never archived: a read from the start whose first event is the
job's first (a submission or a creation) is answered by the stream alone; any other read
looks the job up in the index in memory. The archive itself is listed only when a read from
the start finds the job's beginning missing (reads that miss together share one listing).
An archived job read after its newest archived event (a status read from the view's
checkpoint) opens no file; one read from the start opens its own bytes of one file.
"""

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TypeVar

from jobstream_contracts.events import Event, JobCreated, JobSubmitted

from .archive import ArchiveIndex, ArchiveUnreachable
from .archive_order import in_sequence
from .journal import Journal, StoreUsage
from .records import CaughtUp, Recorded, readable

A = TypeVar("A")
T = TypeVar("T")


def _begins(event: Event) -> bool:
    return isinstance(event, JobSubmitted | JobCreated)


class JournalWithArchive:
    """``inner`` (the stream's journal) with the archive that ``index`` reads."""

    def __init__(self, inner: Journal, index: ArchiveIndex) -> None:
        self.inner = inner
        self.index = index
        # The listing of the archive under way, and when the newest finished one started.
        self._listing: asyncio.Future[None] | None = None
        self._listed_from = float("-inf")

    async def append(self, event: Event, expect_last: int | None = None) -> int:
        return await self.inner.append(event, expect_last)

    async def read(self, job_id: str, after: int = 0, limit: int | None = None) -> list[Recorded]:
        live = await self.inner.read(job_id, after, limit)
        if after == 0 and live and _begins(live[0].event):
            return live
        archived = await self._archived(job_id, after)
        if not archived:
            return live
        return in_sequence(archived, live, after)[:limit]

    async def catch_up(self, job_id: str, after: int = 0) -> CaughtUp:
        caught = await self.inner.catch_up(job_id, after)
        live = caught.records
        if after == 0 and live and _begins(live[0].event):
            return caught
        archived = await self._archived(job_id, after)
        return CaughtUp(in_sequence(archived, live, after), caught.through) if archived else caught

    async def _archived(self, job_id: str, after: int) -> list[Recorded]:
        """The job's archived events, unless all of them are at or below ``after``; from the
        start, after listing the archive for files written since it was last listed, when the
        job is not among those known."""
        manifest = self.index.holding(job_id)
        if manifest is None:
            if after:
                return []
            await self._listed_since(time.monotonic())
            manifest = self.index.holding(job_id)
            if manifest is None:
                return []
        if manifest.jobs[job_id].last_sequence <= after:
            return []
        return await self._reading(self.index.records, job_id)

    async def _reading(self, read: Callable[[A], T], argument: A) -> T:
        """``read(argument)`` on a thread; the storage's failure as ArchiveUnreachable."""
        try:
            return await asyncio.to_thread(read, argument)
        except OSError as exc:
            raise ArchiveUnreachable(self.index.archive.url, exc) from exc

    async def is_dismissed(self, process_id: str, job_id: str) -> bool:
        return await self.inner.is_dismissed(process_id, job_id)

    async def at(self, sequences: list[int]) -> list[Recorded]:
        found = {r.sequence: r for r in await self.inner.at(sequences)}
        missing = [s for s in sequences if s not in found]
        if missing:
            await self._listed_since(time.monotonic())
            found.update(await self._reading(self._archived_at, missing))
        return [found[s] for s in sequences if s in found]

    async def _listed_since(self, instant: float) -> None:
        """Once a listing of the archive that started after ``instant`` has ended. A job the
        stream no longer holds was trimmed after its manifest was written, so such a listing
        finds it: no read misses a job trimmed a moment before. Reads that miss at once share
        one listing, and one runs at a time, so unknown ids cannot flood the archive."""
        while self._listed_from < instant:
            if self._listing is None:
                self._listing = asyncio.ensure_future(self._list())
            await asyncio.shield(self._listing)

    async def _list(self) -> None:
        started = time.monotonic()
        try:
            await self._reading(ArchiveIndex.load_new, self.index)
            self._listed_from = started
        finally:
            self._listing = None

    def _archived_at(self, sequences: list[int]) -> dict[int, Recorded]:
        wanted = set(sequences)
        found: dict[int, Recorded] = {}
        for manifest in self.index.manifests:
            if not any(manifest.covers(s) for s in wanted):
                continue
            for messages in self.index.archive.messages(manifest).values():
                inside = [m for m in messages if m.sequence in wanted]
                found.update((r.sequence, r) for r in readable(inside))
        return found

    def follow(
        self,
        filters: list[str] | None = None,
        after: int | None = 0,
        since: datetime | None = None,
        batch: int = 100,
        wait: float = 1.0,
    ) -> AsyncGenerator[list[Recorded], None]:
        return self.inner.follow(filters, after, since, batch, wait)

    def watch(self, job_id: str) -> AbstractAsyncContextManager[asyncio.Event]:
        return self.inner.watch(job_id)

    async def last_sequence(self) -> int:
        return await self.inner.last_sequence()

    async def usage(self) -> StoreUsage:
        return await self.inner.usage()
