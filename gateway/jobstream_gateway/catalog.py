"""What executors have announced (processes, dataset templates), kept current by watching
their registry buckets."""

import asyncio
from typing import Generic, TypeVar

import structlog
from nats.js.kv import KeyValue
from pydantic import BaseModel

from jobstream_contracts.messages import DatasetAnnouncement
from jobstream_contracts.ogc import ProcessDescription

log = structlog.get_logger(__name__)


Document = TypeVar("Document", bound=BaseModel)


class Registry(Generic[Document]):
    """The documents of one KV bucket, parsed into their model, as of the latest update."""

    def __init__(self, model: type[Document]) -> None:
        self.model = model
        self.entries: dict[str, Document] = {}
        self.loaded = asyncio.Event()
        self._task: asyncio.Task | None = None

    def get(self, key: str) -> Document | None:
        return self.entries.get(key)

    def sorted(self) -> list[Document]:
        return [self.entries[key] for key in sorted(self.entries)]

    async def start(self, kv: KeyValue) -> None:
        watcher = await kv.watchall()
        self._task = asyncio.create_task(self._follow(watcher))
        try:
            await asyncio.wait_for(self.loaded.wait(), 10)
        except TimeoutError:
            log.warning("registry not loaded yet; serving what arrives", bucket=kv._name)

    async def _follow(self, watcher) -> None:
        async for entry in watcher:
            if entry is None:  # end of the initial values
                self.loaded.set()
                continue
            if entry.operation in ("DEL", "PURGE") or not entry.value:
                self.entries.pop(entry.key, None)
                continue
            try:
                self.entries[entry.key] = self.model.model_validate_json(entry.value)
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
