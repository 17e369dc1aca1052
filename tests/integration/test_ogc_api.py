"""The OGC API - Processes surface end to end over real HTTP, with a real executor running
the jobs; route behaviour alone is tested in-process (tests/gateway)."""

import time

import pytest

from ..support.ogc_schemas import assert_valid
from ..support.waiting import eventually

OGC = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0"


def submissions(stack) -> int:
    """Jobs submitted so far (other events may still arrive from jobs of earlier tests)."""
    return sum(e.type == "JobSubmitted" for e in stack.events())


def exception_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert_valid(body, "exception")
    return body


def test_async_execute_is_201_with_location_and_status(stack):
    response = stack.http.post(
        "/processes/echo/execution",
        json={"inputs": {"message": "hello"}},
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Preference-Applied"] == "respond-async"
    body = response.json()
    assert_valid(body, "statusInfo")
    assert body["status"] == "accepted" and body["processID"] == "echo"
    assert response.headers["Location"] == f"{stack.url}/jobs/{body['jobID']}"
    # Read-your-writes: the job is there at once, whether or not the projector caught up.
    status = stack.http.get(response.headers["Location"])
    assert status.status_code == 200
    assert_valid(status.json(), "statusInfo")
    final = stack.wait_job(body["jobID"])
    assert final["status"] == "successful" and final["progress"] == 100
    results = stack.http.get(f"/jobs/{body['jobID']}/results")
    assert results.status_code == 200 and results.text == "hello"


def test_sync_execute_answers_the_result_and_records_the_job(stack):
    for prefer in (None, "respond-sync"):  # OWSLib sends respond-sync: tolerated
        headers = {"Prefer": prefer} if prefer else {}
        response = stack.http.post(
            "/processes/echo/execution", json={"inputs": {"message": "now"}}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.text == "now"
        job_url = response.headers["Link"].split(";")[0].strip("<>")
        assert stack.http.get(job_url).json()["status"] == "successful"


def test_progress_is_visible_while_running(stack):
    job_id = stack.submit("count", {"n": 30, "interval": 0.05})
    seen = []

    def succeeded() -> dict | None:
        status = stack.http.get(f"/jobs/{job_id}").json()
        assert_valid(status, "statusInfo")
        if status["status"] == "running" and status.get("progress") is not None:
            seen.append(status)
        return status if status["status"] == "successful" else None

    # An invalid status document fails at once rather than being looked at again.
    status = eventually(succeeded, 20, f"job {job_id} successful", retry_on=())
    assert seen, "never saw the job running with progress"
    middle = seen[len(seen) // 2]
    assert 0 <= middle["progress"] < 100
    assert middle["total"] == 30 and middle["message"].startswith("counted")
    assert middle["percent"] == pytest.approx(100 * middle["done"] / 30)
    assert status["done"] == 30 and status["message"] == "counted 30 of 30"


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"n": 0}, "inputs.n"),
        ({"n": "three"}, "inputs.n"),
        ({}, "inputs.n"),
        ({"n": 1, "bogus": 1}, "inputs.bogus"),
        ({"n": {"href": "http://example.com/n"}}, "href"),
    ],
)
def test_invalid_inputs_are_400_and_publish_nothing(stack, inputs, field):
    before = submissions(stack)
    body = exception_of(
        stack.http.post(
            "/processes/count/execution",
            json={"inputs": inputs},
            headers={"Prefer": "respond-async"},
        ),
        400,
    )
    assert field in body["detail"]
    assert submissions(stack) == before


def test_failed_job_reports_its_error(stack):
    job_id = stack.submit("fail", {"message": "disk on fire"})
    status = stack.wait_job(job_id)
    assert status["status"] == "failed"
    assert status["message"] == "disk on fire"
    body = exception_of(stack.http.get(f"/jobs/{job_id}/results"), 500)
    assert "ValueError: disk on fire" in body["detail"]


def test_dismissing_a_running_job_stops_it(stack):
    job_id = stack.submit("count", {"n": 200, "interval": 0.05})
    eventually(
        lambda: (stack.http.get(f"/jobs/{job_id}").json().get("done") or 0) >= 2,
        20,
        f"job {job_id} counting",
    )
    response = stack.http.delete(f"/jobs/{job_id}")
    assert response.status_code == 200
    assert_valid(response.json(), "statusInfo")
    assert response.json()["status"] == "dismissed"
    time.sleep(1.0)
    events = stack.events(job_id)
    assert [e.type for e in events].count("JobSucceeded") == 0
    assert stack.http.get(f"/jobs/{job_id}").json()["status"] == "dismissed"
    # The process saw the dismissal at its next progress call and stopped counting: no
    # progress follows the dismissal.
    types = [e.type for e in events]
    assert "JobProgressed" not in types[types.index("JobDismissed") :]
    assert max(e.done for e in events if e.type == "JobProgressed") < 200
    assert exception_of(stack.http.get(f"/jobs/{job_id}/results"), 404)
    assert stack.http.delete(f"/jobs/{job_id}").status_code == 200  # idempotent


def test_dismissing_a_queued_job_means_it_never_starts(make_stack):
    queued = make_stack().start("projector", "gateway", wait=False)
    queued.start_component("executor", process_modules='["jobstream_executor.builtin"]')
    queued.wait_ready()
    queued.stop("executor")
    job_id = queued.submit("echo", {"message": "never"})
    assert queued.http.delete(f"/jobs/{job_id}").json()["status"] == "dismissed"
    queued.start("executor", wait=False)
    later = queued.submit("echo", {"message": "after"})
    assert queued.wait_job(later)["status"] == "successful"  # the executor is working
    types = [e.type for e in queued.events(job_id)]
    assert types == ["JobSubmitted", "JobDismissed"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"inputs": {"message": "x", "pause": NaN}}', "inputs.pause"),
        ('{"inputs": {"message": "x", "pause": Infinity}}', "inputs.pause"),
        ('{"inputs": {"message": "\\ud800"}}', "inputs.message"),
        ('{"inputs": {"message": "x", "\\udc80": 1}}', "inputs."),
    ],
)
def test_inputs_that_are_not_plain_json_are_400(stack, body, field):
    before = submissions(stack)
    response = stack.http.post(
        "/processes/echo/execution",
        content=body,
        headers={"Content-Type": "application/json", "Prefer": "respond-async"},
    )
    assert field in exception_of(response, 400)["detail"]
    assert submissions(stack) == before


def test_a_request_too_large_for_an_event_is_413(stack):
    response = stack.http.post(
        "/processes/refuse/execution",  # its message has no bound of its own
        json={"inputs": {"message": "x" * 2_000_000}},
        headers={"Prefer": "respond-async"},
    )
    assert "bytes" in exception_of(response, 413)["detail"]
