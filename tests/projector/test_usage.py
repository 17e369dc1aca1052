"""A caller's usage as the submission check reads it from the view, on both databases."""

from datetime import UTC, datetime, timedelta

import pytest

from jobstream_contracts.events import JobStarted, JobSubmitted, JobSucceeded
from jobstream_projector.view import (
    apply_batch,
    caller_usage,
    create_view,
    create_view_engine,
    queue_counts,
)


@pytest.fixture
def engine(view_url):
    engine = create_view_engine(view_url)
    create_view(engine)
    yield engine
    engine.dispose()


def job(job_id: str, owner: str, message: str, done: bool = False):
    submitted = JobSubmitted(
        job_id=job_id, process_id="echo", inputs={"message": message}, owner=owner
    )
    if not done:
        return [submitted]
    return [
        submitted,
        JobStarted(job_id=job_id, process_id="echo", executor="e", attempt=1),
        JobSucceeded(job_id=job_id, process_id="echo", attempt=1, results={"echo": message}),
    ]


def test_a_callers_usage_counts_its_active_jobs_and_the_bytes_of_its_recent_ones(engine):
    alices = job("a", "alice", "x" * 1000, done=True) + job("b", "alice", "queued")
    sizes = {1: 1100, 2: 200, 3: 1200, 4: 300}
    apply_batch(engine, list(enumerate(alices, start=1)), 0, sizes=sizes)
    bobs = job("c", "bob", "y" * 5000)
    apply_batch(engine, [(5, bobs[0])], 4)  # no sizes: each event's encoding's
    now = datetime.now(UTC)
    usage = caller_usage(engine, "alice", now - timedelta(hours=1))
    assert (usage.active, usage.stored_bytes) == (1, 2800)
    bob = caller_usage(engine, "bob", now - timedelta(hours=1))
    assert bob.stored_bytes == len(bobs[0].encode()) > 5000
    assert usage.first_created is not None and now - timedelta(minutes=1) < usage.first_created
    later = caller_usage(engine, "alice", now + timedelta(seconds=1))
    assert (later.active, later.stored_bytes, later.first_created) == (1, 0, None)
    assert caller_usage(engine, "nobody", now - timedelta(hours=1)).stored_bytes == 0


def test_the_queue_counts_waiting_and_running_jobs_per_process_on_either_database(engine):
    events = job("a", "alice", "done", done=True) + job("b", "alice", "queued")
    events += [JobSubmitted(job_id="c", process_id="count", inputs={"n": 1}, owner="bob")]
    events += [JobStarted(job_id="c", process_id="count", executor="e", attempt=1)]
    events += job("d", "bob", "queued too")
    apply_batch(engine, list(enumerate(events, start=1)), 0)
    counts = {row.process_id: row for row in queue_counts(engine)}
    assert (counts["echo"].waiting, counts["echo"].running) == (2, 0)
    assert (counts["count"].waiting, counts["count"].running) == (0, 1)
    oldest = counts["echo"].oldest_waiting
    assert oldest is not None and oldest.tzinfo is not None
    assert counts["count"].oldest_waiting is None
    alices = queue_counts(engine, owner="alice")
    assert [(row.process_id, row.waiting, row.running) for row in alices] == [("echo", 1, 0)]
