"""Schedules on a running stack: each firing one job, overlap, pause and resume, run now."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ..support.stack import FINAL, Stack, wait_serving
from ..support.waiting import eventually


def _create(stack: Stack, **spec) -> dict:
    spec.setdefault("id", f"s-{uuid.uuid4().hex[:8]}")
    response = stack.http.post("/schedules", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def _firings(stack: Stack, schedule_id: str) -> list[dict]:
    events = stack.http.get(f"/schedules/{schedule_id}/events").json()
    return [e["data"] for e in events if e["data"]["type"] in ("ScheduleFired", "ScheduleSkipped")]


def _jobs_of(stack: Stack, schedule_id: str) -> list[str]:
    return [f["job_id"] for f in _firings(stack, schedule_id) if f["type"] == "ScheduleFired"]


def _at_least(count: int, found: list) -> list | None:
    return found if len(found) >= count else None


def test_a_schedule_every_second_makes_one_job_per_firing_instant(stack):
    schedule = _create(stack, process="echo", inputs={"message": "tick"}, every="1s")
    assert len(schedule["nextFirings"]) == 5
    jobs = eventually(lambda: _at_least(3, _jobs_of(stack, schedule["id"])))
    stack.http.patch(f"/schedules/{schedule['id']}", json={"paused": True})
    fired = [f for f in _firings(stack, schedule["id"]) if f["type"] == "ScheduleFired"]
    instants = [datetime.fromisoformat(f["instant"]) for f in fired]
    assert len(set(instants)) == len(instants) and len(set(jobs)) == len(jobs)
    # Handled when due, not when a batch of firings fills up (a fetch of 10 held a lone
    # firing for seconds): the median firing recorded well within its second.
    lateness = sorted(
        (datetime.fromisoformat(f["time"]) - i).total_seconds()
        for f, i in zip(fired, instants, strict=True)
    )
    assert lateness[len(lateness) // 2] < 0.5, lateness
    for job_id in jobs[:3]:
        job = stack.wait_job(job_id)
        assert job["status"] == "successful"
    assert stack.http.get(f"/jobs/{jobs[0]}/results").text == "tick"


def test_overlap_skip_makes_no_job_while_the_previous_runs(stack):
    schedule = _create(stack, process="hold", inputs={"seconds": 3.5}, every="1s", overlap="skip")
    # A firing handled late on a loaded machine may be skipped as missed (catch-up) too:
    # what counts is that the ones the overlap policy refused say so.
    eventually(
        lambda: _at_least(
            1,
            [
                f
                for f in _firings(stack, schedule["id"])
                if f["type"] == "ScheduleSkipped" and f["reason"].startswith("overlap:")
            ],
        ),
        timeout=15,
    )
    stack.http.patch(f"/schedules/{schedule['id']}", json={"paused": True})
    jobs = _jobs_of(stack, schedule["id"])
    states = [stack.wait_job(job_id, timeout=30) for job_id in jobs]
    spans = sorted((s["started"], s["finished"]) for s in states)
    # No job of the schedule started before the one before it ended.
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))


def test_pause_stops_firings_and_resume_starts_again_without_a_burst(stack):
    schedule = _create(stack, process="echo", inputs={"message": "p"}, every="1s", paused=True)
    assert schedule["paused"] and schedule["nextFirings"] == []
    # A trigger is a firing of its own: it runs while paused.
    job = stack.http.post(f"/schedules/{schedule['id']}/trigger")
    assert job.status_code == 201, job.text
    assert stack.wait_job(job.json()["jobID"])["status"] in FINAL
    assert [f["cause"] for f in _firings(stack, schedule["id"])] == ["manual"]
    resumed_at = datetime.now(UTC)
    resumed = stack.http.patch(f"/schedules/{schedule['id']}", json={"paused": False}).json()
    assert not resumed["paused"] and resumed["nextFirings"]
    eventually(lambda: len(_jobs_of(stack, schedule["id"])) >= 3)
    clock = [f for f in _firings(stack, schedule["id"]) if f["cause"] != "manual"]
    # No burst: nothing of the time it was paused runs, the first firing is after the resume.
    assert min(datetime.fromisoformat(f["instant"]) for f in clock) > resumed_at


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"process": "echo", "inputs": {"message": "x"}}, "every"),
        ({"process": "echo", "inputs": {"message": "x"}, "cron": "61 * * * *"}, "cron"),
        ({"process": "echo", "inputs": {"message": "x"}, "every": "soon"}, "every"),
        (
            {"process": "echo", "inputs": {"message": "x"}, "every": "1s", "timezone": "Mars/Base"},
            "timezone",
        ),
        ({"process": "echo", "inputs": {"nope": 1}, "every": "1s"}, "inputs.nope"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field_and_records_nothing(stack, spec, field):
    schedule_id = f"bad-{uuid.uuid4().hex[:8]}"
    response = stack.http.post("/schedules", json={**spec, "id": schedule_id})
    assert response.status_code == 400, response.text
    assert field in response.json()["detail"]
    assert stack.http.get(f"/schedules/{schedule_id}").status_code == 404


def test_a_schedule_id_is_never_taken_twice(stack):
    schedule = _create(stack, process="echo", inputs={"message": "x"}, cron="0 0 1 1 *")
    again = stack.http.post(
        "/schedules",
        json={"id": schedule["id"], "process": "echo", "inputs": {"message": "x"}, "every": "1h"},
    )
    assert again.status_code == 409
    assert stack.http.delete(f"/schedules/{schedule['id']}").status_code == 204
    assert stack.http.get(f"/schedules/{schedule['id']}").status_code == 404
    listed = [s["id"] for s in stack.http.get("/schedules").json()["schedules"]]
    assert schedule["id"] not in listed


def _found(stack: Stack, path: str) -> dict | None:
    answer = stack.http.get(path)
    return answer.json() if answer.status_code == 200 else None


def _write_schedule(plugins: Path, name: str, text: str) -> None:
    (plugins / "schedules").mkdir(parents=True, exist_ok=True)
    (plugins / "schedules" / f"{name}.yaml").write_text(text)


def test_the_operators_schedule_files_are_recorded_and_changed_only_there(make_stack, tmp_path):
    plugins = tmp_path / "plugins"
    _write_schedule(
        plugins, "nightly", "process: echo\ninputs: {message: night}\ncron: '0 2 * * *'\n"
    )
    _write_schedule(plugins, "broken", "process: echo\ncron: 'not a cron'\n")
    _write_schedule(plugins, "wrong-input", "process: echo\ninputs: {nope: 1}\nevery: 1h\n")
    # The gateway first, the executor after: the files wait for their process.
    stack = make_stack(plugins_dir=plugins).start("projector", "gateway", wait=False)
    wait_serving(stack.url, stack.processes["gateway"][0])
    assert stack.http.get("/schedules/nightly").status_code == 404
    stack.start("executor", wait=False)
    stack.wait_ready(("echo",))
    nightly = eventually(lambda: _found(stack, "/schedules/nightly"))
    assert (nightly["source"], nightly["cron"], nightly["owner"]) == (
        "file",
        "0 2 * * *",
        "operator-file",
    )
    assert stack.http.get("/schedules/broken").status_code == 404
    assert "not a cron" in stack.log("gateway")
    assert stack.http.get("/schedules/wrong-input").status_code == 404
    assert "inputs.nope: not an input of process echo" in stack.log("gateway")
    refused = stack.http.patch("/schedules/nightly", json={"paused": True})
    assert refused.status_code == 409 and "file" in refused.json()["detail"]
    assert stack.http.delete("/schedules/nightly").status_code == 409

    # Changed in the file: changed in the record at the next start; removed: deleted.
    _write_schedule(
        plugins, "nightly", "process: echo\ninputs: {message: night}\ncron: '30 3 * * *'\n"
    )
    _write_schedule(plugins, "hourly", "process: echo\ninputs: {message: hour}\nevery: 1h\n")
    stack.stop("gateway")
    stack.start("gateway")
    assert stack.http.get("/schedules/nightly").json()["cron"] == "30 3 * * *"
    assert stack.http.get("/schedules/hourly").json()["source"] == "file"
    (plugins / "schedules" / "hourly.yaml").unlink()
    stack.stop("gateway")
    stack.start("gateway")
    assert stack.http.get("/schedules/hourly").status_code == 404
    kinds = [e["data"]["type"] for e in stack.http.get("/schedules/nightly/events").json()]
    assert kinds == ["ScheduleCreated", "ScheduleChanged"]


def test_a_backfill_plans_then_runs_each_instant_once(stack):
    schedule = _create(
        stack, process="echo", inputs={"message": "back"}, cron="0 6 * * *", timezone="UTC"
    )
    url = f"/schedules/{schedule['id']}/backfill"
    window = {"start": "2026-01-01T00:00:00Z", "end": "2026-01-05T23:59:59Z"}
    plan = stack.http.post(url, json={**window, "plan": True}).json()
    assert plan["count"] == 5 and plan["instants"][0] == "2026-01-01T06:00:00+00:00"
    assert _jobs_of(stack, schedule["id"]) == []
    first = stack.http.post(url, json=window).json()
    assert len(first["jobs"]) == 5
    for job in first["jobs"]:
        assert stack.wait_job(job["jobID"])["status"] == "successful"
    # Over the same range again: the same jobs, none made twice.
    again = stack.http.post(url, json=window).json()
    assert [j["jobID"] for j in again["jobs"]] == [j["jobID"] for j in first["jobs"]]
    too_long = stack.http.post(
        f"/schedules/{schedule['id']}/backfill",
        json={"start": "2020-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
    )
    assert too_long.status_code == 400 and "1000" in too_long.json()["detail"]


def test_a_schedules_events_come_in_pages(stack):
    schedule = _create(stack, process="echo", inputs={"message": "x"}, cron="0 0 1 1 *")
    url = f"/schedules/{schedule['id']}"
    for paused in (True, False, True):
        assert stack.http.patch(url, json={"paused": paused}).is_success
    first = stack.http.get(f"{url}/events", params={"limit": 2})
    kinds = [e["data"]["type"] for e in first.json()]
    assert kinds == ["ScheduleCreated", "SchedulePaused"]
    second = stack.http.get(first.links["next"]["url"])
    assert [e["data"]["type"] for e in second.json()] == ["ScheduleResumed", "SchedulePaused"]
    last = stack.http.get(second.links["next"]["url"])
    assert last.json() == [] and "next" not in last.links
