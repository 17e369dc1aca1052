"""The projector's apply loop, in-process: what the in-memory journal stores, folded into a
SQLite view. The projector's consumer and its fetches run on JetStream in
tests/integration/test_projector.py and tests/faults; here each case takes milliseconds.
"""

import pytest
from nats.aio.client import Client as NATS

from jobstream_contracts.events import (
    Event,
    JobProgressed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.subjects import event_subject
from jobstream_infra.memory_journal import InMemoryJournal
from jobstream_projector.service import NewerEvent, Projector
from jobstream_projector.view import count_parked, create_view, create_view_engine, get_job
from jobstream_projector.view.reads import read_checkpoint


@pytest.fixture
def journal() -> InMemoryJournal:
    return InMemoryJournal()


@pytest.fixture
def projector(tmp_path, journal):
    engine = create_view_engine(f"sqlite:///{tmp_path / 'view.sqlite'}")
    create_view(engine)
    # The consumer's connection is never used: the test hands the projector its messages.
    yield Projector(NATS().jetstream(), journal, engine)
    engine.dispose()


def history(job_id: str) -> list[Event]:
    return [
        JobSubmitted(job_id=job_id, process_id="echo", inputs={"message": job_id}),
        JobStarted(job_id=job_id, process_id="echo", executor="e1", attempt=1),
        JobProgressed(job_id=job_id, process_id="echo", done=1, total=2, attempt=1),
        JobSucceeded(job_id=job_id, process_id="echo", results={"echo": job_id}, attempt=1),
    ]


async def store(journal: InMemoryJournal, events: list[Event]) -> None:
    for event in events:
        await journal.append(event)


def status_of(projector: Projector, job_id: str) -> str | None:
    state, _ = get_job(projector.engine, job_id)
    return None if state is None else state.status.value


async def test_the_journals_events_fold_into_the_view(journal, projector):
    await store(journal, history("a")[:2] + history("b") + history("a")[2:])
    await projector.apply(journal.stored)
    assert (status_of(projector, "a"), status_of(projector, "b")) == ("successful", "successful")
    assert projector.checkpoint == read_checkpoint(projector.engine) == 8


async def test_batches_fold_where_the_last_one_ended(journal, projector):
    await store(journal, history("a"))
    await projector.apply(journal.stored[:2])
    assert status_of(projector, "a") == "running"
    await projector.apply(journal.stored[2:])
    assert status_of(projector, "a") == "successful"
    assert read_checkpoint(projector.engine) == 4


async def test_an_unreadable_message_is_parked_and_the_view_moves_on(journal, projector):
    await store(journal, history("a")[:2])
    journal.append_bytes(event_subject("echo", "a", "progressed"), b"{broken")
    await store(journal, history("a")[2:])
    await projector.apply(journal.stored)
    assert count_parked(projector.engine) == 1
    assert status_of(projector, "a") == "successful"
    assert read_checkpoint(projector.engine) == 5


async def test_a_success_forged_on_a_callback_subject_is_parked_not_applied(journal, projector):
    # The notifier's user may publish callback events; a success written there, even one that
    # claims a newer schema (which would stop the projector), changes nothing but the parked.
    await store(journal, history("a")[:2])
    for version in (1, 99):
        forged = JobSucceeded(job_id="a", process_id="echo", results={"forged": True})
        data = forged.encode().replace(
            b'"schema_version":1', f'"schema_version":{version}'.encode()
        )
        journal.append_bytes(event_subject("echo", "a", "callback-delivered"), data)
    await store(journal, history("b"))
    await projector.apply(journal.stored)
    assert (status_of(projector, "a"), status_of(projector, "b")) == ("running", "successful")
    assert count_parked(projector.engine) == 2
    assert read_checkpoint(projector.engine) == len(journal.stored)


async def test_an_event_of_a_newer_jobstream_stops_the_view_before_it(journal, projector):
    await store(journal, history("a")[:2])
    newer = b'{"type": "JobSucceeded", "schema_version": 99, "job_id": "a", "process_id": "echo"}'
    journal.append_bytes(event_subject("echo", "a", "succeeded"), newer)
    await store(journal, history("b"))
    with pytest.raises(NewerEvent) as stopped:
        await projector.apply(journal.stored)
    assert stopped.value.sequence == 3
    assert read_checkpoint(projector.engine) == 2
    assert (status_of(projector, "a"), status_of(projector, "b")) == ("running", None)
    assert count_parked(projector.engine) == 0
