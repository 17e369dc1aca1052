"""Jobs archived and trimmed from the stream read as they did before: every answer an auditor
gets of a job is the same after the archiver moved its events out of the stream.

The stream here is this test's own (trims must not reach other tests' jobs), and the gateway's
journal is the one services.py builds: the stream's, with the archive.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS

from jobstream_contracts.access import Role
from jobstream_contracts.events import (
    CallbackDelivered,
    DatasetCommitted,
    ErrorInfo,
    JobFailed,
    JobProgressed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
    SnapshotRef,
)
from jobstream_contracts.subjects import STREAM
from jobstream_gateway.identity import Identity
from jobstream_gateway.services import journal_of
from jobstream_infra.archive import CACHED_FILES, Archive
from jobstream_infra.archiver import Archiver
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.journal import JetStreamJournal
from jobstream_infra.journal_with_archive import JournalWithArchive
from jobstream_infra.provisioning import ensure_stream

from ..support.archived_history import connect_archiver
from ..support.inprocess import Gateway, keyed_identity, open_stream, serving, view_engine
from ..support.stack import TEST_PROCESSES

HTML = {"Accept": "text/html"}
SSE = {"Accept": "text/event-stream"}
# The data processes too: a rerun needs resample served at the version its job ran.
MODULES = [*TEST_PROCESSES, "jobstream_datasets.processes"]
# A dataset resample may read: one of the test templates' sources.
SOURCE = "synthetic-daily"


@dataclass
class Connections:
    """The admin's connection to a server of this test's own, and the archiver's."""

    nc: NATS
    archivers: NATS


@pytest.fixture
async def purgeable(tmp_path) -> AsyncIterator[Connections]:
    with EmbeddedNats(tmp_path / "nats") as server:
        nc = await nats.connect(server.url)
        await ensure_stream(nc.jetstream())
        archivers = await connect_archiver(server)
        yield Connections(nc, archivers)
        await archivers.close()
        await nc.close()


@dataclass
class Archiving:
    """A gateway on a purgeable stream with the archive, and what a test looks at beside."""

    gateway: Gateway
    nc: NATS
    stream: JetStreamJournal
    journal: JournalWithArchive
    archivers: NATS

    async def stored_messages(self) -> int:
        return (await self.nc.jetstream().stream_info(STREAM)).state.messages

    async def archive_finished_jobs(self, batch: int = 3) -> None:
        """One run of the archiver with a retention of nothing: every finished job is due."""
        archive = Archive(self.gateway.ctx.settings.archive_location)
        report = await Archiver(self.archivers, archive, batch).run(datetime.now(UTC))
        assert report.refused_trim is None and report.trimmed > 0, report

    def archived_jobs(self) -> set[str]:
        archive = Archive(self.gateway.ctx.settings.archive_location)
        return {job_id for manifest in archive.manifests() for job_id in manifest.jobs}

    @asynccontextmanager
    async def without_a_view(self, folder: Path) -> AsyncIterator[Gateway]:
        """A second gateway on the same journal whose view holds no job."""
        settings = self.gateway.ctx.settings
        async with serving(settings, self.journal, view_engine(folder), modules=MODULES) as bare:
            yield bare

    @asynccontextmanager
    async def with_keys(self, identity: Identity) -> AsyncIterator[Gateway]:
        """A second gateway on the same journal and view that knows callers by their keys."""
        settings = self.gateway.ctx.settings.model_copy(update={"auth": "apikey"})
        engine = self.gateway.engine
        async with serving(settings, self.journal, engine, identity, modules=MODULES) as keyed:
            yield keyed


@pytest.fixture
async def archiving(settings, purgeable: Connections, tmp_path) -> AsyncIterator[Archiving]:
    nc = purgeable.nc
    stream = JetStreamJournal(nc, nc.jetstream())
    journal = journal_of(settings, stream)
    async with serving(settings, journal, view_engine(tmp_path), modules=MODULES) as gateway:
        yield Archiving(gateway, nc, stream, journal, purgeable.archivers)


