"""A writer whose fence (the projector's lease) is not confirmed writes nothing, parks nothing."""

import pytest
from sqlmodel import Session, select

from jobstream_contracts.events import JobSubmitted
from jobstream_projector.view import (
    Fenced,
    JobRow,
    ParkedEvent,
    apply_batch,
    create_view,
    create_view_engine,
    read_checkpoint,
)


def _lease_gone() -> None:
    raise RuntimeError("the lease passed to another projector")


def test_an_unconfirmed_fence_stops_the_batch_before_it_writes(tmp_path):
    engine = create_view_engine(f"sqlite:///{tmp_path / 'view.sqlite'}")
    create_view(engine)
    batch = [(1, JobSubmitted(job_id="a", process_id="echo"))]

    with pytest.raises(Fenced):
        apply_batch(engine, batch, 0, fence=_lease_gone)

    assert read_checkpoint(engine) == 0
    with Session(engine) as session:
        assert session.exec(select(JobRow)).all() == []
        assert session.exec(select(ParkedEvent)).all() == []
    assert apply_batch(engine, batch, 0, fence=lambda: None) == 1
