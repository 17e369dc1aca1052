"""An export or a rebuild never passes over an event it cannot read in silence: it stops with
an error naming the event's sequence, or, when asked to skip, records the gap (the export as a
line of its own, the rebuild as a parked event). Otherwise an export would look whole and a
point-in-time view would look exact."""

import asyncio
import io
import json
import os
import subprocess
import sys

import nats
import pytest

from jobstream_contracts.cloudevents import UNREADABLE_TYPE, event_of
from jobstream_contracts.events import EventDecodeError, JobStarted, JobSubmitted, JobSucceeded
from jobstream_contracts.subjects import event_subject
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.provisioning import ensure_stream
from jobstream_infra.reader import UnreadableEvent
from jobstream_infra.settings import AdminSettings, ProjectorSettings
from jobstream_projector.service import rebuild_view
from jobstream_projector.view import count_parked, create_view_engine

from ..support.stack import ROOT

GARBLED_SEQUENCE, FORGED_SEQUENCE, LAST_SEQUENCE = 2, 3, 4


async def _write_history(url: str) -> None:
    """A job submitted, a garbled message, a JobSucceeded forged on a callback subject (as the
    notifier's user could publish), and the job's real start."""
    forged = JobSucceeded(job_id="j1", process_id="echo", attempt=1, results={"forged": True})
    messages = [
        (
            event_subject("echo", "j1", JobSubmitted.token),
            JobSubmitted(job_id="j1", process_id="echo").encode(),
        ),
        (event_subject("echo", "j1", JobStarted.token), b"{not json"),
        (event_subject("echo", "j1", "callback-delivered"), forged.encode()),
        (
            event_subject("echo", "j1", JobStarted.token),
            JobStarted(job_id="j1", process_id="echo", executor="e", attempt=1).encode(),
        ),
    ]
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js)
    for subject, data in messages:
        await js.publish(subject, data)
    await nc.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with EmbeddedNats(tmp_path_factory.mktemp("unreadable") / "nats") as running:
        asyncio.run(_write_history(running.url))
        yield running


def _export(server, **options) -> list[dict]:
    from jobstream.export import export_events

    out = io.StringIO()
    asyncio.run(export_events(AdminSettings(nats_url=server.url), out, **options))
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_an_export_stops_at_an_unreadable_event_naming_its_sequence(server):
    with pytest.raises(UnreadableEvent) as stopped:
        _export(server)

    assert stopped.value.sequence == GARBLED_SEQUENCE
    assert f"sequence {GARBLED_SEQUENCE}" in str(stopped.value)


def test_an_export_skipping_unreadable_events_records_each_in_its_place(server):
    lines = _export(server, skip_unreadable=True)

    assert [int(line["sequence"]) for line in lines] == [1, 2, 3, LAST_SEQUENCE]
    garbled, forged = lines[1], lines[2]
    assert garbled["type"] == forged["type"] == UNREADABLE_TYPE
    assert garbled["data"]["data"] == "{not json"
    assert forged["data"]["subject"].endswith(".callback-delivered")
    assert "JobSucceeded" in forged["data"]["reason"]
    with pytest.raises(EventDecodeError):
        event_of(forged)  # an auditor's fold refuses the gap, as the stream's readers do
    assert isinstance(event_of(lines[3])[1], JobStarted)


def test_the_export_command_exits_7_naming_the_sequence(server):
    done = subprocess.run(
        [sys.executable, "-m", "jobstream", "events", "export"],
        env={**os.environ, "JOBSTREAM_NATS_URL": server.url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 7, done.stderr
    assert f"sequence {GARBLED_SEQUENCE}" in done.stderr and "--skip-unreadable" in done.stderr


def test_a_rebuild_stops_at_an_unreadable_event_unless_asked_to_park_it(server, tmp_path):
    settings = ProjectorSettings(
        nats_url=server.url, database_url=f"sqlite:///{tmp_path / 'view.sqlite'}"
    )
    with pytest.raises(UnreadableEvent) as stopped:
        asyncio.run(rebuild_view(settings, until=LAST_SEQUENCE))
    assert stopped.value.sequence == GARBLED_SEQUENCE

    checkpoint = asyncio.run(rebuild_view(settings, until=LAST_SEQUENCE, skip_unreadable=True))

    assert checkpoint == LAST_SEQUENCE
    assert count_parked(create_view_engine(settings.view_url)) == 2
