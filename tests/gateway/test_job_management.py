"""OGC API - Processes - Part 4 (Job Management): create a job, change it while it is
created, start it; in process, on a real journal."""

import asyncio

from jobstream_contracts.events import JobChanged, JobCreated, JobSubmitted

from ..support.inprocess import Gateway
from ..support.ogc_schemas import assert_valid, assert_valid_part4_status
from .ogc import OGC, exception_of, submissions

LOCKED = "http://www.opengis.net/def/exceptions/ogcapi-processes-4/1.0/locked"


async def create(gateway: Gateway, message: str = "first", **members) -> str:
    body = {"process": "echo", "inputs": {"message": message}, **members}
    answer = await gateway.http.post("/jobs", json=body)
    assert answer.status_code == 201, answer.text
    document = answer.json()
    assert_valid_part4_status(document)
    assert answer.headers["Location"].endswith(f"/jobs/{document['jobID']}")
    return document["jobID"]


async def test_a_created_job_is_recorded_created_and_submitted_to_no_executor(gateway):
    job_id = await create(gateway)
    events = await gateway.events()
    assert [type(event) for event in events] == [JobCreated]
    assert events[0].subject.endswith(f".{job_id}.created")
    assert submissions(events) == 0
    status = (await gateway.http.get(f"/jobs/{job_id}")).json()
    assert status["status"] == "created" and status["processID"] == "echo"
    results = await gateway.http.get(f"/jobs/{job_id}/results")
    assert exception_of(results, 404)["type"] == f"{OGC}/result-not-ready"


async def test_the_process_may_be_named_by_the_url_of_its_description(gateway):
    url = str(gateway.http.base_url).rstrip("/") + "/processes/echo"
    answer = await gateway.http.post("/jobs", json={"process": url, "inputs": {"message": "m"}})
    assert answer.status_code == 201, answer.text
    elsewhere = {"process": "https://elsewhere.example/processes/echo"}
    exception_of(await gateway.http.post("/jobs", json=elsewhere), 400)


async def test_a_creation_is_checked_as_an_execution_is_before_anything_is_recorded(gateway):
    for body, status in (
        ({"process": "nope"}, 404),
        ({"process": "echo", "inputs": {}}, 400),
        ({"process": "echo", "inputs": {"message": 3}}, 400),
        ({"process": "echo", "inputs": {"message": "m"}, "outputs": {"nope": {}}}, 400),
        ({"inputs": {"message": "m"}}, 400),
    ):
        exception_of(await gateway.http.post("/jobs", json=body), status)
    assert await gateway.events() == []


async def test_a_patch_merges_into_the_request_and_is_checked_again(gateway):
    job_id = await create(gateway, response="document")
    answer = await gateway.http.patch(f"/jobs/{job_id}", json={"inputs": {"message": "second"}})
    assert answer.status_code == 200, answer.text
    assert_valid_part4_status(answer.json())
    refused = await gateway.http.patch(f"/jobs/{job_id}", json={"inputs": {"message": None}})
    exception_of(refused, 400)  # the merge removed a required input
    exception_of(await gateway.http.patch(f"/jobs/{job_id}", json={"process": "fail"}), 400)
    events = await gateway.events()
    assert [type(event) for event in events] == [JobCreated, JobChanged]
    change = events[1]
    assert isinstance(change, JobChanged)
    assert change.inputs == {"message": "second"} and change.response == "document"


async def test_a_start_submits_the_patched_request_and_locks_the_job(gateway):
    job_id = await create(gateway)
    await gateway.http.patch(f"/jobs/{job_id}", json={"inputs": {"message": "patched"}})
    started = await gateway.http.post(f"/jobs/{job_id}/results")
    assert started.status_code == 200, started.text
    assert_valid(started.json(), "statusInfo")
    assert started.json()["status"] == "accepted"
    submitted = (await gateway.events())[-1]
    assert isinstance(submitted, JobSubmitted)
    assert submitted.inputs == {"message": "patched"} and submitted.job_id == job_id
    assert submitted.subject.endswith(f".{job_id}.submitted")
    await gateway.succeed(submitted, {"echo": "patched"})  # what an executor appends
    assert (await gateway.http.get(f"/jobs/{job_id}/results")).text == "patched"
    late = await gateway.http.patch(f"/jobs/{job_id}", json={"inputs": {"message": "late"}})
    assert exception_of(late, 423)["type"] == LOCKED
    again = await gateway.http.post(f"/jobs/{job_id}/results")
    assert exception_of(again, 423)["type"] == LOCKED


async def test_a_created_jobs_provenance_begins_when_it_starts(gateway):
    job_id = await create(gateway)
    before = await gateway.http.get(f"/jobs/{job_id}/prov")
    assert "has not started" in exception_of(before, 404)["detail"]
    await gateway.http.post(f"/jobs/{job_id}/results")
    started = await gateway.http.get(f"/jobs/{job_id}/prov")
    assert started.status_code == 200, started.text
    assert f"job:{job_id}" in str(started.json()["activity"])


async def test_a_created_job_is_found_by_a_rerun_and_refused_until_it_has_run(gateway):
    job_id = await create(gateway)
    refused = await gateway.http.post(f"/jobs/{job_id}/rerun")
    assert "was created and never started" in exception_of(refused, 409)["detail"]


async def test_two_starts_at_once_submit_the_job_once(gateway):
    job_id = await create(gateway)
    answers = await asyncio.gather(
        *(gateway.http.post(f"/jobs/{job_id}/results") for _ in range(4))
    )
    assert sorted(answer.status_code for answer in answers) == [200, 423, 423, 423]
    assert submissions(await gateway.events()) == 1


