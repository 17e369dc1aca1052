"""The stream is the record: restarts lose nothing and the view can always be rebuilt."""

import subprocess
import sys

from ..support.stack import ROOT, Stack


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


def test_stop_everything_and_start_again_gives_the_same_jobs(make_stack):
    stack = make_stack().start()
    ids = _run_jobs(stack)
    before = _snapshot(stack, ids)
    stack.stop()
    stack.start()
    assert _snapshot(stack, ids) == before
    for job_id in ids[:5]:
        assert stack.http.get(f"/jobs/{job_id}/results").text.startswith("m")


def test_deleting_the_view_and_replaying_gives_the_same_jobs(make_stack, tmp_path):
    stack = make_stack().start()
    ids = _run_jobs(stack)
    before = _snapshot(stack, ids)
    stack.stop()
    view = stack.workdir / "view.sqlite"
    for path in view.parent.glob("view.sqlite*"):
        path.unlink()
    stack.start()
    for job_id in ids:
        stack.wait_view(job_id, statuses=(before[job_id]["status"],))
    assert _snapshot(stack, ids) == before


def test_rebuild_command_recreates_the_view(make_stack):
    stack = make_stack().start()
    ids = _run_jobs(stack)
    before = _snapshot(stack, ids)
    stack.stop("projector")
    # Damage the view: a rebuild must not care what is there.
    import sqlite3

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


def test_view_on_postgresql_equals_the_view_on_sqlite(make_stack, postgres_url):
    sqlite_stack = make_stack().start()
    ids = _run_jobs(sqlite_stack)
    expected = _snapshot(sqlite_stack, ids)
    sqlite_stack.stop()
    # A second view of the same stream, in PostgreSQL, built by replay.
    pg_stack = make_stack(database_url=postgres_url).start("projector", "gateway", wait=False)
    pg_stack.start_component("executor")
    pg_stack.wait_ready()
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