async def succeeded_job(gateway: Gateway) -> str:
    job_id = await gateway.submit("count", {"n": 2})
    await gateway.append(
        JobStarted(job_id=job_id, process_id="count", executor="test", attempt=1),
        *(
            JobProgressed(job_id=job_id, process_id="count", attempt=1, done=done, total=2)
            for done in (1, 2)
        ),
        JobSucceeded(job_id=job_id, process_id="count", attempt=1, results={"count": 2}),
    )
    return job_id


async def failed_job(gateway: Gateway) -> str:
    job_id = await gateway.submit("fail", {"message": "no"})
    await gateway.append(
        JobStarted(job_id=job_id, process_id="fail", executor="test", attempt=1),
        JobFailed(
            job_id=job_id,
            process_id="fail",
            attempt=1,
            error=ErrorInfo(type="ValueError", detail="it was asked to fail"),
        ),
    )
    return job_id


async def dismissed_job(gateway: Gateway) -> str:
    job_id = await gateway.submit("echo", {"message": "never mind"})
    assert (await gateway.http.delete(f"/jobs/{job_id}")).status_code == 200
    return job_id


async def called_back_job(gateway: Gateway) -> str:
    """A job whose success the notifier reported to its subscriber: a record after its end."""
    job_id = await gateway.submit("echo", {"message": "tell me"})
    success = JobSucceeded(job_id=job_id, process_id="echo", attempt=1, results={"echo": "x"})
    await gateway.append(
        JobStarted(job_id=job_id, process_id="echo", executor="test", attempt=1),
        success,
        CallbackDelivered(
            job_id=job_id,
            process_id="echo",
            kind="success",
            uri="https://receiver.test/done",
            for_event=success.event_id,
            status_code=204,
            tries=1,
        ),
    )
    return job_id


def commit(job_id: str, snapshot: str, source: str) -> DatasetCommitted:
    return DatasetCommitted(
        job_id=job_id,
        process_id="resample",
        dataset_id="demo-monthly",
        store="memory://demo-monthly",
        snapshot_id=snapshot,
        first="2026-01",
        last="2026-03",
        count=3,
        coverage=[("2026-01", "2026-03")],
        stored=3,
        process_version="1.0.0",
        source=SnapshotRef(dataset_id=SOURCE, snapshot_id=source),
    )


async def resample_job(gateway: Gateway, snapshot: str, source: str) -> str:
    """A resample as its executor records one: what it read, what it committed."""
    job_id = f"resample-{uuid.uuid4().hex[:8]}"
    inputs = {"source_dataset_id": SOURCE, "frequency": "MS", "method": "mean"}
    await gateway.append(
        JobSubmitted(job_id=job_id, process_id="resample", process_version="1.0.0", inputs=inputs),
        JobStarted(job_id=job_id, process_id="resample", executor="test", attempt=1),
        commit(job_id, snapshot, source),
        JobSucceeded(job_id=job_id, process_id="resample", attempt=1),
    )
    return job_id


async def json_of(gateway: Gateway, path: str) -> tuple[int, Any]:
    answer = await gateway.http.get(path)
    return answer.status_code, answer.json()


async def paged_history(gateway: Gateway, job_id: str) -> list[Any]:
    """Every page of the job's events two at a time, following the pages' "next" links."""
    pages, path = [], f"/jobs/{job_id}/events?after=0&limit=2"
    while path:
        status, page = await json_of(gateway, path)
        assert status == 200, page
        pages.append(page)
        following = [link["href"] for link in page["links"] if link["rel"] == "next"]
        path = following[0].removeprefix(str(gateway.http.base_url)) if following else ""
    return pages


def mid_history(pages: list[Any]) -> str:
    """The instant of the job's second event: its status then is neither its first nor its
    last."""
    return [event for page in pages for event in page["events"]][1]["time"]


