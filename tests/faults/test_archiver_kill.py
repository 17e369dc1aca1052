"""`jobstream archive` SIGKILLed mid-run, between writing an archive file and trimming its jobs
(issue #28): a real archiver process on a real nats-server, killed the moment its first manifest
is on disk, or the moment its first purge has removed a job from the stream. Right after the
kill every job reads as written, each event once; the next run finishes the work and leaves
each job in exactly one file and none in the stream.

The second moment is the one that catches a wrong order: at the first purge, the file must be
listed (jobs purged before their manifest are lost) and not yet marked trimmed (the next run
would leave the rest of its jobs in the stream). The server is frozen as soon as the purge is
seen, so the kill finds the archiver within a purge or two of its first.
"""

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS

from jobstream_contracts.subjects import STREAM
from jobstream_infra.archive import Archive, ArchiveIndex
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.journal import JetStreamJournal, Recorded
from jobstream_infra.journal_with_archive import JournalWithArchive
from jobstream_infra.provisioning import ensure_stream

from ..support.archived_history import started, submitted, succeeded
from ..support.waiting import eventually, eventually_async

# Each job's events, in order.
LIFE = (submitted, started, succeeded)
# Four files a run: the kill at the first manifest leaves three batches unwritten.
JOBS = 200
BATCH = 50
# Any job that ended before the process started is due.
RETENTION = "0.001"
# Starting Python and archiving every job, on a loaded machine.
RUN_LIMIT = 60
# How often the folder or the stream is looked at: the kill follows what is seen at once.
LOOK_EVERY = 0.002


@dataclass
class Written:
    """The jobs' events as the admin wrote them, and each job's history as then read."""

    nc: NATS
    stream: JetStreamJournal
    histories: dict[str, list[Recorded]]

    def reader(self, folder: Path) -> JournalWithArchive:
        return JournalWithArchive(self.stream, ArchiveIndex(Archive(str(folder))))

    async def stored_messages(self) -> int:
        return (await self.nc.jetstream().stream_info(STREAM)).state.messages


@pytest.fixture
async def written(nats_server: EmbeddedNats) -> AsyncIterator[Written]:
    """JOBS finished jobs, their events interleaved as concurrent jobs' are."""
    nc = await nats.connect(nats_server.url)
    await ensure_stream(nc.jetstream())
    stream = JetStreamJournal(nc, nc.jetstream())
    job_ids = [f"job-{n:04d}" for n in range(JOBS)]
    for step in LIFE:
        for job_id in job_ids:
            await stream.append(step(job_id))
    yield Written(nc, stream, {job_id: await stream.read(job_id) for job_id in job_ids})
    await nc.close()


