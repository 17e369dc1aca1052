"""The stream is the record: restarts lose nothing and the view can always be rebuilt."""

import sqlite3
import subprocess
import sys
from dataclasses import dataclass

import pytest

from ..support.stack import ROOT, Stack, own_server_stack


@dataclass
class History:
    """A stack that ran the same mix of jobs once, and the view of them it served then."""

    stack: Stack
    ids: list[str]
    before: dict[str, dict]


def _snapshot(stack: Stack, job_ids: list[str]) -> dict[str, dict]:
    jobs = stack.http.get("/jobs", params={"limit": 1000}).json()["jobs"]
    by_id = {job["jobID"]: job for job in jobs}
    assert set(job_ids) <= set(by_id)
    return by_id


def _run_jobs(stack: Stack) -> list[str]:
    ids = [stack.submit("echo", {"message": f"m{i}"}) for i in range(5)]
    ids.append(stack.submit("count", {"n": 5, "interval": 0.01}))
    ids.append(stack.submit("fail", {"message": "boom"}))
    for job_id in ids:
        stack.wait_view(job_id)
    dismissed = stack.submit("echo", {"message": "x", "pause": 30})
    stack.wait_job(dismissed, statuses=("running",))
    stack.http.delete(f"/jobs/{dismissed}")
    stack.wait_view(dismissed, statuses=("dismissed",))
    return [*ids, dismissed]


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """One history for the module: each test stops, damages or replays it its own way and
    compares with the same snapshot, then leaves the stack running on it."""
    with own_server_stack(tmp_path_factory.mktemp("durability")) as stack:
        stack.start()
        ids = _run_jobs(stack)
        yield History(stack, ids, _snapshot(stack, ids))


@pytest.fixture
def history(ran: History):
    """The module's history; should a test fail half-way, the next starts on a whole stack."""
    try:
        yield ran
    finally:
        if not _whole(ran.stack):
            ran.stack.stop()
            ran.stack.start()


def _whole(stack: Stack) -> bool:
    return all(
        stack.processes.get(name) and all(p.poll() is None for p in stack.processes[name])
        for name in ("projector", "executor", "gateway")
    )


def test_stop_everything_and_start_again_gives_the_same_jobs(history):
    stack, ids, before = history.stack, history.ids, history.before
    stack.stop()
    stack.start()
    assert _snapshot(stack, ids) == before
    for job_id in ids[:5]:
        assert stack.http.get(f"/jobs/{job_id}/results").text.startswith("m")


def test_deleting_the_view_and_replaying_gives_the_same_jobs(history):
    stack, ids, before = history.stack, history.ids, history.before
    stack.stop()
    view = stack.workdir / "view.sqlite"
    for path in view.parent.glob("view.sqlite*"):
        path.unlink()
    stack.start()
    for job_id in ids:
        stack.wait_view(job_id, statuses=(before[job_id]["status"],))
    assert _snapshot(stack, ids) == before


def test_rebuild_command_recreates_the_view(history):
    stack, ids, before = history.stack, history.ids, history.before
    stack.stop("projector")
    # Damage the view: a rebuild must not care what is there.
    with sqlite3.connect(stack.workdir / "view.sqlite") as db:
        db.execute("UPDATE jobs SET status = 'failed', message = 'corrupted'")
    result = subprocess.run(
        [sys.executable, "-m", "jobstream", "projector", "rebuild"],
        env=stack.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "view rebuilt" in result.stdout + result.stderr
    assert _snapshot(stack, ids) == before
    stack.start("projector")


def test_view_on_postgresql_equals_the_view_on_sqlite(history, postgres_url, tmp_path):
    sqlite_stack, ids, expected = history.stack, history.ids, history.before
    # A second view of the same stream, in PostgreSQL, built by replay beside the SQLite one:
    # each view has a lease of its own, and the running executor announces the processes.
    pg_stack = Stack(tmp_path, sqlite_stack.nats_url, postgres_url, sqlite_stack.credentials)
    try:
        pg_stack.start("projector", "gateway")
        for job_id in ids:
            pg_stack.wait_view(job_id, statuses=(expected[job_id]["status"],))
        actual = _snapshot(pg_stack, ids)

        def strip(jobs: dict) -> dict:
            return {k: {f: v for f, v in j.items() if f != "links"} for k, j in jobs.items()}

        assert strip(actual) == strip(expected)
        # And the PostgreSQL view serves every query the SQLite one does.
        durations = pg_stack.http.get("/jobs", params={"minDuration": 0, "limit": 1000})
        assert durations.status_code == 200 and durations.json()["jobs"]
        failed = pg_stack.http.get("/jobs", params={"status": "failed"}).json()["jobs"]
        assert [j["processID"] for j in failed] == ["fail"]
    finally:
        pg_stack.close()
