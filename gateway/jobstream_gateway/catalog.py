"""What executors have announced (processes, dataset templates), kept current by watching
their registry buckets."""

import asyncio
import json
from typing import Any

import structlog
from nats.js.kv import KeyValue

from jobstream_contracts.ogc import ProcessDescription

log = structlog.get_logger(__name__)


class Registry:
    """The documents of one KV bucket, parsed, as of the latest update."""

    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}
        self.loaded = asyncio.Event()
        self._task: asyncio.Task | None = None

    def parse(self, value: bytes) -> Any:
        return json.loads(value)

    def get(self, key: str) -> Any | None:
        return self.entries.get(key)

    def sorted(self) -> list[Any]:
        return [self.entries[key] for key in sorted(self.entries)]

    async def start(self, kv: KeyValue) -> None:
        watcher = await kv.watchall()
        self._task = asyncio.create_task(self._follow(watcher))
        try:
            await asyncio.wait_for(self.loaded.wait(), 10)
        except asyncio.TimeoutError:
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
                self.entries[entry.key] = self.parse(entry.value)
            except ValueError as exc:
                log.error("ignored an unreadable registry entry", key=entry.key, error=str(exc))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class ProcessCatalog(Registry):
    def parse(self, value: bytes) -> ProcessDescription:
        return ProcessDescription.model_validate_json(value)

    @property
    def processes(self) -> dict[str, ProcessDescription]:
        return self.entries
