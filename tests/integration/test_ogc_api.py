"""The OGC API - Processes surface over real HTTP, every body checked against the 1.0 schemas."""

import time
from datetime import datetime, timedelta, timezone

import pytest
from openapi_spec_validator import validate

from jobstream_contracts import __version__
from jobstream_contracts.ogc import CONFORMANCE_CLASSES

from ..support.ogc_schemas import assert_valid

OGC = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0"


def submissions(stack) -> int:
    """Jobs submitted so far (other events may still arrive from jobs of earlier tests)."""
    return sum(e.type == "JobSubmitted" for e in stack.events())


def exception_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert_valid(body, "exception")
    return body


def test_landing_page_links_every_resource(stack):
    response = stack.http.get("/")
    assert response.status_code == 200
    body = response.json()
    assert_valid(body, "landingPage")
    assert body["version"] == __version__
    as_html = stack.http.get("/", headers={"Accept": "text/html"})
    assert f"jobstream {__version__}" in as_html.text
    rels = {link["rel"] for link in body["links"]}
    assert {
        "service-desc",
        "service-doc",
        "http://www.opengis.net/def/rel/ogc/1.0/conformance",
        "http://www.opengis.net/def/rel/ogc/1.0/processes",
        "http://www.opengis.net/def/rel/ogc/1.0/job-list",
    } <= rels


def test_conformance_declares_the_classes_met(stack):
    body = stack.http.get("/conformance").json()
    assert_valid(body, "confClasses")
    assert set(body["conformsTo"]) == set(CONFORMANCE_CLASSES)
    for name in ("core", "ogc-process-description", "json", "oas30", "job-list", "dismiss"):
        assert (
            f"http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/{name}" in body["conformsTo"]
        )


def test_api_definition_is_valid_openapi_30(stack):
    response = stack.http.get("/api")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    document = response.json()
    assert document["openapi"].startswith("3.0.")
    assert document["info"]["version"] == __version__
    validate(document)  # raises on any 3.0 violation
    for path in (
        "/processes",
        "/processes/{process_id}",
        "/processes/{process_id}/execution",
        "/jobs",
        "/jobs/{job_id}",
        "/jobs/{job_id}/results",
    ):
        assert path in document["paths"]
    html = stack.http.get("/api.html")
    assert html.status_code == 200 and "swagger" in html.text.lower()


def test_process_list_pages_with_next_and_prev(stack):
    first = stack.http.get("/processes", params={"limit": 2})
    assert first.status_code == 200
    body = first.json()
    assert_valid(body, "processList")
    assert len(body["processes"]) == 2
    for summary in body["processes"]:
        assert_valid(summary, "processSummary")
    next_link = next(link["href"] for link in body["links"] if link["rel"] == "next")
    second = stack.http.get(next_link).json()
    assert {p["id"] for p in second["processes"]}.isdisjoint({p["id"] for p in body["processes"]})
    assert any(link["rel"] == "prev" for link in second["links"])
    everything = stack.http.get("/processes", params={"limit": 1000}).json()["processes"]
    assert [p["id"] for p in everything] == sorted(p["id"] for p in everything)


@pytest.mark.parametrize("process_id", ["echo", "count", "spin", "async-only"])
def test_process_descriptions_validate(stack, process_id):
    body = stack.http.get(f"/processes/{process_id}").json()
    assert_valid(body, "process")
    assert body["id"] == process_id
    for description in body["inputs"].values():
        assert_valid(description, "inputDescription")
        assert_valid(description["schema"], "schema")
    for description in body["outputs"].values():
        assert_valid(description, "outputDescription")


def test_unknown_process_is_404_no_such_process(stack):
    body = exception_of(stack.http.get("/processes/nope"), 404)
    assert body["type"] == f"{OGC}/no-such-process"
    body = exception_of(stack.http.post("/processes/nope/execution", json={"inputs": {}}), 404)
    assert body["type"] == f"{OGC}/no-such-process"


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


def test_read_your_writes_without_a_projector(make_stack):
    """With no projector at all, a submitted job is still found, from the stream."""
    bare = make_stack().start("executor", "gateway")
    job_id = bare.submit("echo", {"message": "no view"})
    assert bare.http.get(f"/jobs/{job_id}").status_code == 200
    assert bare.wait_job(job_id)["status"] == "successful"
    assert bare.http.get(f"/jobs/{job_id}/results").text == "no view"
    assert bare.http.get("/jobs").json()["jobs"] == []  # the list is the view's alone


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


def test_document_response_is_a_results_document(stack):
    response = stack.http.post(
        "/processes/count/execution",
        json={"inputs": {"n": 3, "interval": 0}, "response": "document"},
    )
    assert response.status_code == 200
    assert_valid(response.json(), "results")
    assert response.json() == {"count": 3}


