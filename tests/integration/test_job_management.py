"""OGC API - Processes - Part 4 (Job Management) on a real stack: a created job waits for
its start, runs as any job once started, and is started once however many ask."""

from concurrent.futures import ThreadPoolExecutor

import httpx

from ..support.ogc_schemas import assert_valid, assert_valid_part4_status

LOCKED = "http://www.opengis.net/def/exceptions/ogcapi-processes-4/1.0/locked"


def create(stack, message: str) -> str:
    answer = stack.http.post("/jobs", json={"process": "echo", "inputs": {"message": message}})
    assert answer.status_code == 201, answer.text
    assert_valid_part4_status(answer.json())
    assert answer.headers["Location"] == f"{stack.url}/jobs/{answer.json()['jobID']}"
    return answer.json()["jobID"]


def kinds(stack, job_id: str) -> list[str]:
    return [event.type for event in stack.events(job_id)]


def test_a_created_job_runs_its_patched_request_once_started_then_is_locked(stack):
    job_id = create(stack, "first")
    patched = stack.http.patch(f"/jobs/{job_id}", json={"inputs": {"message": "patched"}})
    assert patched.status_code == 200, patched.text
    started = stack.http.post(f"/jobs/{job_id}/results")
    assert started.status_code == 200, started.text
    assert_valid(started.json(), "statusInfo")
    final = stack.wait_job(job_id)
    assert final["status"] == "successful", final
    assert stack.http.get(f"/jobs/{job_id}/results").text == "patched"
    late = stack.http.patch(f"/jobs/{job_id}", json={"inputs": {"message": "late"}})
    assert late.status_code == 423 and late.json()["type"] == LOCKED
    assert kinds(stack, job_id)[:3] == ["JobCreated", "JobChanged", "JobSubmitted"]


def test_a_created_job_is_run_by_no_executor_until_started(stack):
    waiting = create(stack, "waiting")
    # A job of the same process submitted after it runs to the end: the executors consume.
    later = stack.submit("echo", {"message": "later"})
    assert stack.wait_job(later)["status"] == "successful"
    assert stack.wait_view(waiting, statuses=("created",))["status"] == "created"
    assert kinds(stack, waiting) == ["JobCreated"]


def test_two_starts_at_once_submit_one_job(stack):
    job_id = create(stack, "once")

    def start(_: int) -> int:
        with httpx.Client(base_url=stack.url, timeout=30) as client:
            return client.post(f"/jobs/{job_id}/results").status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = sorted(pool.map(start, range(2)))
    assert codes == [200, 423]
    assert stack.wait_job(job_id)["status"] == "successful"
    assert kinds(stack, job_id).count("JobSubmitted") == 1
