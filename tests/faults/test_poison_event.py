"""Scenario 8: an event the projector cannot read is parked and reported; the view moves on."""

import asyncio

import nats
from sqlmodel import Session, col, select

from jobstream_contracts.subjects import event_subject
from jobstream_projector.view import ParkedEvent, create_view_engine


def test_a_poison_event_is_parked_and_the_view_keeps_moving(make_stack):
    stack = make_stack().start()

    async def publish_poison() -> None:
        nc = await nats.connect(stack.nats_url)
        js = nc.jetstream()
        await js.publish(event_subject("echo", "poison", "progressed"), b"{not json")
        await js.publish(
            event_subject("echo", "future", "progressed"),
            b'{"type": "JobProgressed", "schema_version": 99, "job_id": "future",'
            b' "process_id": "echo"}',
        )
        await nc.close()

    asyncio.run(publish_poison())
    job_id = stack.submit("echo", {"message": "after the poison"})
    stack.wait_view(job_id)
    ready = stack.http.get("/ready").json()
    assert ready["parked_events"] == 2 and ready["projector_lag"] == 0, ready
    engine = create_view_engine(stack.database_url)
    with Session(engine) as session:
        parked = session.exec(select(ParkedEvent).order_by(col(ParkedEvent.sequence))).all()
    assert [p.subject.split(".")[3] for p in parked] == ["poison", "future"]
    assert "not JSON" in parked[0].error and "newer than this reader" in parked[1].error
    assert parked[0].data == "{not json"
