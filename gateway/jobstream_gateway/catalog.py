"""The processes executors have announced, kept current by watching the registry bucket."""

import asyncio

import structlog
from nats.js.kv import KeyValue

from jobstream_contracts.ogc import ProcessDescription

log = structlog.get_logger(__name__)


class ProcessCatalog:
    def __init__(self) -> None:
        self.processes: dict[str, ProcessDescription] = {}
        self.loaded = asyncio.Event()
        self._task: asyncio.Task | None = None

    def get(self, process_id: str) -> ProcessDescription | None:
        return self.processes.get(process_id)

    def sorted(self) -> list[ProcessDescription]:
        return [self.processes[key] for key in sorted(self.processes)]

    async def start(self, kv: KeyValue) -> None:
        watcher = await kv.watchall()
        self._task = asyncio.create_task(self._follow(watcher))
        try:
            await asyncio.wait_for(self.loaded.wait(), 10)
        except asyncio.TimeoutError:
            log.warning("process registry not loaded yet; serving what arrives")

    async def _follow(self, watcher) -> None:
        async for entry in watcher:
            if entry is None:  # end of the initial values
                self.loaded.set()
                continue
            if entry.operation in ("DEL", "PURGE") or not entry.value:
                self.processes.pop(entry.key, None)
                continue
            try:
                self.processes[entry.key] = ProcessDescription.model_validate_json(entry.value)
            except ValueError as exc:
                log.error("ignored an unreadable process description", key=entry.key, error=str(exc))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
