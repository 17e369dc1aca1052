"""The archiver on a real nats-server and a real folder: finished jobs' events leave the
stream for the archive, and a job's history reads the same before and after."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from jobstream_contracts.events import (
    DatasetCommitted,
    ErrorInfo,
    Event,
    JobDismissed,
    JobFailed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.subjects import STREAM, event_subject
from jobstream_infra.archive import Archive, ArchiveIndex
from jobstream_infra.archiver import Archiver
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.journal import JetStreamJournal, Recorded, job_messages
from jobstream_infra.journal_with_archive import JournalWithArchive
from jobstream_infra.nats_users import inbox_prefix
from jobstream_infra.provisioning import stream_config

LATER = timedelta(seconds=5)


@dataclasses.dataclass
class Setup:
    """The admin's connection, which writes the jobs' events, and the archiver's."""

    nc: NATS
    js: JetStreamContext
    stream: JetStreamJournal
    folder: str
    archivers: NATS

    def archiver(self, batch: int = 1000) -> Archiver:
        return Archiver(self.archivers, Archive(self.folder), batch)

    def reader(self) -> JournalWithArchive:
        return JournalWithArchive(self.stream, ArchiveIndex(Archive(self.folder)))

    async def messages(self) -> int:
        return (await self.js.stream_info(STREAM)).state.messages


async def _setup(server: EmbeddedNats, folder: str, deny_purge: bool = False) -> Setup:
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await js.add_stream(stream_config(deny_purge=deny_purge))
    archivers = await nats.connect(
        server.credentials.url_as("archiver"), inbox_prefix=inbox_prefix("archiver")
    )
    return Setup(nc, js, JetStreamJournal(nc, js), folder, archivers)


async def _close(setup: Setup) -> None:
    await setup.archivers.close()
    await setup.nc.close()


@pytest.fixture
async def setup(nats_server, tmp_path) -> AsyncIterator[Setup]:
    made = await _setup(nats_server, str(tmp_path / "archive"))
    yield made
    await _close(made)


def _lives(job_id: str, ending: str | None) -> list[Event]:
    events: list[Event] = [
        JobSubmitted(job_id=job_id, process_id="echo", inputs={"message": job_id}),
        JobStarted(job_id=job_id, process_id="echo", attempt=1, executor="e1"),
    ]
    ends: dict[str, Event] = {
        "succeeded": JobSucceeded(job_id=job_id, process_id="echo", attempt=1, results={}),
        "failed": JobFailed(
            job_id=job_id, process_id="echo", error=ErrorInfo(type="E", detail="x")
        ),
        "dismissed": JobDismissed(job_id=job_id, process_id="echo"),
    }
    return events + ([ends[ending]] if ending else [])


async def _run_jobs(setup: Setup, endings: dict[str, str | None]) -> None:
    """The jobs' events, interleaved as concurrent jobs' are."""
    lives = [_lives(job_id, ending) for job_id, ending in endings.items()]
    for step in range(3):
        for life in lives:
            if step < len(life):
                await setup.stream.append(life[step])


async def _histories(journal, job_ids) -> dict[str, list[Recorded]]:
    return {job_id: await journal.read(job_id) for job_id in job_ids}


ENDINGS = {
    "ok-1": "succeeded",
    "ok-2": "succeeded",
    "failed": "failed",
    "dismissed": "dismissed",
    "running": None,
}


async def test_ended_jobs_leave_the_stream_and_read_as_before(setup: Setup):
    await _run_jobs(setup, ENDINGS)
    before = await _histories(setup.stream, ENDINGS)
    stored = await setup.messages()

    report = await setup.archiver(batch=2).run(datetime.now(UTC) + LATER)

    assert (report.files, report.jobs, report.events, report.trimmed) == (2, 4, 12, 12)
    assert await setup.messages() == stored - 12 == 2  # the running job's two
    assert await _histories(setup.reader(), ENDINGS) == before
    assert await setup.stream.read("ok-1") == []


async def test_a_second_run_takes_nothing_twice(setup: Setup):
    await _run_jobs(setup, ENDINGS)
    await setup.archiver().run(datetime.now(UTC) + LATER)
    again = await setup.archiver().run(datetime.now(UTC) + LATER)
    assert (again.files, again.jobs, again.trimmed) == (0, 0, 0)
    assert len(Archive(setup.folder).manifests()) == 1


async def test_jobs_quiet_for_less_than_the_retention_stay(setup: Setup):
    await _run_jobs(setup, ENDINGS)
    report = await setup.archiver().run(datetime.now(UTC) - LATER)
    assert report.jobs == 0
    assert await setup.messages() == 14