def test_qualified_input_values_are_accepted(stack):
    response = stack.http.post(
        "/processes/echo/execution",
        json={"inputs": {"message": {"value": "qualified", "mediaType": "text/plain"}}},
    )
    assert response.status_code == 200 and response.text == "qualified"


def test_async_only_process_runs_async_without_prefer(stack):
    response = stack.http.post("/processes/async-only/execution", json={"inputs": {"seconds": 0}})
    assert response.status_code == 201
    assert "Preference-Applied" not in response.headers
    assert stack.wait_job(response.json()["jobID"])["status"] == "successful"


def test_progress_is_visible_while_running(stack):
    job_id = stack.submit("count", {"n": 30, "interval": 0.05})
    seen = []
    status: dict = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = stack.http.get(f"/jobs/{job_id}").json()
        assert_valid(status, "statusInfo")
        if status["status"] == "running" and status.get("progress") is not None:
            seen.append(status)
        if status["status"] == "successful":
            break
        time.sleep(0.05)
    assert status["status"] == "successful"
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


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "body"),
        ('{"inputs": [1, 2]}', "inputs"),
        ('{"inputs": {"n": 1}, "response": "zip"}', "response"),
        ('{"inputs": {"n": 1}, "outputs": {"nope": {}}}', "outputs.nope"),
        (
            '{"inputs": {"n": 1}, "outputs": {"count": {"transmissionMode": "reference"}}}',
            "transmissionMode",
        ),
    ],
)
def test_malformed_execute_requests_are_400(stack, body, field):
    before = submissions(stack)
    response = stack.http.post(
        "/processes/count/execution", content=body, headers={"Content-Type": "application/json"}
    )
    assert field in exception_of(response, 400)["detail"]
    assert submissions(stack) == before


def test_unknown_job_is_404_no_such_job(stack):
    for path in ("/jobs/0000", "/jobs/0000/results", "/jobs/a.b.c"):
        assert exception_of(stack.http.get(path), 404)["type"] == f"{OGC}/no-such-job"
    assert exception_of(stack.http.delete("/jobs/0000"), 404)["type"] == f"{OGC}/no-such-job"


def test_results_not_ready_while_running(stack):
    job_id = stack.submit("echo", {"message": "later", "pause": 2})
    body = exception_of(stack.http.get(f"/jobs/{job_id}/results"), 404)
    assert body["type"] == f"{OGC}/result-not-ready"
    stack.wait_job(job_id)


def test_failed_job_reports_its_error(stack):
    job_id = stack.submit("fail", {"message": "disk on fire"})
    status = stack.wait_job(job_id)
    assert status["status"] == "failed"
    assert status["message"] == "disk on fire"
    body = exception_of(stack.http.get(f"/jobs/{job_id}/results"), 500)
    assert "ValueError: disk on fire" in body["detail"]


def test_dismissing_a_running_job_stops_it(stack):
    job_id = stack.submit("count", {"n": 200, "interval": 0.05})
    deadline = time.monotonic() + 20
    while (stack.http.get(f"/jobs/{job_id}").json().get("done") or 0) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
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


def test_job_list_filters_and_pages(stack):
    ids = [stack.submit("echo", {"message": str(i)}) for i in range(3)]
    failed = stack.submit("fail", {"message": "x"})
    for job_id in [*ids, failed]:
        stack.wait_view(job_id)
    body = stack.http.get("/jobs", params={"limit": 2}).json()
    assert_valid(body, "jobList")
    assert len(body["jobs"]) == 2
    for job in body["jobs"]:
        assert_valid(job, "statusInfo")
        assert job["processID"]  # mandatory with job-list
    created = [job["created"] for job in body["jobs"]]
    assert created == sorted(created, reverse=True)
    next_page = stack.http.get(
        next(link["href"] for link in body["links"] if link["rel"] == "next")
    ).json()
    assert not {j["jobID"] for j in next_page["jobs"]} & {j["jobID"] for j in body["jobs"]}

    failed_jobs = stack.http.get("/jobs", params={"status": "failed", "limit": 1000}).json()["jobs"]
    assert failed in {j["jobID"] for j in failed_jobs}
    assert {j["status"] for j in failed_jobs} == {"failed"}
    echo = stack.http.get(
        "/jobs", params=[("processID", "echo"), ("processID", "count"), ("limit", 1000)]
    ).json()["jobs"]
    assert set(ids) <= {j["jobID"] for j in echo}
    assert {j["processID"] for j in echo} <= {"echo", "count"}
    assert stack.http.get("/jobs", params={"type": "process"}).status_code == 200


