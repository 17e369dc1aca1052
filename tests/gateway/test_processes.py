"""The process list, descriptions and execution: async, sync, idempotent, refused."""

from typing import Any

import pytest

from jobstream_contracts.events import JobSubmitted
from jobstream_contracts.ogc import InputDescription, OutputDescription, ProcessDescription
from jobstream_executor.builtin import ECHO_MAX_LENGTH

from ..support.inprocess import BASE_URL
from ..support.ogc_schemas import assert_valid
from .ogc import OGC, exception_of, submissions


def results_of(submission: JobSubmitted) -> dict:
    """What the test processes answer: echo its message, count its n."""
    if submission.process_id == "count":
        return {"count": submission.inputs["n"]}
    message = submission.inputs.get("message")
    return {"echo": message["value"] if isinstance(message, dict) else message}


async def test_process_list_pages_with_next_and_prev(gateway):
    first = await gateway.http.get("/processes", params={"limit": 2})
    assert first.status_code == 200
    body = first.json()
    assert_valid(body, "processList")
    assert len(body["processes"]) == 2
    for summary in body["processes"]:
        assert_valid(summary, "processSummary")
    next_link = next(link["href"] for link in body["links"] if link["rel"] == "next")
    second = (await gateway.http.get(next_link)).json()
    assert {p["id"] for p in second["processes"]}.isdisjoint({p["id"] for p in body["processes"]})
    assert any(link["rel"] == "prev" for link in second["links"])
    listed = await gateway.http.get("/processes", params={"limit": 1000})
    everything = listed.json()["processes"]
    assert [p["id"] for p in everything] == sorted(p["id"] for p in everything)


@pytest.mark.parametrize("process_id", ["echo", "count", "spin", "async-only"])
async def test_process_descriptions_validate(gateway, process_id):
    response = await gateway.http.get(f"/processes/{process_id}")
    assert response.status_code == 200
    body = response.json()
    assert_valid(body, "process")
    assert body["id"] == process_id
    assert "inputs" in body and "outputs" in body


async def test_unknown_process_is_404_no_such_process(gateway):
    body = exception_of(await gateway.http.get("/processes/nope"), 404)
    assert body["type"] == f"{OGC}/no-such-process"
    answer = await gateway.http.post("/processes/nope/execution", json={"inputs": {}})
    assert exception_of(answer, 404)["type"] == f"{OGC}/no-such-process"