async def test_a_part_1_job_is_locked_and_an_unknown_one_not_found(gateway):
    job_id = await gateway.submit("echo", {"message": "m"})
    patched = await gateway.http.patch(f"/jobs/{job_id}", json={"inputs": {"message": "x"}})
    assert exception_of(patched, 423)["type"] == LOCKED
    assert exception_of(await gateway.http.post(f"/jobs/{job_id}/results"), 423)
    for answer in (
        await gateway.http.patch("/jobs/0000", json={}),
        await gateway.http.post("/jobs/0000/results"),
    ):
        assert exception_of(answer, 404)["type"] == f"{OGC}/no-such-job"


async def test_a_created_job_is_listed_by_status_and_may_be_dismissed(gateway):
    job_id = await create(gateway)
    other = await gateway.submit("echo", {"message": "m"})
    await gateway.project()
    listed = (await gateway.http.get("/jobs", params={"status": "created"})).json()
    assert [job["jobID"] for job in listed["jobs"]] == [job_id]
    accepted = (await gateway.http.get("/jobs", params={"status": "accepted"})).json()
    assert [job["jobID"] for job in accepted["jobs"]] == [other]
    dismissed = await gateway.http.delete(f"/jobs/{job_id}")
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert "started" not in dismissed.json()
    assert exception_of(await gateway.http.post(f"/jobs/{job_id}/results"), 423)
    assert submissions(await gateway.events()) == 1  # the Part 1 job's only


async def test_an_idempotency_key_sent_again_with_the_same_request_is_the_same_job(gateway):
    body = {"process": "echo", "inputs": {"message": "once"}}
    key = {"Idempotency-Key": "nightly-2026-05-01"}
    answers = await asyncio.gather(
        *(gateway.http.post("/jobs", json=body, headers=key) for _ in range(4))
    )
    assert {answer.status_code for answer in answers} == {201}
    (job_id,) = {answer.json()["jobID"] for answer in answers}
    assert {answer.headers["Location"] for answer in answers} == {answers[0].headers["Location"]}
    created = await gateway.events()
    assert [type(event) for event in created] == [JobCreated]
    assert (
        isinstance(created[0], JobCreated) and created[0].idempotency_key == key["Idempotency-Key"]
    )
    # Later, after a start: the same job, as it is now; still one creation.
    assert (await gateway.http.post(f"/jobs/{job_id}/results")).status_code == 200
    again = await gateway.http.post("/jobs", json=body, headers=key)
    assert again.status_code == 201, again.text
    assert (again.json()["jobID"], again.json()["status"]) == (job_id, "accepted")
    assert [type(event) for event in await gateway.events()] == [JobCreated, JobSubmitted]


async def test_an_idempotency_key_sent_with_another_request_is_refused(gateway):
    key = {"Idempotency-Key": "k-1"}
    first = {"process": "echo", "inputs": {"message": "first"}}
    assert (await gateway.http.post("/jobs", json=first, headers=key)).status_code == 201
    other = {"process": "echo", "inputs": {"message": "other"}}
    refused = exception_of(await gateway.http.post("/jobs", json=other, headers=key), 422)
    assert refused["type"] == "https://jobstream.dev/errors/idempotency-key-reused"
    assert "k-1" in refused["detail"]
    # An execution of the same request is another request: it would run now, not wait.
    executed = await gateway.http.post(
        "/processes/echo/execution",
        json={"inputs": {"message": "first"}},
        headers={"Prefer": "respond-async", **key},
    )
    exception_of(executed, 422)
    assert len(await gateway.events()) == 1


async def test_a_jobs_definition_is_the_request_as_changed_and_creates_the_same_job(gateway):
    secret = "hunter2"
    job_id = await create(gateway, f"https://reader:{secret}@data.example/a?token={secret}")
    patch = {"inputs": {"message": f"https://data.example/b?token={secret}"}, "priority": "low"}
    assert (await gateway.http.patch(f"/jobs/{job_id}", json=patch)).status_code == 200
    answer = await gateway.http.get(f"/jobs/{job_id}/definition")
    assert answer.status_code == 200, answer.text
    definition = answer.json()
    base = str(gateway.http.base_url).rstrip("/")
    assert {name: value for name, value in definition.items() if name != "links"} == {
        "process": f"{base}/processes/echo",
        "inputs": {"message": "https://data.example/b"},
        "outputs": {},
        "response": "raw",
        "priority": "low",
    }
    assert secret not in answer.text
    assert definition["links"][0]["href"] == f"{base}/jobs/{job_id}/definition"
    # A definition is a body POST /jobs takes: the same request, as another job.
    again = await gateway.http.post("/jobs", json=definition)
    assert again.status_code == 201, again.text
    copy = (await gateway.http.get(f"/jobs/{again.json()['jobID']}/definition")).json()
    assert {**copy, "links": []} == {**definition, "links": []}


async def test_a_part_1_jobs_definition_is_its_execute_request(gateway):
    body = {"inputs": {"message": "m"}, "response": "document"}
    answer = await gateway.http.post(
        "/processes/echo/execution", json=body, headers={"Prefer": "respond-async"}
    )
    definition = (await gateway.http.get(f"/jobs/{answer.json()['jobID']}/definition")).json()
    assert definition["process"].endswith("/processes/echo")
    assert (definition["inputs"], definition["response"]) == (body["inputs"], "document")
    missing = await gateway.http.get("/jobs/0000/definition")
    assert exception_of(missing, 404)["type"] == f"{OGC}/no-such-job"


async def test_conformance_declares_job_management(gateway):
    classes = (await gateway.http.get("/conformance")).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-processes-4/1.0/conf/job-management" in classes
