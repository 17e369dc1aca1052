"""A history some of whose jobs are archived and trimmed from the stream, in-process on a real
nats-server: what the rebuild, projector and export tests read before and after the trim.

Jobs a, b and c end before the archive's cutoff and are archived (a and b in one file, c in
another: files whose sequence ranges overlap d's); d starts before and ends after; e ends after
the cutoff. So the trimmed stream keeps d and e, with gaps between their events that only the
archive fills.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nats
from nats.aio.client import Client as NATS

from jobstream_contracts.events import (
    ErrorInfo,
    Event,
    JobFailed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.subjects import STREAM
from jobstream_infra.archive import Archive
from jobstream_infra.archiver import Archiver, ArchiveReport
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.journal import JetStreamJournal
from jobstream_infra.nats_users import inbox_prefix
from jobstream_infra.provisioning import ensure_stream


def submitted(job_id: str) -> JobSubmitted:
    return JobSubmitted(job_id=job_id, process_id="echo", inputs={"message": f"é {job_id}"})


def started(job_id: str) -> JobStarted:
    return JobStarted(job_id=job_id, process_id="echo", executor="e1", attempt=1)


def succeeded(job_id: str) -> JobSucceeded:
    return JobSucceeded(job_id=job_id, process_id="echo", attempt=1, results={"echo": 0.1})


def failed(job_id: str) -> JobFailed:
    error = ErrorInfo(type="boom", detail=f"{job_id} failed")
    return JobFailed(job_id=job_id, process_id="echo", attempt=1, error=error)


BEFORE_THEN = [submitted("a"), started("a"), submitted("b"), succeeded("a"), submitted("d")]
BEFORE_CUTOFF = [started("b"), submitted("c"), failed("b"), started("d"), started("c")]
BEFORE_CUTOFF += [succeeded("c")]
AFTER_CUTOFF = [submitted("e"), succeeded("e")]
ARCHIVED_JOBS = ("a", "b", "c")
EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass
class History:
    """The history written: ``then`` an instant between two of its events, ``then_sequence``
    the last one stored at it, ``last_sequence`` the newest."""

    nats_url: str
    nc: NATS
    journal: JetStreamJournal
    archive_url: str
    # The archiver's own connection: only its NATS user may purge.
    archivers: NATS
    then: datetime = EPOCH
    then_sequence: int = 0
    cutoff: datetime = EPOCH
    last_sequence: int = 0

    async def append(self, events: list[Event]) -> int:
        for event in events:
            self.last_sequence = await self.journal.append(event)
        return self.last_sequence

    async def trim(self) -> ArchiveReport:
        """Archive the jobs due at the cutoff (a, b and c), and purge them from the stream."""
        return await Archiver(self.archivers, Archive(self.archive_url), batch=2).run(self.cutoff)

    async def stored_messages(self) -> int:
        return (await self.nc.jetstream().stream_info(STREAM)).state.messages

    async def close(self) -> None:
        await self.archivers.close()
        await self.nc.close()


async def connect_archiver(server: EmbeddedNats) -> NATS:
    """A connection as the archiver's NATS user, the only one that may purge the stream."""
    return await nats.connect(
        server.credentials.url_as("archiver"), inbox_prefix=inbox_prefix("archiver")
    )


async def write_history(server: EmbeddedNats, archive_folder: Path) -> History:
    """The stream holding the history above."""
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await ensure_stream(js)
    journal = JetStreamJournal(nc, js, direct=False)
    archivers = await connect_archiver(server)
    history = History(server.url, nc, journal, str(archive_folder), archivers)
    history.then_sequence = await history.append(BEFORE_THEN)
    history.then = datetime.now(UTC)
    await history.append(BEFORE_CUTOFF)
    history.cutoff = datetime.now(UTC)
    await history.append(AFTER_CUTOFF)
    return history
