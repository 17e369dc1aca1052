"""`jobstream events export` over a stream whose finished jobs were archived and trimmed: the
archive's events come back in their places, so an auditor's export is the same, byte for
byte, before and after the trim, whole, for one job and between bounds."""

import io
import json
from datetime import UTC, datetime

import pytest

from jobstream.export import export_events
from jobstream_contracts.cloudevents import UNREADABLE_TYPE
from jobstream_contracts.events import JobStarted
from jobstream_contracts.subjects import event_subject
from jobstream_infra.reader import UnreadableEvent
from jobstream_infra.settings import AdminSettings

from ..support.archived_history import History, write_history


async def _export(history: History, **options) -> str:
    settings = AdminSettings(nats_url=history.nats_url, archive_url=history.archive_url)
    out = io.StringIO()
    await export_events(settings, out, **options)
    return out.getvalue()


@pytest.fixture
async def history(nats_server, tmp_path):
    written = await write_history(nats_server, tmp_path / "archive")
    yield written
    await written.close()


def _selections(history: History) -> dict[str, dict]:
    return {
        "whole": {},
        "an archived job": {"job_id": "b"},
        "a job the stream keeps": {"job_id": "d"},
        "from a sequence to an instant": {"since": 3, "until": history.then},
        "from an instant to a sequence": {"since": history.then, "until": 10},
    }


async def test_an_export_is_the_same_before_and_after_a_trim(history: History):
    selections = _selections(history)
    before = {name: await _export(history, **options) for name, options in selections.items()}
    report = await history.trim()

    after = {name: await _export(history, **options) for name, options in selections.items()}

    assert report.trimmed > 0
    assert after == before
    assert len(before["whole"].splitlines()) == history.last_sequence
    assert before["an archived job"].count("\n") == 3


async def test_an_unreadable_archived_event_stops_the_export_as_in_the_stream(history: History):
    garbled = event_subject("echo", "a", JobStarted.token)
    sequence = (await history.nc.jetstream().publish(garbled, b"{not json")).seq
    history.cutoff = datetime.now(UTC)
    await history.trim()
    # Only d, which has not ended, is left in the stream.
    assert await history.stored_messages() == 2

    with pytest.raises(UnreadableEvent) as stopped:
        await _export(history, job_id="a")
    lines = (await _export(history, job_id="a", skip_unreadable=True)).splitlines()

    assert stopped.value.sequence == sequence
    assert json.loads(lines[-1])["type"] == UNREADABLE_TYPE
