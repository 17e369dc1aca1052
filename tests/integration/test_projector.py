"""The projector against a real SQLite file and a real stream."""

import asyncio

import nats
import pytest
from sqlmodel import Session, select

from jobstream_contracts.events import JobProgressed, JobStarted, JobSubmitted, JobSucceeded
from jobstream_contracts.subjects import event_subject
from jobstream_projector.store import (
    CheckpointMoved,
    apply_batch,
    create_view,
    create_view_engine,
    read_checkpoint,
)
from jobstream_projector.tables import JobRow, ParkedEvent


def _rows(engine) -> list[dict]:
    with Session(engine) as session:
        return [row.model_dump() for row in session.exec(select(JobRow).order_by(JobRow.job_id))]


def _history(job_id: str):
    base = dict(job_id=job_id, process_id="echo")
    return [
        JobSubmitted(inputs={"message": job_id}, **base),
        JobStarted(executor="e1", attempt=1, **base),
        JobProgressed(done=1, total=2, message="half", attempt=1, **base),
        JobSucceeded(results={"echo": job_id}, attempt=1, **base),
    ]


def test_a_batch_applied_twice_changes_nothing(tmp_path):
    engine = create_view_engine(f"sqlite:///{tmp_path / 'view.sqlite'}")
    create_view(engine)
    batch = list(enumerate(_history("a") + _history("b"), start=1))
    assert apply_batch(engine, batch, 0) == 8
    once = _rows(engine)
    assert apply_batch(engine, batch, 8) == 8
    assert _rows(engine) == once
    assert [row["status"] for row in once] == ["successful", "successful"]
    assert read_checkpoint(engine) == 8


def test_a_moved_checkpoint_is_refused_not_skipped(tmp_path):
    engine = create_view_engine(f"sqlite:///{tmp_path / 'view.sqlite'}")
    create_view(engine)
    apply_batch(engine, list(enumerate(_history("a"), start=1)), 0)
    with pytest.raises(CheckpointMoved):
        apply_batch(engine, [(9, _history("b")[0])], 2)
    assert read_checkpoint(engine) == 4


def test_a_poison_event_is_parked_and_the_view_keeps_moving(make_stack):
    stack = make_stack().start()

    async def publish_poison() -> None:
        nc = await nats.connect(stack.nats_url)
        js = nc.jetstream()
        await js.publish(event_subject("echo", "poison", "progressed"), b"{not json")
        await js.publish(event_subject("echo", "future", "progressed"),
                         b'{"type": "JobProgressed", "schema_version": 99, "job_id": "future",'
                         b' "process_id": "echo"}')
        await nc.close()

    asyncio.run(publish_poison())
    job_id = stack.submit("echo", {"message": "after the poison"})
    stack.wait_view(job_id)
    ready = stack.http.get("/ready").json()
    assert ready["parked_events"] == 2 and ready["projector_lag"] == 0, ready
    engine = create_view_engine(stack.database_url)
    with Session(engine) as session:
        parked = session.exec(select(ParkedEvent).order_by(ParkedEvent.sequence)).all()
    assert [p.subject.split(".")[3] for p in parked] == ["poison", "future"]
    assert "not JSON" in parked[0].error and "newer than this reader" in parked[1].error
    assert parked[0].data == "{not json"