async def streamed(gateway: Gateway, job_id: str) -> str:
    """The job's server-sent events, history first: a finished job's stream ends."""
    answer = await asyncio.wait_for(gateway.http.get(f"/jobs/{job_id}/events", headers=SSE), 10)
    assert answer.status_code == 200
    return answer.text


async def html_page(gateway: Gateway, job_id: str) -> tuple[int, bool, int]:
    """The job page's status, whether it shows the job's status, and its timeline's rows."""
    answer = await gateway.http.get(f"/jobs/{job_id}", headers=HTML)
    status = (await gateway.http.get(f"/jobs/{job_id}")).json()["status"]
    return answer.status_code, f'data-status="{status}"' in answer.text, answer.text.count("<tr")


async def answers(gateway: Gateway, job_id: str) -> dict[str, Any]:
    """What an auditor reads of the job."""
    pages = await paged_history(gateway, job_id)
    return {
        "pages": pages,
        "events": await json_of(gateway, f"/jobs/{job_id}/events?limit=1000"),
        "stream": await streamed(gateway, job_id),
        "status": await json_of(gateway, f"/jobs/{job_id}"),
        "at": await json_of(gateway, f"/jobs/{job_id}?at={mid_history(pages)}"),
        "prov": await json_of(gateway, f"/jobs/{job_id}/prov"),
        "inputs": await json_of(gateway, f"/jobs/{job_id}/inputs"),
        "definition": await json_of(gateway, f"/jobs/{job_id}/definition"),
        "page": await html_page(gateway, job_id),
    }


async def kinds_of_jobs(gateway: Gateway) -> tuple[dict[str, str], str]:
    """One job of each kind, and the resample whose commit is the dataset's newest (kept in
    the stream while it is)."""
    jobs = {
        "succeeded": await succeeded_job(gateway),
        "failed": await failed_job(gateway),
        "dismissed": await dismissed_job(gateway),
        "called back": await called_back_job(gateway),
        "resample": await resample_job(gateway, "M1", "S1"),
    }
    newest = await resample_job(gateway, "M2", "S2")
    await gateway.project()
    return jobs, newest


async def test_archived_jobs_answer_as_they_did_before_the_trim(archiving, tmp_path):
    gateway = archiving.gateway
    jobs, newest = await kinds_of_jobs(gateway)
    before = {kind: await answers(gateway, job_id) for kind, job_id in jobs.items()}
    listed = await json_of(gateway, "/jobs?limit=100")
    lineage = await json_of(gateway, "/datasets/demo-monthly/prov")
    stored = await archiving.stored_messages()

    await archiving.archive_finished_jobs()

    assert await archiving.stored_messages() < stored
    assert archiving.archived_jobs() == set(jobs.values())
    for kind, job_id in jobs.items():
        assert await archiving.stream.read(job_id) == [], f"the {kind} job is still stored"
        assert await answers(gateway, job_id) == before[kind], f"the {kind} job"
    assert await json_of(gateway, "/jobs?limit=100") == listed
    assert await json_of(gateway, "/datasets/demo-monthly/prov") == lineage
    assert newest in str(lineage)
    async with archiving.without_a_view(tmp_path / "bare") as bare:
        for kind, job_id in jobs.items():
            status = await json_of(bare, f"/jobs/{job_id}")
            assert status == before[kind]["status"], f"the {kind} job, folded from the archive"


async def test_an_archived_data_job_is_rerun(archiving):
    gateway = archiving.gateway
    original = await resample_job(gateway, "M1", "S1")
    await resample_job(gateway, "M2", "S2")
    await gateway.project()
    await archiving.archive_finished_jobs()
    assert archiving.archived_jobs() == {original}

    rerun = await gateway.http.post(f"/jobs/{original}/rerun")

    assert rerun.status_code == 201, rerun.text
    submitted = (await gateway.journal.read(rerun.json()["jobID"], limit=1))[0].event
    assert isinstance(submitted, JobSubmitted)
    assert submitted.rerun_of == original and submitted.pinned_snapshots == {SOURCE: "S1"}


