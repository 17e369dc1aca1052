"""One active projector per view: the holder of the view's lease writes, the others stand by.

Decisions:
- The lease is a key in its own KV bucket (PROJECTOR_LEASE_BUCKET), named after the view: a
  digest of its database URL without the password, so that projectors of different views
  on one NATS never wait on each other, and projectors of one view always do.
- A standby polls the key every third of the TTL; the entry expires a TTL after the dead
  holder's last confirmation, so the takeover comes within about 1.3 TTL.
- The active projector renews every third of the TTL and confirms the lease inside each
  batch's transaction, after locking the checkpoint row (the view's fence, see
  view/writes.py): a projector stopped past its TTL finds the lease gone when it resumes and
  writes nothing more. The checkpoint compare catches what slips between confirmation and
  commit, so no event is applied twice either way.
"""

import asyncio
import hashlib
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import structlog
from nats.js import JetStreamContext
from sqlalchemy import Engine

from jobstream_contracts.subjects import PROJECTOR_LEASE_BUCKET, projector_lease_key
from jobstream_infra.connection import stopped_within
from jobstream_infra.leases import Lease, LeaseBusy, Leases, renew_until_released
from jobstream_infra.provisioning import ensure_lease_bucket

log = structlog.get_logger(__name__)

# Seconds a stopping projector tries to hand its lease over: with NATS down it gives up, and
# the standby waits out the TTL instead.
RELEASE_WAIT = 1.0


def view_lease_key(engine: Engine) -> str:
    """The lease key of the view ``engine`` writes to."""
    url = engine.url.render_as_string(hide_password=True)
    return projector_lease_key(hashlib.sha256(url.encode()).hexdigest()[:16])


class ViewLease:
    """The projector's side of its view's lease: wait for it, hold it, confirm it."""

    def __init__(self, js: JetStreamContext, key: str, ttl: float) -> None:
        self.js = js
        self.key = key
        self.ttl = ttl
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.leases: Leases | None = None

    async def wait(self, stop: asyncio.Event) -> Lease | None:
        """The lease, once no one else holds it; None once ``stop`` is set."""
        waiting = False
        while True:
            try:
                return await self._acquire()
            except LeaseBusy as busy:
                if not waiting:
                    log.info("projector standing by", key=self.key, holder=busy.holder)
                waiting = True
            except Exception as exc:  # noqa: BLE001 - NATS may be down; keep standing by
                log.warning("cannot reach the projector lease", key=self.key, error=repr(exc))
            if await stopped_within(stop, self.ttl / 3):
                return None

    async def _acquire(self) -> Lease:
        if self.leases is None:
            bucket = await ensure_lease_bucket(self.js, self.ttl, PROJECTOR_LEASE_BUCKET)
            self.leases = Leases(bucket)
        lease = await self.leases.acquire(self.key, {"name": self.name})
        lease.confirm = self._confirmer(lease, asyncio.get_running_loop())
        return lease

    def _confirmer(self, lease: Lease, loop: asyncio.AbstractEventLoop):
        leases = self.leases
        assert leases is not None

        def confirm() -> None:
            # From the writer's thread. Answered within a third of the TTL, or unconfirmed:
            # two thirds of it then remain for the commit that follows.
            asyncio.run_coroutine_threadsafe(leases.renew(lease), loop).result(self.ttl / 3)

        return confirm

    @asynccontextmanager
    async def held(self, lease: Lease) -> AsyncIterator[Lease]:
        """Renew ``lease`` while the block runs; release it after, unless it was lost."""
        assert self.leases is not None
        released = asyncio.Event()
        renewer = asyncio.create_task(renew_until_released(self.leases, lease, released, self.ttl))
        try:
            yield lease
        finally:
            released.set()
            renewer.cancel()
            with suppress(asyncio.CancelledError):
                await renewer
            if not lease.lost:
                # A clean stop hands the view over now rather than a TTL later.
                with suppress(Exception):
                    await asyncio.wait_for(self.leases.release(lease), RELEASE_WAIT)