def test_job_list_datetime_and_duration(stack):
    quick = stack.submit("echo", {"message": "q"})
    slow = stack.submit("echo", {"message": "s", "pause": 1.2})
    stack.wait_view(quick)
    stack.wait_view(slow)
    created = stack.http.get(f"/jobs/{slow}").json()["created"]
    window = stack.http.get("/jobs", params={"datetime": f"{created}/..", "limit": 1000}).json()
    assert slow in {j["jobID"] for j in window["jobs"]}
    before = stack.http.get("/jobs", params={"datetime": f"../{created}", "limit": 1000}).json()
    assert quick in {j["jobID"] for j in before["jobs"]}
    long_ones = stack.http.get("/jobs", params={"minDuration": 1, "limit": 1000}).json()["jobs"]
    assert slow in {j["jobID"] for j in long_ones} and quick not in {j["jobID"] for j in long_ones}
    short = stack.http.get("/jobs", params={"maxDuration": 1, "limit": 1000}).json()["jobs"]
    assert quick in {j["jobID"] for j in short} and slow not in {j["jobID"] for j in short}
    assert all(j.get("started") for j in short)  # jobs never started have no duration


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"status": "bogus"}, "status"),
        ({"type": "workflow"}, "type"),
        ({"limit": 0}, "limit"),
        ({"limit": 5000}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"datetime": "2026-02-01T00:00:00Z/2026-01-01T00:00:00Z"}, "datetime"),
        ({"minDuration": "-1"}, "minDuration"),
        ({"maxDuration": "soon"}, "maxDuration"),
    ],
)
def test_bad_job_list_parameters_are_400(stack, params, name):
    assert name in exception_of(stack.http.get("/jobs", params=params), 400)["detail"]


def test_unknown_route_and_method_are_ogc_errors(stack):
    exception_of(stack.http.get("/nothing-here"), 404)
    exception_of(stack.http.put("/jobs"), 405)


def test_an_idempotency_key_returns_the_same_job(stack):
    body = {"inputs": {"message": "once"}}
    headers = {"Prefer": "respond-async", "Idempotency-Key": "test-key-1"}
    first = stack.http.post("/processes/echo/execution", json=body, headers=headers)
    again = stack.http.post("/processes/echo/execution", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["jobID"] == again.json()["jobID"]
    assert again.headers["Location"] == first.headers["Location"]
    assert_valid(again.json(), "statusInfo")
    stack.wait_job(first.json()["jobID"])
    # Synchronously with the same key: the recorded job's result, not a second run.
    sync = stack.http.post(
        "/processes/echo/execution", json=body, headers={"Idempotency-Key": "test-key-1"}
    )
    assert sync.status_code == 200 and sync.text == "once"
    submitted = [e for e in stack.events(first.json()["jobID"]) if e.type == "JobSubmitted"]
    assert len(submitted) == 1 and submitted[0].idempotency_key == "test-key-1"


def test_an_idempotency_key_reused_for_another_request_is_422(stack):
    headers = {"Prefer": "respond-async", "Idempotency-Key": "test-key-2"}
    assert (
        stack.http.post(
            "/processes/echo/execution", json={"inputs": {"message": "a"}}, headers=headers
        ).status_code
        == 201
    )
    before = submissions(stack)
    for path, body in (
        ("/processes/echo/execution", {"inputs": {"message": "b"}}),
        ("/processes/count/execution", {"inputs": {"n": 1}}),
    ):
        problem = exception_of(stack.http.post(path, json=body, headers=headers), 422)
        assert problem["type"] == "https://jobstream.dev/errors/idempotency-key-reused"
        assert "test-key-2" in problem["detail"]
    assert submissions(stack) == before


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
        "/processes/echo/execution",
        json={"inputs": {"message": "x" * 2_000_000}},
        headers={"Prefer": "respond-async"},
    )
    assert "bytes" in exception_of(response, 413)["detail"]


@pytest.mark.parametrize(
    "params", [{"offset": 10**19}, {"minDuration": 10**19}, {"maxDuration": 10**12}]
)
def test_absurd_numbers_in_the_job_list_are_400(stack, params):
    exception_of(stack.http.get("/jobs", params=params), 400)


def test_datetime_with_an_offset_is_compared_in_utc(stack):
    job_id = stack.submit("echo", {"message": "tz"})
    created = datetime.fromisoformat(stack.wait_view(job_id)["created"])
    # The same instant written two hours east of UTC, one second earlier.
    local = (created - timedelta(seconds=1)).astimezone(timezone(timedelta(hours=2)))
    jobs = stack.http.get(
        "/jobs", params={"datetime": f"{local.isoformat()}/..", "limit": 1000}
    ).json()["jobs"]
    assert job_id in {j["jobID"] for j in jobs}
