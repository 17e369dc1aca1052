"""Concurrency slots across the cluster, on the lease bucket.

A key with a limit of N is N leases, slots 0 to N-1 of it. A job takes a free one of each key
its process's limits name (a KV create, which exactly one writer wins), renews them while it
runs and deletes them when it ends. An executor that dies stops renewing, and its slots expire
with the bucket's TTL, as a dataset lease does. Nothing else keeps count: the bucket is the
count.
"""

import asyncio
import hashlib
from collections.abc import Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from jobstream_contracts.concurrency import SlotKey
from jobstream_infra.leases import Lease, Leases, renew_until_released


def slot_resource(key: str, index: int) -> str:
    """The lease of slot ``index`` of ``key``. Hashed: a key holds input values, which may
    have any character; the lease's value names the key for a person reading the bucket."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"slot.{digest}.{index}"


@dataclass(frozen=True)
class Busy:
    """Every slot of ``key`` is taken."""

    key: SlotKey


class Slots:
    def __init__(self, leases: Leases, ttl: float) -> None:
        self.leases = leases
        self.ttl = ttl

    async def take_all(self, needed: Sequence[SlotKey], holder: dict) -> list[Lease] | Busy:
        """A slot of every key, or none (what was taken is given back) and the busy key."""
        taken: list[Lease] = []
        for key in needed:
            lease = await self._take(key, holder)
            if lease is None:
                await self._release(taken)
                return Busy(key)
            taken.append(lease)
        return taken

    async def _take(self, key: SlotKey, holder: dict) -> Lease | None:
        for index in range(key.limit):
            lease = await self.leases.take(
                slot_resource(key.key, index), {**holder, "key": key.key}
            )
            if lease is not None:
                return lease
        return None

    @asynccontextmanager
    async def held(self, leases: Sequence[Lease]):
        """Renew ``leases`` while the ``with`` runs; give them back at its end."""
        if not leases:
            yield
            return
        released = asyncio.Event()
        renewers = [
            asyncio.create_task(renew_until_released(self.leases, lease, released, self.ttl))
            for lease in leases
        ]
        try:
            yield
        finally:
            released.set()
            for renewer in renewers:
                renewer.cancel()
            await asyncio.gather(*renewers, return_exceptions=True)
            await self._release(leases)

    async def _release(self, leases: Sequence[Lease]) -> None:
        for lease in leases:
            # Unreleased, a slot expires with the bucket's TTL.
            with suppress(Exception):
                await self.leases.release(lease)