async def test_a_job_dismissed_after_it_was_archived_shows_the_dismissal_last(archiving):
    gateway = archiving.gateway
    job_id = await succeeded_job(gateway)
    await gateway.project()
    history = (await json_of(gateway, f"/jobs/{job_id}/events"))[1]["events"]
    await archiving.archive_finished_jobs()

    dismissed = await gateway.http.delete(f"/jobs/{job_id}")

    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    after = (await json_of(gateway, f"/jobs/{job_id}/events"))[1]["events"]
    assert after[:-1] == history
    assert after[-1]["type"] == "dev.jobstream.JobDismissed"
    assert after[-1]["sequence"] > history[-1]["sequence"]
    await gateway.project()
    assert (await json_of(gateway, f"/jobs/{job_id}"))[1]["status"] == "dismissed"


async def replayed(gateway: Gateway, key: dict[str, str], count: int) -> list[Any]:
    """The first ``count`` events of the caller's stream of their own jobs, from the start."""
    async with open_stream(gateway.app, "/events?after=0", key) as stream:
        return [(f.id, f.event, f.data) for f in await asyncio.wait_for(stream.first(count), 10)]


async def test_a_callers_replay_of_their_own_jobs_reads_the_archive(archiving):
    identity, keys = keyed_identity({"alice": Role.SUBMITTER, "bob": Role.SUBMITTER})
    alice, bob = ({"Authorization": f"Bearer {keys[name]}"} for name in ("alice", "bob"))
    async with archiving.with_keys(identity) as gateway:
        for key in (bob, alice, bob):
            await gateway.run(await gateway.submit("echo", {"message": "m"}, **key))
        await gateway.project()
        before = await replayed(gateway, alice, 3)
        await archiving.archive_finished_jobs()

        assert await replayed(gateway, alice, 3) == before
    assert [event for _, event, _ in before] == [
        "dev.jobstream.JobSubmitted",
        "dev.jobstream.JobStarted",
        "dev.jobstream.JobSucceeded",
    ]


async def test_the_status_of_an_archived_job_the_view_holds_opens_no_archive_file(archiving):
    gateway = archiving.gateway
    jobs = [await succeeded_job(gateway) for _ in range(CACHED_FILES + 1)]
    await gateway.project()
    statuses = [await json_of(gateway, f"/jobs/{job_id}") for job_id in jobs]
    await archiving.archive_finished_jobs(batch=1)
    for job_id in reversed(jobs):  # the last job's file first: the one no longer cached
        assert (await gateway.http.get(f"/jobs/{job_id}/events")).status_code == 200
    for events in Path(gateway.ctx.settings.archive_location).glob("*.jsonl.gz"):
        events.write_bytes(b"no longer what its manifest says")

    # Each view row is as new as the job's archived events: no file is read, not even the
    # last job's, which a read would find damaged.
    assert [await json_of(gateway, f"/jobs/{job_id}") for job_id in jobs] == statuses


async def test_a_damaged_archive_file_is_named_and_a_missing_one_is_unavailable(archiving):
    gateway = archiving.gateway
    damaged, missing = await succeeded_job(gateway), await succeeded_job(gateway)
    await archiving.archive_finished_jobs(batch=1)
    folder = Path(gateway.ctx.settings.archive_location)
    for manifest in Archive(str(folder)).manifests():
        (job_id,) = manifest.jobs
        path = folder / manifest.file
        if job_id == damaged:
            path.write_bytes(path.read_bytes()[::-1])
        else:
            path.unlink()

    broken = await gateway.http.get(f"/jobs/{damaged}/events")
    assert broken.status_code == 500
    assert broken.json()["type"] == "https://jobstream.dev/errors/archive-damaged"
    assert damaged in broken.json()["detail"]
    gone = await gateway.http.get(f"/jobs/{missing}/events")
    assert (gone.status_code, gone.headers["Retry-After"]) == (503, "5")
    assert str(folder) in gone.json()["detail"]