def _archive_command(server: EmbeddedNats, folder: Path) -> tuple[list[str], dict[str, str]]:
    """`jobstream archive` as the archiver's NATS user, with none of the caller's settings."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOBSTREAM_")}
    settings = {
        "JOBSTREAM_ARCHIVE_URL": str(folder),
        "JOBSTREAM_ARCHIVE_RETENTION": RETENTION,
        "JOBSTREAM_ARCHIVE_BATCH": str(BATCH),
    }
    env = {**environment, **server.credentials.env_for("archive"), **settings}
    return [sys.executable, "-m", "jobstream", "archive"], env


def _start_archiving(server: EmbeddedNats, folder: Path, log: Path) -> subprocess.Popen:
    command, env = _archive_command(server, folder)
    with open(log, "ab") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)


def _manifests(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.manifest.json"))


def _wait_for_a_manifest(process: subprocess.Popen, folder: Path, log: Path) -> None:
    """Until the first manifest is on disk, or the process exited (the caller then finds it
    did not die by the kill)."""
    eventually(
        lambda: bool(_manifests(folder)) or process.poll() is not None,
        RUN_LIMIT,
        lambda: f"the archiver's first manifest; its log:\n{log.read_text(errors='replace')}",
        interval=LOOK_EVERY,
    )


async def _wait_for_a_purge(process: subprocess.Popen, written: Written, log: Path) -> None:
    """Until the stream holds fewer messages than were written, or the process exited."""

    async def purged_or_exited() -> bool:
        return await written.stored_messages() < len(LIFE) * JOBS or process.poll() is not None

    await eventually_async(
        purged_or_exited,
        RUN_LIMIT,
        lambda: f"the archiver's first purge; its log:\n{log.read_text(errors='replace')}",
        interval=LOOK_EVERY,
    )


def _kill(process: subprocess.Popen, folder: Path) -> None:
    process.kill()
    process.wait()
    assert process.returncode == -signal.SIGKILL, (
        f"the run ended ({process.returncode}) before the kill: make it longer (JOBS)"
    )
    assert len(_manifests(folder)) < JOBS // BATCH, "the kill came after the last manifest"


@contextmanager
def _server_stopped(server: EmbeddedNats) -> Iterator[None]:
    """nats-server frozen (SIGSTOP) until the block ends: requests sent meanwhile go unanswered."""
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.process.send_signal(signal.SIGCONT)


async def _assert_each_job_reads_as_written(written: Written, folder: Path) -> None:
    reader = written.reader(folder)
    for job_id, history in written.histories.items():
        read = await reader.read(job_id)
        assert read == history, f"{job_id} reads otherwise than it was written"
        ids = Counter(record.event.event_id for record in read)
        assert max(ids.values()) == 1, f"{job_id} reads an event twice"


def _archive_to_the_end(server: EmbeddedNats, folder: Path) -> str:
    command, env = _archive_command(server, folder)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=RUN_LIMIT)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _assert_all_archived_once_and_trimmed(written: Written, folder: Path) -> None:
    archive = Archive(str(folder))
    manifests = archive.manifests()
    in_files = Counter(job_id for manifest in manifests for job_id in manifest.jobs)
    assert set(in_files) == set(written.histories), "a job is in no archive file"
    assert max(in_files.values()) == 1, "a job is in two archive files"
    assert await written.stored_messages() == 0, "the stream still holds an archived job"
    listed = {manifest.file for manifest in manifests}
    assert set(archive.names(".jsonl.gz")) == listed, "an event file no manifest lists"
    assert all(archive.is_trimmed(manifest) for manifest in manifests)
    await _assert_each_job_reads_as_written(written, folder)


async def _assert_the_next_run_finishes(written: Written, server: EmbeddedNats, folder: Path):
    summary = _archive_to_the_end(server, folder)
    assert summary.startswith("archived ") and "trimmed" in summary, summary
    await _assert_all_archived_once_and_trimmed(written, folder)


async def test_a_run_killed_after_its_first_manifest_loses_nothing_and_repeats_nothing(
    written: Written, nats_server: EmbeddedNats, tmp_path: Path
):
    folder, log = tmp_path / "archive", tmp_path / "archive.log"
    process = _start_archiving(nats_server, folder, log)
    _wait_for_a_manifest(process, folder, log)
    _kill(process, folder)

    assert await written.stored_messages() > 0  # jobs not yet archived, or not yet trimmed
    await _assert_each_job_reads_as_written(written, folder)
    await _assert_the_next_run_finishes(written, nats_server, folder)


async def test_a_run_killed_while_it_trims_loses_nothing_and_repeats_nothing(
    written: Written, nats_server: EmbeddedNats, tmp_path: Path
):
    folder, log = tmp_path / "archive", tmp_path / "archive.log"
    process = _start_archiving(nats_server, folder, log)
    await _wait_for_a_purge(process, written, log)
    # Frozen, the server answers no further purge: the archiver dies waiting on one, and the
    # server may still apply it, from a dead client, once it runs again.
    with _server_stopped(nats_server):
        _kill(process, folder)

    await _assert_each_job_reads_as_written(written, folder)
    await _assert_the_next_run_finishes(written, nats_server, folder)
