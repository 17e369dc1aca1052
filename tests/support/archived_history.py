"""A history some of whose jobs are archived and trimmed from the stream, in-process on a real
nats-server: what the rebuild, projector and export tests read before and after the trim.

Jobs a, b and c end before the archive's cutoff and are archived (a and b in one file, c in
another: files whose sequence ranges overlap d's); d starts before and ends after; e ends after
the cutoff. So the trimmed stream keeps d and e, with gaps between their events that only the
archive fills.
"""

import dataclasses
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
from jobstream_infra.journal import JetStreamJournal
from jobstream_infra.provisioning import stream_config


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
        return await Archiver(self.nc, Archive(self.archive_url), batch=2).run(self.cutoff)

    async def stored_messages(self) -> int:
        return (await self.nc.jetstream().stream_info(STREAM)).state.messages


async def write_history(url: str, archive_folder: Path) -> History:
    """The stream, created purgeable (as the archiver needs), holding the history above."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(dataclasses.replace(stream_config(), deny_purge=False))
    history = History(url, nc, JetStreamJournal(nc, js, direct=False), str(archive_folder))
    history.then_sequence = await history.append(BEFORE_THEN)
    history.then = datetime.now(UTC)
    await history.append(BEFORE_CUTOFF)
    history.cutoff = datetime.now(UTC)
    await history.append(AFTER_CUTOFF)
    return history