async def test_a_run_killed_before_trimming_is_finished_by_the_next_and_a_later_event_stays(
    setup: Setup,
):
    await _run_jobs(setup, {"done": "succeeded"})
    archive = Archive(setup.folder)
    archived = [m async for m in _stored(setup, "done")]
    archive.write(archived)  # what a run killed right after its manifest leaves
    late = JobDismissed(job_id="done", process_id="echo", reason="after the archive")
    await setup.stream.append(late)

    report = await setup.archiver().run(datetime.now(UTC) + LATER)

    assert (report.files, report.trimmed) == (0, 3)
    assert [r.event for r in await setup.stream.read("done")] == [late]
    history = [r.event for r in await setup.reader().read("done")]
    assert history == [*(m.recorded().event for m in archived), late]  # type: ignore[union-attr]


async def test_a_message_that_is_no_event_leaves_with_its_job_byte_for_byte(setup: Setup):
    await _run_jobs(setup, {"done": "succeeded"})
    forged = b'{"type": "JobSucceeded", "not": "an event"}'
    await setup.js.publish(event_subject("echo", "done", "started"), forged, stream=STREAM)
    await setup.stream.append(JobSucceeded(job_id="done", process_id="echo", attempt=1))

    await setup.archiver().run(datetime.now(UTC) + LATER)

    assert await setup.messages() == 0
    (manifest,) = Archive(setup.folder).manifests()
    kept = Archive(setup.folder).messages(manifest)["done"]
    assert [m.data for m in kept if m.data == forged] == [forged]
    assert len(await setup.reader().read("done")) == 4  # the forgery skipped, as the stream did


async def test_a_stream_that_refuses_purges_is_archived_and_left_whole(nats_server, tmp_path):
    setup = await _setup(nats_server, str(tmp_path / "archive"), deny_purge=True)
    try:
        await _run_jobs(setup, ENDINGS)
        report = await setup.archiver().run(datetime.now(UTC) + LATER)
        assert (report.jobs, report.trimmed) == (4, 0)
        assert report.refused_trim is not None and "refuses purges" in report.refused_trim
        assert await setup.messages() == 14
        again = await setup.archiver().run(datetime.now(UTC) + LATER)
        assert (again.files, again.jobs) == (0, 0)
    finally:
        await _close(setup)


async def _stored(setup: Setup, job_id: str):
    async for message in job_messages(setup.js, job_id):
        yield message


def _commit(job_id: str, snapshot: str) -> DatasetCommitted:
    return DatasetCommitted(
        job_id=job_id,
        process_id="ingest",
        dataset_id="era5",
        store="era5",
        snapshot_id=snapshot,
        first="2020-01-01",
        last="2020-01-01",
        count=1,
        coverage=[("2020-01-01", "2020-01-01")],
        stored=1,
        process_version="1",
    )


async def test_the_job_whose_commit_is_the_datasets_newest_stays(setup: Setup):
    for job_id, snapshot in (("first", "S1"), ("second", "S2")):
        await setup.stream.append(
            JobSubmitted(job_id=job_id, process_id="ingest", inputs={"dataset": "era5"})
        )
        await setup.stream.append(_commit(job_id, snapshot))
        await setup.stream.append(JobSucceeded(job_id=job_id, process_id="ingest", attempt=1))

    report = await setup.archiver().run(datetime.now(UTC) + LATER)

    assert report.jobs == 1
    assert await setup.stream.read("first") == []
    assert len(await setup.stream.read("second")) == 3


class CountedArchive(Archive):
    """The archive, counting how often it is listed."""

    listings = 0

    def names(self, suffix: str) -> list[str]:
        self.listings += 1
        return super().names(suffix)


async def test_a_job_trimmed_a_moment_before_a_read_is_found(setup: Setup):
    await _run_jobs(setup, ENDINGS)
    before = await _histories(setup.stream, ENDINGS)
    reader = setup.reader()
    assert await reader.read("unknown") == []  # the reader has listed the archive once
    await setup.archiver().run(datetime.now(UTC) + LATER)
    assert await reader.read("ok-1") == before["ok-1"]


async def test_reads_that_miss_together_share_one_listing(setup: Setup):
    archive = CountedArchive(setup.folder)
    reader = JournalWithArchive(setup.stream, ArchiveIndex(archive))
    answers = await asyncio.gather(*(reader.read(f"nobody-{n}") for n in range(20)))
    assert answers == [[]] * 20
    assert archive.listings <= 2
