"""A view rebuilt, or projected afresh, over a stream whose finished jobs were archived and
trimmed: the archive's events fold in their places, so the view is the one the whole stream
gave; a gap that neither fills still stops the projection."""

import asyncio

import pytest
from structlog.testing import capture_logs

from jobstream_infra.archive import Archive
from jobstream_infra.settings import ProjectorSettings
from jobstream_projector.service import ConsumerLost, Projector, rebuild_view
from jobstream_projector.view import create_view, create_view_engine, drop_view, read_checkpoint

from ..support.archived_history import ARCHIVED_JOBS, History, succeeded, write_history
from ..support.rebuild import job_rows
from ..support.waiting import eventually_async


async def _project(history: History, view_url: str, until: int | None = None) -> list[dict]:
    """The view a projector reading the stream (and the archive) gives, up to ``until``."""
    engine = create_view_engine(view_url)
    create_view(engine)
    archive = Archive(history.archive_url)
    projector = Projector(history.nc.jetstream(), history.journal, engine, archive=archive)
    await projector.catch_up(until)
    engine.dispose()
    return job_rows(view_url)


@pytest.fixture
async def history(nats_server, tmp_path):
    written = await write_history(nats_server, tmp_path / "archive")
    yield written
    await written.close()


@pytest.fixture
async def trimmed(history: History, view_url, tmp_path):
    """The history projected live (the whole view, and the view as it was at ``then``), then
    its jobs a, b and c archived and trimmed."""
    live = await _project(history, view_url)
    then = await _project(history, f"sqlite:///{tmp_path / 'then.sqlite'}", history.then_sequence)
    before = await history.stored_messages()
    report = await history.trim()
    assert report.jobs == len(ARCHIVED_JOBS) and report.files == 2
    assert await history.stored_messages() == before - report.trimmed < before
    return history, live, then


def _settings(history: History, view_url: str, archive_url: str | None = None):
    return ProjectorSettings(
        nats_url=history.nats_url,
        database_url=view_url,
        archive_url=archive_url or history.archive_url,
    )


async def test_a_rebuild_from_archive_and_stream_equals_the_live_view(trimmed, view_url):
    history, live, _ = trimmed

    checkpoint = await rebuild_view(_settings(history, view_url))

    assert checkpoint == history.last_sequence
    assert job_rows(view_url) == live


async def test_a_rebuild_until_an_instant_is_the_view_as_it_was_then(trimmed, view_url):
    history, live, then = trimmed

    checkpoint = await rebuild_view(_settings(history, view_url), until=history.then)

    assert checkpoint == history.then_sequence
    assert job_rows(view_url) == then != live


async def test_a_projector_on_an_empty_view_folds_the_archive_in_place(trimmed, tmp_path):
    history, live, _ = trimmed
    view_url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    engine = create_view_engine(view_url)
    create_view(engine)
    projector = Projector(
        history.nc.jetstream(), history.journal, engine, archive=Archive(history.archive_url)
    )
    stop = asyncio.Event()
    with capture_logs() as logs:
        running = asyncio.create_task(projector.run(stop))
        await _until_checkpoint(engine, history.last_sequence)
        assert job_rows(view_url) == live
        # At the stream's head, it folds what comes next.
        await history.append([succeeded("d")])
        await _until_checkpoint(engine, history.last_sequence)
        stop.set()
        await running
    # The gaps the archive fills cost no new consumer.
    assert not [entry for entry in logs if "resubscribing" in entry["event"]]
    assert {row["job_id"]: row["status"] for row in job_rows(view_url)}["d"] == "successful"
    engine.dispose()


async def _until_checkpoint(engine, sequence: int) -> None:
    await eventually_async(
        lambda: asyncio.to_thread(lambda: read_checkpoint(engine) == sequence),
        what=f"the view's checkpoint at {sequence}",
    )


async def test_a_gap_nothing_fills_still_stops_a_rebuild(trimmed, view_url, tmp_path):
    history, _, _ = trimmed
    empty_archive = str(tmp_path / "no-archive")

    with pytest.raises(ConsumerLost):
        await rebuild_view(_settings(history, view_url, empty_archive))


async def test_a_projector_lists_the_archive_again_at_a_gap(history: History, view_url):
    """The archiver trims after the projector loaded the archive (a projector far behind):
    the gap it meets is filled from the files written since, in place."""
    live = await _project(history, view_url)
    engine = create_view_engine(view_url)
    projector = Projector(
        history.nc.jetstream(), history.journal, engine, archive=Archive(history.archive_url)
    )
    await asyncio.to_thread(drop_view, engine)
    await asyncio.to_thread(create_view, engine)
    sub = await projector._subscribe()  # the archive is empty: nothing loaded
    await history.trim()

    while projector.checkpoint < history.last_sequence:
        await projector.step(sub, until=history.last_sequence)
    await sub.unsubscribe()

    assert job_rows(view_url) == live
    engine.dispose()
