"""Schedules that keep datasets current: a sync only when there is something new, and a job
each time a dataset is updated."""

import pytest

from jobstream_contracts.events import DatasetCommitted, JobSubmitted

from ..support.waiting import eventually


@pytest.fixture
def stack(shared_data_stack):
    return shared_data_stack


def _firings(stack, schedule_id: str) -> list[dict]:
    events = stack.http.get(f"/schedules/{schedule_id}/events").json()
    return [e["data"] for e in events if e["data"]["type"] in ("ScheduleFired", "ScheduleSkipped")]


def _quiet_twice(firings: list[dict]) -> list[dict] | None:
    quiet = [f for f in firings if f["type"] == "ScheduleSkipped" and "new-periods" in f["reason"]]
    return firings if len(quiet) >= 2 else None


def _create(stack, **spec) -> dict:
    response = stack.http.post("/schedules", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_sync_schedule_with_new_periods_condition_makes_no_empty_jobs(stack):
    ingest = stack.submit(
        "ingest", {"dataset_id": "scheduled", "start": "2020-01-01", "end": "2020-01-04"}
    )
    assert stack.wait_job(ingest, timeout=60)["status"] == "successful"
    _create(
        stack,
        id="sync-scheduled",
        process="sync",
        inputs={"dataset_id": "scheduled", "end": "2020-01-09"},
        every="1s",
        condition="new-periods",
    )
    # The first firing finds five new periods: one sync. Once they are stored, the source
    # has nothing newer up to the end asked: firings are skipped, no job made.
    firings = eventually(lambda: _quiet_twice(_firings(stack, "sync-scheduled")), timeout=60)
    stack.http.patch("/schedules/sync-scheduled", json={"paused": True})
    jobs = [f["job_id"] for f in _firings(stack, "sync-scheduled") if f["type"] == "ScheduleFired"]
    assert len(jobs) == 1, [f.get("reason") for f in firings]
    result = stack.http.get(f"/jobs/{jobs[0]}/results").json()
    assert result["status"] == "synced" and result["periods"]["fetched"] == 5


def test_a_dataset_update_trigger_makes_one_job_per_update_and_replays_none(stack):
    before = stack.submit(
        "ingest", {"dataset_id": "triggering", "start": "2020-01-01", "end": "2020-01-02"}
    )
    assert stack.wait_job(before, timeout=60)["status"] == "successful"
    _create(
        stack,
        id="on-triggering",
        process="echo",
        inputs={"message": "updated"},
        onDatasetUpdated="triggering",
        overlap="allow",
    )
    after = stack.submit(
        "ingest", {"dataset_id": "triggering", "start": "2020-01-03", "end": "2020-01-06"}
    )
    assert stack.wait_job(after, timeout=60)["status"] == "successful"
    commits = [e for e in stack.events(after) if isinstance(e, DatasetCommitted)]
    assert commits

    def triggered() -> list[JobSubmitted] | None:
        jobs = [
            e
            for e in stack.events()
            if isinstance(e, JobSubmitted)
            and e.fired_by is not None
            and e.fired_by.schedule_id == "on-triggering"
        ]
        return jobs if len(jobs) >= len(commits) else None

    jobs = eventually(triggered, timeout=30)
    # One job per update of the ingest after the trigger existed; none for the one before.
    assert len(jobs) == len(commits)
    assert {j.fired_by.instant for j in jobs if j.fired_by} == {c.time for c in commits}
    for job in jobs:
        assert stack.wait_job(job.job_id)["status"] == "successful"
