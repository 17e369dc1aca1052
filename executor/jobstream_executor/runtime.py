"""What every part of an executor shares once it is connected."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from jobstream_contracts.events import Event
from jobstream_contracts.process import PermanentError
from jobstream_infra.journal import is_dismissed, read_job_history
from jobstream_infra.leases import Leases
from jobstream_infra.settings import ExecutorSettings

from .running import RunningJob

# Room kept free in a NATS message for the headers around an event.
HEADER_ROOM = 4096


@dataclass
class Runtime:
    settings: ExecutorSettings
    name: str
    nc: NATS
    js: JetStreamContext
    leases: Leases
    # Blocking process functions run here, one thread per slot (asyncio's default pool has
    # min(32, cores + 4) threads, which would cap a larger concurrency).
    pool: ThreadPoolExecutor
    # The jobs running in this executor, by job id: where a dismissal finds its job.
    running: dict[str, RunningJob]
    # Direct gets only where every replica holds every acknowledged write (journal.py).
    direct_reads: bool = True

    def check_fits(self, event: Event) -> None:
        """An event must be storable: a PermanentError here, not a failed publish later."""
        room = self.nc.max_payload - HEADER_ROOM
        size = len(event.encode())
        if size > room:
            raise PermanentError(
                f"results are {size} bytes; events carry at most {room} "
                "(store large results and return a reference)"
            )

    async def history(self, job_id: str, after: int) -> list[tuple[int, Event]]:
        return await read_job_history(self.js, job_id, after, self.direct_reads)

    async def is_dismissed(self, process_id: str, job_id: str) -> bool:
        return await is_dismissed(self.js, process_id, job_id, self.direct_reads)
