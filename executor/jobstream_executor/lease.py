"""Leases: one holder at a time for a shared resource, such as a dataset's repository.

A lease is a key in a KV bucket whose entries expire after the bucket's TTL. The holder
renews it (a conditional update on its own revision) while the job runs; a holder that
crashes or stalls stops renewing and its lease expires, so nothing stays locked forever.
A renewal that finds another revision means the lease expired and was taken: the holder
must stop writing.
"""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

log = structlog.get_logger(__name__)


class LeaseBusy(Exception):
    """The resource is held by someone else."""

    def __init__(self, resource: str, holder: dict) -> None:
        self.resource = resource
        self.holder = holder
        who = holder.get("job_id", "another job")
        super().__init__(f"{resource} is busy: held by job {who} since {holder.get('since')}")


class LeaseLost(Exception):
    """A held lease expired and was taken by another holder."""


@dataclass
class Lease:
    resource: str
    revision: int
    holder: dict
    # Set by the renewer once the lease may have passed to someone else.
    lost: bool = False

    def check(self) -> None:
        """Call before each write to the resource."""
        if self.lost:
            raise LeaseLost(f"lease on {self.resource} was lost; stopping before writing")


class Leases:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def acquire(self, resource: str, holder: dict) -> Lease:
        holder = {**holder, "since": datetime.now(UTC).isoformat()}
        try:
            revision = await self.kv.create(resource, json.dumps(holder).encode())
        except KeyWrongLastSequenceError:
            raise LeaseBusy(resource, await self.holder(resource) or {}) from None
        return Lease(resource, revision, holder)

    async def holder(self, resource: str) -> dict | None:
        try:
            entry = await self.kv.get(resource)
        except KeyNotFoundError:
            return None
        return json.loads(entry.value) if entry.value else None

    async def renew(self, lease: Lease) -> None:
        try:
            lease.revision = await self.kv.update(
                lease.resource, json.dumps(lease.holder).encode(), last=lease.revision
            )
        except KeyWrongLastSequenceError:
            raise LeaseLost(f"lease on {lease.resource} expired and was taken") from None

    async def release(self, lease: Lease) -> None:
        try:
            await self.kv.delete(lease.resource, last=lease.revision)
        except KeyWrongLastSequenceError:
            pass  # expired and taken meanwhile: it is not ours to delete


async def renew_until_released(
    leases: Leases, lease: Lease, released: asyncio.Event, ttl: float
) -> None:
    """Renew ``lease`` every third of its TTL until ``released``; mark it lost when it may
    have passed to someone else."""
    loop = asyncio.get_running_loop()
    renewed = loop.time()
    while not lease.lost:
        await asyncio.sleep(ttl / 3)
        if released.is_set():  # the cancel may have been lost (see loops.stop_loop)
            return
        try:
            await leases.renew(lease)
            renewed = loop.time()
        except LeaseLost:
            lease.lost = True
        except Exception as exc:  # noqa: BLE001 - NATS may be reconnecting
            log.warning("lease renewal failed", resource=lease.resource, error=repr(exc))
            # Past the TTL the lease may have expired and passed to someone else.
            if loop.time() - renewed >= ttl:
                lease.lost = True
    log.warning("lease lost", resource=lease.resource, job_id=lease.holder.get("job_id"))
