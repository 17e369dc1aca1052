"""Scenario 8: an event the projector cannot read or apply is parked and reported; the view
moves on. One written by a newer jobstream holds back its job alone: the gateway answers 503
for that job, and the projector keeps the view moving for every other."""

import asyncio
import json

import nats
from sqlmodel import Session, col, select

from jobstream_contracts.events import JobStarted
from jobstream_contracts.subjects import event_subject
from jobstream_projector.view import ParkedEvent, create_view_engine, read_checkpoint

# Decodes and folds, but no SQLite INTEGER holds it: the view's write of it fails.
UNSTORABLE_ATTEMPT = 2**70


async def _publish(nats_url: str, *messages: tuple[str, bytes]) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for subject, data in messages:
        await js.publish(subject, data)
    await nc.close()


def _future_event(job_id: str) -> tuple[str, bytes]:
    data = {"type": "JobProgressed", "schema_version": 99, "job_id": job_id, "process_id": "echo"}
    return event_subject("echo", job_id, "progressed"), json.dumps(data).encode()


def test_a_poison_event_is_parked_and_the_view_keeps_moving(make_stack):
    stack = make_stack().start()
    unappliable = JobStarted(
        job_id="huge", process_id="echo", executor="e1", attempt=UNSTORABLE_ATTEMPT
    )
    asyncio.run(
        _publish(
            stack.nats_url,
            (event_subject("echo", "poison", "progressed"), b"{not json"),
            (unappliable.subject, unappliable.encode()),
        )
    )
    job_id = stack.submit("echo", {"message": "after the poison"})
    stack.wait_view(job_id)
    ready = stack.http.get("/ready").json()
    assert ready["parked_events"] == 2 and ready["projector_lag"] == 0, ready
    engine = create_view_engine(stack.database_url)
    with Session(engine) as session:
        parked = session.exec(select(ParkedEvent).order_by(col(ParkedEvent.sequence))).all()
    assert [p.subject.split(".")[3] for p in parked] == ["poison", "huge"]
    assert "not JSON" in parked[0].error and parked[0].data == "{not json"
    assert "cannot be applied" in parked[1].error
    assert json.loads(parked[1].data)["attempt"] == UNSTORABLE_ATTEMPT
    assert stack.http.get("/jobs/huge").status_code == 404  # not in the view: parked


def test_an_event_of_a_newer_version_holds_back_its_job_and_nothing_else(make_stack):
    stack = make_stack().start()
    upgraded = stack.submit("echo", {"message": "touched by a newer version"})
    stack.wait_view(upgraded)
    asyncio.run(_publish(stack.nats_url, _future_event(upgraded)))

    # Every other job is still folded into the view, past the held event.
    other = stack.submit("echo", {"message": "still served"})
    assert stack.wait_job(other)["status"] == "successful"
    stack.wait_view(other)
    ready = stack.http.get("/ready").json()
    assert ready["held_events"] == 1 and ready["parked_events"] == 0, ready
    engine = create_view_engine(stack.database_url)
    assert read_checkpoint(engine) == ready["stream_last_sequence"]
    assert stack.processes["projector"][0].poll() is None
    assert "held back a job's event of a newer jobstream" in stack.log("projector")

    answer = stack.http.get(f"/jobs/{upgraded}")
    assert answer.status_code == 503 and answer.headers["Retry-After"], answer.text
    assert "newer jobstream version" in answer.json()["detail"]
    for path in (f"/jobs/{upgraded}/events", f"/jobs/{upgraded}?at=2999-01-01T00:00:00Z"):
        assert stack.http.get(path).status_code == 503, path
