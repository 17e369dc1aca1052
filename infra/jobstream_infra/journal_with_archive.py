"""A journal whose archived jobs read as if they had never left the stream.

Readers of a job's history (its events page, its status at an instant, its provenance, a
rerun, a replay of one's own jobs) get the archive's events merged with whatever the stream
still holds of the job, in sequence order, each once. Writes, followers and watches are the
stream's.

What it costs a job that was never archived: a read from the start whose first event is the
job's first (a submission or a creation) is answered by the stream alone; any other read
looks the job up in the index in memory. The archive itself is listed only when a read from
the start finds the job's beginning missing, and at most once a second. An archived job read
after its newest archived event (a status read from the view's checkpoint) opens no file.
"""

import asyncio
import time
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from jobstream_contracts.events import Event, JobCreated, JobSubmitted

from .archive import ArchiveIndex
from .archive_order import in_sequence
from .journal import Journal, StoreUsage
from .records import CaughtUp, Recorded, readable


def _begins(event: Event) -> bool:
    return isinstance(event, JobSubmitted | JobCreated)


class JournalWithArchive:
    """``inner`` (the stream's journal) with the archive that ``index`` reads."""

    def __init__(self, inner: Journal, index: ArchiveIndex) -> None:
        self.inner = inner
        self.index = index

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
            await asyncio.to_thread(self.index.refresh, time.monotonic())
            manifest = self.index.holding(job_id)
            if manifest is None:
                return []
        if manifest.jobs[job_id].last_sequence <= after:
            return []
        return await asyncio.to_thread(self.index.records, job_id)

    async def is_dismissed(self, process_id: str, job_id: str) -> bool:
        return await self.inner.is_dismissed(process_id, job_id)

    async def at(self, sequences: list[int]) -> list[Recorded]:
        found = {r.sequence: r for r in await self.inner.at(sequences)}
        missing = [s for s in sequences if s not in found]
        if missing:
            found.update(await asyncio.to_thread(self._archived_at, missing))
        return [found[s] for s in sequences if s in found]

    def _archived_at(self, sequences: list[int]) -> dict[int, Recorded]:
        self.index.refresh(time.monotonic())
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
