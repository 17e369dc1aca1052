"""Leases: one holder at a time for a shared resource, such as a dataset's repository or a
projector's view. Shared by the executor and the projector, so it lives in infra.

A lease is a key in a KV bucket whose entries expire after the bucket's TTL. The holder
renews it (a conditional update on its own revision) while the job runs; a holder that
crashes or stalls stops renewing and its lease expires, so nothing stays locked forever.
A renewal that finds another revision means the lease expired and was taken: the holder
must stop writing.

Fenced: renewals every third of the TTL keep a lease alive, but a writer does not trust
them. Immediately before each write it confirms the lease with the same compare-and-set on
its revision (``Lease.check``), which also restarts the TTL; a writer that cannot confirm,
for whatever reason, stops. Renewals and confirmations of one lease take turns (each moves
the revision the other compares against).
"""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
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
        who = f"job {holder['job_id']}" if "job_id" in holder else holder.get("name", "another")
        super().__init__(f"{resource} is busy: held by {who} since {holder.get('since')}")


class LeaseLost(Exception):
    """A held lease expired and was taken by another holder."""


@dataclass
class Lease:
    resource: str
    revision: int
    holder: dict
    # Set once the lease may have passed to someone else (by the renewer or by check).
    lost: bool = False
    # The compare-and-set that confirms the lease, callable from the writer's thread (set by
    # Bridge.hold); without it, check trusts the renewer's flag alone.
    confirm: Callable[[], object] | None = field(default=None, repr=False)
    # Renewals and confirmations take turns: each moves the revision the other compares.
    turn: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def check(self) -> None:
        """Call immediately before each write to the resource: LeaseLost unless the lease is
        confirmed, and the writer must then stop."""
        if not self.lost and self.confirm is not None:
            try:
                self.confirm()
            except Exception as exc:  # noqa: BLE001 - unconfirmed is lost, whatever the cause
                self.lost = True
                log.warning("lease not confirmed", resource=self.resource, error=repr(exc))
        if self.lost:
            raise LeaseLost(f"lease on {self.resource} was lost; stopping before writing")


class Leases:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def acquire(self, resource: str, holder: dict) -> Lease:
        lease = await self.take(resource, holder)
        if lease is None:
            raise LeaseBusy(resource, await self.holder(resource) or {})
        return lease

    async def take(self, resource: str, holder: dict) -> Lease | None:
        """The lease if it is free, else None (one request, where ``acquire`` reads the
        holder of a busy one too)."""
        holder = {**holder, "since": datetime.now(UTC).isoformat()}
        try:
            revision = await self.kv.create(resource, json.dumps(holder).encode())
        except KeyWrongLastSequenceError:
            return None
        return Lease(resource, revision, holder)

    async def holder(self, resource: str) -> dict | None:
        try:
            entry = await self.kv.get(resource)
        except KeyNotFoundError:
            return None
        return json.loads(entry.value) if entry.value else None

    async def renew(self, lease: Lease) -> None:
        """Compare-and-set the lease on its revision, which restarts its TTL; LeaseLost if
        the revision moved (the lease expired, and may have been taken)."""
        async with lease.turn:
            try:
                lease.revision = await self.kv.update(
                    lease.resource, json.dumps(lease.holder).encode(), last=lease.revision
                )
            except KeyWrongLastSequenceError:
                raise LeaseLost(f"lease on {lease.resource} expired or was taken") from None

    async def release(self, lease: Lease) -> None:
        async with lease.turn:  # after a renewal in flight, with the revision it gave
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
    log.warning("lease lost", resource=lease.resource, holder=lease.holder)
