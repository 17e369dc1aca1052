"""An executor SIGKILLed mid-ingest: the redelivered job resumes from the committed store and
ends with exactly what an uninterrupted ingest stores."""

from datetime import UTC, datetime

import numpy as np

from jobstream_contracts.events import DatasetCommitted, JobStarted

from ..support.datasets import data_stack, kill_executor_after_first_commit, stored
from ..support.waiting import eventually
from .conftest import final_events

# What issue 26 asks of a job whose executor died, on the default AckWait and lease TTL.
RECOVERY_SECONDS = 10


def test_an_ingest_killed_half_way_resumes_and_equals_an_uninterrupted_ingest(make_stack):
    stack = data_stack(make_stack, ack_wait=2, lease_ttl=2, progress_interval=0.1)
    stack.start("projector", "gateway", wait=False)
    stack.start_component("executor")
    stack.wait_ready(("ingest",))
    inputs = {"start": "2020-01-01", "end": "2020-03-10"}  # 70 periods, 14 commits
    job_id = stack.submit("ingest", {"dataset_id": "demo", **inputs})

    killed_at = kill_executor_after_first_commit(stack, job_id, 70)
    stack.start_component("executor")
    status = stack.wait_job(job_id, timeout=90)
    assert status["status"] == "successful", status
    assert status["attempt"] == 2

    events = stack.events(job_id)
    assert final_events(events)[job_id] == 1
    result = stack.http.get(f"/jobs/{job_id}/results").json()
    # The second attempt fetched only what the first had not committed.
    assert result["periods"]["skipped"] >= killed_at
    assert result["periods"]["fetched"] == 70 - result["periods"]["skipped"]

    twin = stack.submit("ingest", {"dataset_id": "demo-twin", **inputs})
    assert stack.wait_job(twin, timeout=60)["status"] == "successful"
    resumed, uninterrupted = stored(stack, "demo"), stored(stack, "demo-twin")
    np.testing.assert_array_equal(resumed.t2m.values, uninterrupted.t2m.values)
    np.testing.assert_array_equal(resumed.time.values, uninterrupted.time.values)
    assert int(resumed.committed.sum()) == 70


def test_an_ingest_whose_executor_dies_commits_again_on_another_within_10_s(make_stack):
    """Default settings: the job's message comes back within AckWait of its last heartbeat,
    and the dead holder's dataset lease expires within its TTL."""
    stack = data_stack(make_stack)
    stack.start("projector", "gateway", wait=False)
    executors = [stack.start_component("executor") for _ in range(2)]
    stack.wait_ready(("ingest",))
    inputs = {"dataset_id": "demo", "start": "2020-01-01", "end": "2020-12-31"}
    job_id = stack.submit("ingest", inputs)
    eventually(
        lambda: any(isinstance(e, DatasetCommitted) for e in stack.events(job_id)), 60, "a commit"
    )
    first = next(e for e in stack.events(job_id) if isinstance(e, JobStarted))
    running = next(i for i, p in enumerate(executors) if first.executor.endswith(f"-{p.pid}"))
    stack.kill_one("executor", running)
    killed = datetime.now(UTC)

    def commit_of_attempt_2() -> DatasetCommitted | None:
        later = [e for e in stack.events(job_id) if isinstance(e, DatasetCommitted)]
        return next((e for e in later if e.attempt == 2), None)

    resumed = eventually(commit_of_attempt_2, 60, "a commit of the second attempt")
    assert (resumed.time - killed).total_seconds() < RECOVERY_SECONDS
    status = stack.wait_job(job_id, timeout=120)
    assert status["status"] == "successful" and status["attempt"] == 2, status
