"""What every part of an executor shares once it is connected."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from jobstream_contracts.concurrency import SlotKey, needed_slots
from jobstream_contracts.events import Event
from jobstream_contracts.process import PermanentError, Process
from jobstream_infra.journal import Journal
from jobstream_infra.leases import Leases
from jobstream_infra.settings import ExecutorSettings

from .capacity import Capacity
from .running import RunningJob
from .slots import Slots

# Room kept free in a NATS message for the headers around an event.
HEADER_ROOM = 4096


@dataclass
class Runtime:
    settings: ExecutorSettings
    name: str
    journal: Journal
    # The largest message the NATS server takes (its max_payload), headers included.
    max_payload: int
    leases: Leases
    # Blocking process functions run here, one thread per slot (asyncio's default pool has
    # min(32, cores + 4) threads, which would cap a larger concurrency).
    pool: ThreadPoolExecutor
    # The jobs running in this executor, by job id: where a dismissal finds its job.
    running: dict[str, RunningJob]
    # The executor's slots; a job waiting for a concurrency key lends its own back.
    capacity: Capacity = field(default_factory=lambda: Capacity(1))
    # The version of each process this executor serves, by id: what its jobs and the jobs
    # they submit record.
    versions: dict[str, str] = field(default_factory=dict)

    @cached_property
    def slots(self) -> Slots:
        return Slots(self.leases, self.settings.lease_ttl)

    def slots_needed(self, process: Process, inputs: dict[str, Any]) -> list[SlotKey]:
        """The concurrency slots a job of ``process`` with ``inputs`` must hold to run."""
        limits = process.description.concurrency
        if not limits:
            return []
        values = {**inputs, **process.labels_of(inputs)}
        return needed_slots(limits, values, self.settings.concurrency)

    def check_fits(self, event: Event) -> None:
        """An event must be storable: a PermanentError here, not a failed publish later."""
        room = self.max_payload - HEADER_ROOM
        size = len(event.encode())
        if size > room:
            raise PermanentError(
                f"results are {size} bytes; events carry at most {room} "
                "(store large results and return a reference)"
            )