async def test_async_execute_is_201_with_location_and_status(gateway):
    response = await gateway.http.post(
        "/processes/echo/execution",
        json={"inputs": {"message": "hello"}},
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Preference-Applied"] == "respond-async"
    body = response.json()
    assert_valid(body, "statusInfo")
    assert body["status"] == "accepted" and body["processID"] == "echo"
    assert response.headers["Location"] == f"{BASE_URL}/jobs/{body['jobID']}"
    # Read-your-writes: the job is there at once, though no projector folded it.
    status = await gateway.http.get(response.headers["Location"])
    assert status.status_code == 200
    assert_valid(status.json(), "statusInfo")
    await gateway.run(body["jobID"], {"echo": "hello"})
    final = (await gateway.http.get(f"/jobs/{body['jobID']}")).json()
    assert final["status"] == "successful" and final["progress"] == 100
    results = await gateway.http.get(f"/jobs/{body['jobID']}/results")
    assert results.status_code == 200 and results.text == "hello"


async def test_a_job_is_read_from_the_journal_until_the_view_has_it(gateway):
    job_id = await gateway.submit("echo", {"message": "no view"})
    await gateway.run(job_id, {"echo": "no view"})
    assert (await gateway.http.get(f"/jobs/{job_id}")).json()["status"] == "successful"
    assert (await gateway.http.get("/jobs")).json()["jobs"] == []  # the list is the view's
    await gateway.project()
    listed = (await gateway.http.get("/jobs")).json()["jobs"]
    assert [(job["jobID"], job["status"]) for job in listed] == [(job_id, "successful")]


async def test_sync_execute_answers_the_result_and_records_the_job(gateway):
    async with gateway.finishing(results_of):
        for prefer in (None, "respond-sync"):  # OWSLib sends respond-sync: tolerated
            headers = {"Prefer": prefer} if prefer else {}
            response = await gateway.http.post(
                "/processes/echo/execution", json={"inputs": {"message": "now"}}, headers=headers
            )
            assert response.status_code == 200, response.text
            assert response.text == "now"
            job_url = response.headers["Link"].split(";")[0].strip("<>")
            assert (await gateway.http.get(job_url)).json()["status"] == "successful"


async def test_a_sync_execute_not_finished_in_time_answers_like_an_async_one(
    settings, journal, tmp_path
):
    from ..support.inprocess import serving, view_engine

    quick = settings.model_copy(update={"sync_timeout": 0.3})
    async with serving(quick, journal, view_engine(tmp_path)) as gateway:
        response = await gateway.http.post(
            "/processes/echo/execution", json={"inputs": {"message": "late"}}
        )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "accepted"
    assert response.headers["Location"].endswith(response.json()["jobID"])


async def test_document_response_is_a_results_document(gateway):
    async with gateway.finishing(results_of):
        response = await gateway.http.post(
            "/processes/count/execution",
            json={"inputs": {"n": 3, "interval": 0}, "response": "document"},
        )
    assert response.status_code == 200
    assert_valid(response.json(), "results")
    assert response.json() == {"count": 3}


async def test_qualified_input_values_are_accepted(gateway):
    async with gateway.finishing(results_of):
        response = await gateway.http.post(
            "/processes/echo/execution",
            json={"inputs": {"message": {"value": "qualified", "mediaType": "text/plain"}}},
        )
    assert response.status_code == 200 and response.text == "qualified"


async def test_async_only_process_runs_async_without_prefer(gateway):
    response = await gateway.http.post(
        "/processes/async-only/execution", json={"inputs": {"seconds": 0}}
    )
    assert response.status_code == 201
    assert "Preference-Applied" not in response.headers


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
async def test_invalid_inputs_are_400_and_publish_nothing(gateway, inputs, field):
    response = await gateway.http.post(
        "/processes/count/execution",
        json={"inputs": inputs},
        headers={"Prefer": "respond-async"},
    )
    assert field in exception_of(response, 400)["detail"]
    assert submissions(await gateway.events()) == 0


async def test_an_echo_message_longer_than_its_bound_is_400_naming_it(gateway):
    response = await gateway.http.post(
        "/processes/echo/execution",
        json={"inputs": {"message": "x" * (ECHO_MAX_LENGTH + 1)}},
        headers={"Prefer": "respond-async"},
    )
    assert "inputs.message" in exception_of(response, 400)["detail"]
    assert submissions(await gateway.events()) == 0


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
async def test_malformed_execute_requests_are_400(gateway, body, field):
    response = await gateway.http.post(
        "/processes/count/execution", content=body, headers={"Content-Type": "application/json"}
    )
    assert field in exception_of(response, 400)["detail"]
    assert submissions(await gateway.events()) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"inputs": {"message": "x", "pause": NaN}}', "inputs.pause"),
        ('{"inputs": {"message": "x", "pause": Infinity}}', "inputs.pause"),
        ('{"inputs": {"message": "\\ud800"}}', "inputs.message"),
        ('{"inputs": {"message": "x", "\\udc80": 1}}', "inputs."),
    ],
)
async def test_inputs_that_are_not_plain_json_are_400(gateway, body, field):
    response = await gateway.http.post(
        "/processes/echo/execution",
        content=body,
        headers={"Content-Type": "application/json", "Prefer": "respond-async"},
    )
    assert field in exception_of(response, 400)["detail"]
    assert submissions(await gateway.events()) == 0


async def test_a_request_too_large_for_an_event_is_413(gateway):
    response = await gateway.http.post(
        "/processes/refuse/execution",  # its message has no bound of its own
        json={"inputs": {"message": "x" * 2_000_000}},
        headers={"Prefer": "respond-async"},
    )
    assert "bytes" in exception_of(response, 413)["detail"]


