"""Events the view cannot take are parked, and only they: the rest of their batch is applied."""

from sqlmodel import Session, col, select

from jobstream_contracts.events import JobStarted, JobSubmitted, JobSucceeded
from jobstream_projector.view import (
    JobRow,
    ParkedEvent,
    apply_batch,
    create_view,
    create_view_engine,
    read_checkpoint,
)


def test_an_event_the_database_refuses_is_parked_and_its_batch_applied(tmp_path):
    engine = create_view_engine(f"sqlite:///{tmp_path / 'view.sqlite'}")
    create_view(engine)
    batch = list(
        enumerate(
            [
                JobSubmitted(job_id="a", process_id="echo"),
                # No SQLite INTEGER holds this attempt: the row it makes is refused.
                JobStarted(job_id="b", process_id="echo", executor="e", attempt=2**70),
                JobStarted(job_id="a", process_id="echo", executor="e", attempt=1),
                JobSucceeded(job_id="a", process_id="echo", results={"echo": "a"}, attempt=1),
            ],
            start=1,
        )
    )
    assert apply_batch(engine, batch, 0) == 4
    assert read_checkpoint(engine) == 4
    with Session(engine) as session:
        rows = session.exec(select(JobRow)).all()
        parked = session.exec(select(ParkedEvent).order_by(col(ParkedEvent.sequence))).all()
    assert [(row.job_id, row.status) for row in rows] == [("a", "successful")]
    assert [(p.sequence, p.subject) for p in parked] == [(2, batch[1][1].subject)]
    assert "cannot be applied" in parked[0].error
