"""The executor's concurrency limit.

A fetch must not hold a slot while it waits for work, or idle processes would starve busy
ones. So fetch loops wait until a slot is free, fetch, and take the slot once a job arrived.
Two loops can receive a job at the same moment for the last slot; the later one waits for
the next free slot (heartbeating its message meanwhile), so running jobs never exceed the
limit.
"""

import asyncio


class Capacity:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._freed = asyncio.Event()

    @property
    def free(self) -> bool:
        return self.used < self.limit

    async def wait_free(self, timeout: float | None = None) -> None:
        """Return once a slot is free; raises TimeoutError after ``timeout`` seconds."""
        while not self.free:
            self._freed.clear()
            await asyncio.wait_for(self._freed.wait(), timeout)

    def take(self) -> None:
        assert self.free
        self.used += 1

    def give(self) -> None:
        self.used -= 1
        self._freed.set()