async def test_an_idempotency_key_returns_the_same_job(gateway):
    body = {"inputs": {"message": "once"}}
    headers = {"Prefer": "respond-async", "Idempotency-Key": "test-key-1"}
    first = await gateway.http.post("/processes/echo/execution", json=body, headers=headers)
    again = await gateway.http.post("/processes/echo/execution", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["jobID"] == again.json()["jobID"]
    assert again.headers["Location"] == first.headers["Location"]
    assert_valid(again.json(), "statusInfo")
    await gateway.run(first.json()["jobID"], {"echo": "once"})
    # Synchronously with the same key: the recorded job's result, not a second run.
    sync = await gateway.http.post(
        "/processes/echo/execution", json=body, headers={"Idempotency-Key": "test-key-1"}
    )
    assert sync.status_code == 200 and sync.text == "once"
    submitted = [e for e in await gateway.events() if isinstance(e, JobSubmitted)]
    assert len(submitted) == 1 and submitted[0].idempotency_key == "test-key-1"


async def test_an_idempotency_key_reused_for_another_request_is_422(gateway):
    headers = {"Prefer": "respond-async", "Idempotency-Key": "test-key-2"}
    answer = await gateway.http.post(
        "/processes/echo/execution", json={"inputs": {"message": "a"}}, headers=headers
    )
    assert answer.status_code == 201
    for path, body in (
        ("/processes/echo/execution", {"inputs": {"message": "b"}}),
        ("/processes/count/execution", {"inputs": {"n": 1}}),
    ):
        problem = exception_of(await gateway.http.post(path, json=body, headers=headers), 422)
        assert problem["type"] == "https://jobstream.dev/errors/idempotency-key-reused"
        assert "test-key-2" in problem["detail"]
    assert submissions(await gateway.events()) == 1


def nested(depth: int) -> dict[str, Any]:
    """Objects nested ``depth`` levels deep, built without recursion."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.fixture
def keep(gateway):
    """The gateway, also offering a process whose one input takes any object."""
    gateway.ctx.catalog.entries["keep"] = ProcessDescription(
        id="keep",
        version="1.0.0",
        inputs={"data": InputDescription(schema={"type": "object"})},
        outputs={"data": OutputDescription(schema={"type": "object"})},
    )
    return gateway


async def test_an_input_nested_300_deep_is_400_naming_it_and_records_nothing(keep):
    response = await keep.http.post(
        "/processes/keep/execution",
        json={"inputs": {"data": nested(300)}},
        headers={"Prefer": "respond-async"},
    )
    body = exception_of(response, 400)
    assert body["detail"].startswith("inputs.data: ") and "64" in body["detail"], body
    assert submissions(await keep.events()) == 0


async def test_a_body_nested_deeper_than_the_json_parser_goes_is_400_naming_the_body(gateway):
    deep = "[" * 100_000 + "]" * 100_000
    response = await gateway.http.post(
        "/processes/echo/execution",
        content=f'{{"inputs": {{"message": {deep}}}}}',
        headers={"Content-Type": "application/json", "Prefer": "respond-async"},
    )
    body = exception_of(response, 400)
    assert body["type"] == "https://jobstream.dev/errors/invalid-parameter"
    assert body["detail"].startswith("body: not JSON"), body
    assert submissions(await gateway.events()) == 0


async def test_an_input_nested_64_deep_is_taken(keep):
    job_id = await keep.submit("keep", {"data": nested(64)})
    [submitted] = await keep.events()
    assert isinstance(submitted, JobSubmitted) and submitted.job_id == job_id
    assert submitted.inputs == {"data": nested(64)}


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ({"traceparent": TRACEPARENT}, {"traceparent": TRACEPARENT}),
        ({"traceparent": "00-not-a-trace-01"}, {}),
        ({}, {}),
    ],
)
async def test_a_submission_carries_the_callers_valid_traceparent_without_export(
    gateway, sent, stored
):
    # No OTEL_* variables here: no server span, and still the caller's trace goes on.
    job_id = await gateway.submit("echo", {"message": "traced"}, **sent)
    (submission,) = [event for event in await gateway.events() if event.job_id == job_id]
    assert isinstance(submission, JobSubmitted)
    assert {k: v for k, v in submission.trace.items() if k == "traceparent"} == stored
