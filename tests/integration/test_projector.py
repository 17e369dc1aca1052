"""The projector against a real SQLite file and a real stream."""

import pytest
from sqlmodel import Session, select

from jobstream_contracts.events import JobProgressed, JobStarted, JobSubmitted, JobSucceeded
from jobstream_projector.store import (
    CheckpointMoved,
    apply_batch,
    create_view,
    create_view_engine,
    read_checkpoint,
)
from jobstream_projector.tables import JobRow


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
