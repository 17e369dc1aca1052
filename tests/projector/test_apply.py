"""The projector's apply loop, in-process: what the in-memory journal stores, folded into a
SQLite and a PostgreSQL view. The projector's consumer and its fetches run on JetStream in
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
    decode_event,
)
from jobstream_contracts.subjects import event_subject
from jobstream_infra.memory_journal import InMemoryJournal
from jobstream_projector.service import Projector
from jobstream_projector.view import (
    JobQuery,
    count_held,
    count_parked,
    create_view,
    create_view_engine,
    get_job,
    held_jobs,
    list_jobs,
)
from jobstream_projector.view.reads import read_checkpoint


@pytest.fixture
def journal() -> InMemoryJournal:
    return InMemoryJournal()


@pytest.fixture
def projector(view_url, journal):
    engine = create_view_engine(view_url)
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


NEWER = b'{"type": "JobProgressed", "schema_version": 99, "job_id": "a", "process_id": "echo", '
NEWER += b'"done": 2, "total": 2, "attempt": 1, "phase": "new in 99"}'


def upgraded_decode(data: bytes, subject: str) -> Event:
    """A reader of schema version 99, as an upgraded jobstream would have: it drops what
    version 99 added."""
    if b'"schema_version": 99' in data:
        data = data.replace(b'"schema_version": 99', b'"schema_version": 1')
        data = data.replace(b', "phase": "new in 99"', b"")
    return decode_event(data, subject)


async def test_an_event_of_a_newer_jobstream_holds_back_its_job_alone(journal, projector):
    await store(journal, history("a")[:2])
    journal.append_bytes(event_subject("echo", "a", "progressed"), NEWER)
    await store(journal, history("b")[:2] + history("a")[3:] + history("b")[2:])
    await projector.apply(journal.stored)
    # a's row stays as it was before its newer event; its success after it is held too.
    listed, _ = list_jobs(projector.engine, JobQuery())
    assert {job.job_id: job.status.value for job in listed} == {"a": "running", "b": "successful"}
    assert read_checkpoint(projector.engine) == len(journal.stored)
    assert count_held(projector.engine) == 2 and count_parked(projector.engine) == 0
    assert held_jobs(projector.engine) == {"a"}
    # Its row is behind its history: the view answers "read it from the stream".
    assert get_job(projector.engine, "a") == (None, 0)


async def test_an_upgraded_projector_applies_what_was_held_in_order(journal, projector):
    await store(journal, history("a")[:2])
    journal.append_bytes(event_subject("echo", "a", "progressed"), NEWER)
    journal.append_bytes(event_subject("echo", "a", "progressed"), b"{damaged")
    await store(journal, history("a")[3:] + history("b"))
    await projector.apply(journal.stored)
    assert count_held(projector.engine) == 3

    upgraded = Projector(NATS().jetstream(), journal, projector.engine, decode=upgraded_decode)
    await upgraded.resume_from_view()
    state, checkpoint = get_job(projector.engine, "a")
    assert state is not None and state.status.value == "successful" and state.done == 2
    assert checkpoint == len(journal.stored) and upgraded.held_jobs == set()
    assert count_held(projector.engine) == 0 and count_parked(projector.engine) == 1


async def test_a_projector_of_the_same_version_keeps_holding(journal, projector):
    await store(journal, history("a")[:2])
    journal.append_bytes(event_subject("echo", "a", "progressed"), NEWER)
    await projector.apply(journal.stored)
    restarted = Projector(NATS().jetstream(), journal, projector.engine)
    await restarted.resume_from_view()
    assert restarted.held_jobs == {"a"} and count_held(projector.engine) == 1
    await store(journal, history("a")[3:])
    await restarted.apply(journal.stored[3:])
    assert count_held(projector.engine) == 2 and status_of(restarted, "a") is None
