"""The event store's room: how full it is, for the submissions that check its reserve
(quotas.py).

The store is asked at most ten times a second (one request to the server, well under a
millisecond); in between, each submission this gateway lets through is added to the last
answer, so a burst of submissions cannot run past the reserve between two readings. What
other writers add meanwhile (outcomes, other gateways) is what the reserve is for.
"""

import time
from dataclasses import dataclass, field

from jobstream_infra.journal import Journal, StoreUsage
from jobstream_infra.settings import GatewaySettings, size_in_bytes

# Seconds a reading of the store's usage is reused.
USAGE_MAX_AGE = 0.1


@dataclass
class StoreRoom:
    journal: Journal
    # The capacity to assume where the journal knows none (STORE_CAPACITY).
    capacity: int | None = None
    max_age: float = USAGE_MAX_AGE
    _read_at: float = field(default=-float("inf"), repr=False)
    _usage: StoreUsage = field(default=StoreUsage(0), repr=False)

    async def usage(self) -> StoreUsage:
        now = time.monotonic()
        if now - self._read_at >= self.max_age:
            self._usage, self._read_at = await self.journal.usage(), now
        if self._usage.capacity is None and self.capacity is not None:
            return StoreUsage(self._usage.used, self.capacity)
        return self._usage

    def add(self, size: int) -> None:
        """Count ``size`` more bytes stored, until the store is asked again."""
        self._usage = StoreUsage(self._usage.used + size, self._usage.capacity)

    @classmethod
    def of(cls, journal: Journal, settings: GatewaySettings) -> "StoreRoom":
        capacity = settings.store_capacity
        return cls(journal, size_in_bytes(capacity) if capacity is not None else None)
