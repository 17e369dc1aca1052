"""What executors have announced (processes, dataset templates) and the API keys, kept current
by watching their buckets.

A watch is supervised: one that ends or fails is started again, and so is one that stalls
(the bucket holds updates it has not delivered, and it delivered nothing since the last check),
since a silent watch of the key bucket would keep revoked keys working on this gateway.
"""

import asyncio
import contextlib
from typing import Generic, TypeVar

import structlog
from nats.js.kv import KeyValue
from pydantic import BaseModel

from jobstream_contracts.messages import DatasetAnnouncement
from jobstream_contracts.ogc import ProcessDescription
from jobstream_infra.metrics import REGISTRY_LAG, REGISTRY_WATCH_RESTARTS

log = structlog.get_logger(__name__)

# Seconds between checks that a watch keeps up with its bucket.
CHECK_INTERVAL = 5.0
# Seconds before a lost watch is started again: a server restarting is not hammered.
RESTART_PAUSE = 1.0


Document = TypeVar("Document", bound=BaseModel)


class Registry(Generic[Document]):
    """The documents of one KV bucket, parsed into their model, as of the latest update."""

    def __init__(self, model: type[Document]) -> None:
        self.model = model
        self.entries: dict[str, Document] = {}
        self.loaded = asyncio.Event()
        self._task: asyncio.Task | None = None
        # The bucket's sequence of the newest update applied.
        self._seen = 0
        self.check_interval = CHECK_INTERVAL

    def get(self, key: str) -> Document | None:
        return self.entries.get(key)

    def sorted(self) -> list[Document]:
        return [self.entries[key] for key in sorted(self.entries)]

    async def start(self, kv: KeyValue) -> None:
        self._task = asyncio.create_task(self._watch(kv))
        try:
            await asyncio.wait_for(self.loaded.wait(), 10)
        except TimeoutError:
            log.warning("registry not loaded yet; serving what arrives", bucket=kv._name)

    async def _watch(self, kv: KeyValue) -> None:
        """Follow the bucket for good, starting the watch again whenever it is lost."""
        while True:
            try:
                reason = await self._follow_while_alive(kv)
            except Exception as exc:  # noqa: BLE001 - a lost watch must never end the gateway's
                reason = repr(exc)
            REGISTRY_WATCH_RESTARTS.labels(kv._name).inc()
            log.warning("registry watch lost; watching again", bucket=kv._name, reason=reason)
            await asyncio.sleep(RESTART_PAUSE)

    async def _follow_while_alive(self, kv: KeyValue) -> str:
        """Follow one watch until it ends or stalls; why it was given up."""
        watcher = await kv.watchall()
        following = asyncio.create_task(self._follow(watcher))
        try:
            seen_at_last_check = -1
            while not following.done():
                await asyncio.wait({following}, timeout=self.check_interval)
                try:
                    stored = (await kv.status()).stream_info.state.last_seq
                except Exception:  # noqa: BLE001 - NATS away: the watch resumes on its own
                    continue
                lag = max(0, stored - self._seen)
                REGISTRY_LAG.labels(kv._name).set(lag)
                if lag and self._seen == seen_at_last_check:
                    return f"stalled {lag} updates behind the bucket"
                seen_at_last_check = self._seen
            following.result()
            return "the watch ended"
        finally:
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
            with contextlib.suppress(Exception):
                await watcher.stop()

    async def _follow(self, watcher) -> None:
        # A new watch first delivers the bucket's current values: they replace what an earlier
        # watch left (a key purged meanwhile is gone), all at once at the end-of-values marker.
        fresh: dict[str, Document] | None = {}
        async for entry in watcher:
            if entry is None:
                if fresh is not None:
                    self.entries, fresh = fresh, None
                self.loaded.set()
                continue
            self._seen = max(self._seen, entry.revision or 0)
            self._apply(entry, self.entries if fresh is None else fresh)

    def _apply(self, entry, entries: dict[str, Document]) -> None:
        if entry.operation in ("DEL", "PURGE") or not entry.value:
            entries.pop(entry.key, None)
            return
        try:
            entries[entry.key] = self.model.model_validate_json(entry.value)
        except ValueError as exc:
            log.error("ignored an unreadable registry entry", key=entry.key, error=str(exc))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class ProcessCatalog(Registry[ProcessDescription]):
    def __init__(self) -> None:
        super().__init__(ProcessDescription)

    @property
    def processes(self) -> dict[str, ProcessDescription]:
        return self.entries


class DatasetCatalog(Registry[DatasetAnnouncement]):
    def __init__(self) -> None:
        super().__init__(DatasetAnnouncement)
