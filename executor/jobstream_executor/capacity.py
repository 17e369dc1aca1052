"""The executor's concurrency limit.

A fetch must not hold a slot while it waits for work, or idle processes would starve busy
ones. So fetch loops wait until a slot is free, fetch, and take the slot once a job arrived.
Two loops can receive a job at the same moment for the last slot; the later one waits for
the next free slot (heartbeating its message meanwhile), so running jobs never exceed the
limit.

Jobs of a higher lane take a free slot first (``take_in_turn``): a high job fetched while a
normal one waits for a slot runs before it.

A job waiting for a concurrency key held elsewhere lends its slot back meanwhile (``lent``),
so jobs of other keys run. The executor holds at most ``limit`` such waiting jobs of one
process (``wait_room``): the rest stay in the stream, for executors with room.
"""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager


class Capacity:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        # Jobs waiting for a concurrency key, by process.
        self.waiting: Counter[str] = Counter()
        # Fetched jobs waiting for a slot, by the rank of their lane (0 the highest).
        self.queued: Counter[int] = Counter()
        self._freed = asyncio.Event()

    @property
    def free(self) -> bool:
        return self.used < self.limit

    async def wait_free(self, timeout: float | None = None) -> None:
        """Return once a slot is free; raises TimeoutError after ``timeout`` seconds."""
        while not self.free:
            self._freed.clear()
            await asyncio.wait_for(self._freed.wait(), timeout)

    async def wait_room(self, process_id: str) -> None:
        """Return once this executor holds fewer than ``limit`` waiting jobs of the process."""
        while self.waiting[process_id] >= self.limit:
            self._freed.clear()
            await self._freed.wait()

    def _turn_of(self, rank: int) -> bool:
        return self.free and not any(self.queued[better] for better in range(rank))

    async def take_in_turn(
        self, rank: int, heartbeat: Callable[[], Awaitable[object]], every: float
    ) -> None:
        """Take a slot once one is free and no job of a higher lane waits for it, calling
        ``heartbeat`` every ``every`` seconds meanwhile."""
        self.queued[rank] += 1
        try:
            while not self._turn_of(rank):
                self._freed.clear()
                try:
                    await asyncio.wait_for(self._freed.wait(), every)
                except TimeoutError:
                    await heartbeat()
        finally:
            self.queued[rank] -= 1
        self.take()
        # Others queued re-check their turn against this one's leaving the queue.
        self._freed.set()

    def take(self) -> None:
        assert self.free
        self.used += 1

    def give(self) -> None:
        self.used -= 1
        self._freed.set()

    @asynccontextmanager
    async def lent(self, process_id: str, ending: Callable[[], bool]):
        """The job's slot, given back while it waits for something other than this executor;
        taken again (once free) after, or at once when ``ending()`` says the job is ending
        (dismissed, handed back): it only acks or naks, and its end gives the slot back."""
        self.give()
        self.waiting[process_id] += 1
        try:
            yield
        finally:
            self.waiting[process_id] -= 1
            self._freed.set()
            try:
                if not ending():
                    await self.wait_free()
            finally:
                # Taken even when cancelled while waiting for it: the job's end gives it back.
                self.used += 1
