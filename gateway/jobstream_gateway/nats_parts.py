"""The gateway's NATS-only parts, beside the journal: each one a context may go without.

An in-process gateway over an in-memory journal has no executors to ask for estimates, no
object store of quick-looks and no connection to report; one over a real nats-server can
be given any of them.
"""

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.object_store import ObjectStore

from jobstream_contracts.subjects import QUICKLOOK_BUCKET, estimate_cancel_subject


class Executors:
    """The executors of every process, asked by core-NATS request/reply."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc

    async def ask(self, subject: str, payload: bytes, timeout: float) -> bytes:
        """An executor's reply; NoRespondersError when none listens, TimeoutError late."""
        return (await self.nc.request(subject, payload, timeout=timeout)).data

    async def cancel(self, request_id: str) -> None:
        """Tell the executor answering ``request_id`` that nobody waits for it any more."""
        await self.nc.publish(estimate_cancel_subject(request_id))


class QuickLooks:
    """The object store data jobs put their quick-looks in."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def store(self) -> ObjectStore:
        """The store; NotFoundError until a data job has created it."""
        return await self.js.object_store(QUICKLOOK_BUCKET)


class Connection:
    """The gateway's NATS connection, as /ready reports it."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc

    @property
    def connected(self) -> bool:
        return self.nc.is_connected
