"""What archiving and trimming finished jobs saves, and what reading an archived job costs.

``--jobs`` finished jobs (submitted, started, one progress report, succeeded) in a stream of
their own, then ``--live`` more recorded after the archiver's cutoff; one archiver run moves
the first ones to an archive folder (files of ``--batch`` jobs) and trims them. Reported: the
stream's messages and bytes before and after, the archive's bytes, how long the run took, and
the time of reading one job's whole history through the gateway's journal (the stream's, with
the archive) for ``--reads`` jobs of each kind:

- live: a job still in the stream (the stream alone answers it);
- archived: a job trimmed from the stream, read by a reader that has listed the archive (its
  own bytes of its file read, checked against their checksum and parsed);
- archived, a new reader's first: the same, by a reader that lists the archive first.

    .venv/bin/python -m bench.archive [--jobs 3000] [--live 200] [--batch 10000] [--reads 200]
"""

import argparse
import asyncio
import dataclasses
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import nats
from nats.js import JetStreamContext

from jobstream_contracts.events import Event, JobProgressed, JobStarted, JobSubmitted, JobSucceeded
from jobstream_contracts.subjects import STREAM
from jobstream_infra.archive import Archive, ArchiveIndex
from jobstream_infra.archiver import Archiver
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.journal import JetStreamJournal, publish_event
from jobstream_infra.journal_with_archive import JournalWithArchive
from jobstream_infra.nats_users import inbox_prefix
from jobstream_infra.provisioning import ensure_stream
from jobstream_infra.settings import ArchiveSettings

from .stats import percentile

# Publishes awaited at once: enough to fill the server, few enough not to time out.
IN_FLIGHT = 200


def finished_job(job_id: str) -> list[Event]:
    """A small job's history, as an executor records an echo with one progress report."""
    inputs = {"message": "archived " * 8}
    return [
        JobSubmitted(job_id=job_id, process_id="echo", process_version="1.0.0", inputs=inputs),
        JobStarted(job_id=job_id, process_id="echo", executor="bench", attempt=1),
        JobProgressed(job_id=job_id, process_id="echo", attempt=1, done=1, total=1),
        JobSucceeded(job_id=job_id, process_id="echo", attempt=1, results={"echo": inputs}),
    ]


async def record(js: JetStreamContext, job_ids: list[str]) -> None:
    """Each job's events, jobs published side by side, a job's events in order."""

    async def one(job_id: str) -> None:
        for event in finished_job(job_id):
            await publish_event(js, event)

    for start in range(0, len(job_ids), IN_FLIGHT):
        await asyncio.gather(*(one(job_id) for job_id in job_ids[start : start + IN_FLIGHT]))


async def stream_state(js: JetStreamContext) -> tuple[int, int]:
    state = (await js.stream_info(STREAM)).state
    return state.messages, state.bytes


async def timed(read: Callable[[], Awaitable[list]]) -> float:
    began = time.perf_counter()
    records = await read()
    elapsed = time.perf_counter() - began
    assert len(records) == 4, f"a history of {len(records)} events"
    return elapsed


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.iterdir())


@dataclasses.dataclass
class Figures:
    jobs: int
    files: int
    before: tuple[int, int]
    after: tuple[int, int]
    archive_bytes: int
    run_seconds: float
    reads: dict[str, list[float]]

    def print(self) -> None:
        (m0, b0), (m1, b1) = self.before, self.after
        print(f"archived {self.jobs} jobs into {self.files} files in {self.run_seconds:.2f} s")
        print(f"stream before: {m0} messages, {b0:,} bytes")
        print(f"stream after:  {m1} messages, {b1:,} bytes ({100 * (b0 - b1) / b0:.0f}% less)")
        print(f"archive: {self.archive_bytes:,} bytes (files, manifests and marks)")
        for kind, seconds in self.reads.items():
            median, p99 = statistics.median(seconds), percentile(seconds, 99)
            print(
                f"read one history, {kind}: median {median * 1000:.2f} ms, "
                f"p99 {p99 * 1000:.2f} ms ({len(seconds)} reads)"
            )


async def measure(work: Path, jobs: int, live: int, batch: int, reads: int) -> Figures:
    with EmbeddedNats(work / "nats") as server:
        nc = await nats.connect(server.url)
        try:
            js = nc.jetstream()
            await ensure_stream(js)
            archived_ids = [f"old-{n}" for n in range(jobs)]
            live_ids = [f"new-{n}" for n in range(live)]
            await record(js, archived_ids)
            cutoff = datetime.now(UTC)
            await record(js, live_ids)
            before = await stream_state(js)
            folder = work / "archive"
            began = time.perf_counter()
            archivers = await nats.connect(
                server.credentials.url_as("archiver"), inbox_prefix=inbox_prefix("archiver")
            )
            try:
                report = await Archiver(archivers, Archive(str(folder)), batch).run(cutoff)
            finally:
                await archivers.close()
            run_seconds = time.perf_counter() - began
            assert report.jobs == jobs and report.refused_trim is None, report.summary()
            after = await stream_state(js)
            stream = JetStreamJournal(nc, js)
            timings = await read_timings(stream, folder, archived_ids, live_ids, reads)
            return Figures(
                jobs, report.files, before, after, folder_bytes(folder), run_seconds, timings
            )
        finally:
            await nc.close()


# First reads measured: each lists the archive for a reader of its own.
FIRST_READS = 20


def with_archive(stream: JetStreamJournal, folder: Path) -> JournalWithArchive:
    """The journal a gateway reads through (services.journal_of)."""
    return JournalWithArchive(stream, ArchiveIndex(Archive(str(folder))))


async def read_timings(
    stream: JetStreamJournal, folder: Path, archived: list[str], live: list[str], reads: int
) -> dict[str, list[float]]:
    journal = with_archive(stream, folder)
    await journal.read(archived[0])  # lists the archive once
    chosen = random.Random(7)
    return {
        "live": [await timed(lambda j=j: journal.read(j)) for j in chosen.choices(live, k=reads)],
        "archived (archive listed)": [
            await timed(lambda j=j: journal.read(j)) for j in chosen.choices(archived, k=reads)
        ],
        "archived, a new reader's first (lists the archive)": [
            await timed(lambda j=j: with_archive(stream, folder).read(j))
            for j in chosen.choices(archived, k=FIRST_READS)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--live", type=int, default=200)
    parser.add_argument("--batch", type=int, default=ArchiveSettings().archive_batch)
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobstream-archive-") as work:
        figures = asyncio.run(measure(Path(work), args.jobs, args.live, args.batch, args.reads))
    figures.print()


if __name__ == "__main__":
    main()
