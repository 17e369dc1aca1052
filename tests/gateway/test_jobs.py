"""Job status, results, dismissal and the job list with its filters."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from jobstream_contracts.events import (
    ErrorInfo,
    JobDismissed,
    JobFailed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)

from ..support.inprocess import Gateway
from ..support.ogc_schemas import assert_valid
from .ogc import OGC, exception_of

AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


async def job_that_ran(gateway: Gateway, process: str, seconds: float, created: datetime) -> str:
    """A job submitted at ``created`` that ran for ``seconds``, as the journal records it."""
    submitted = JobSubmitted(job_id=uuid.uuid4().hex, process_id=process, time=created)
    started = created + timedelta(seconds=1)
    await gateway.append(
        submitted,
        JobStarted(job_id=submitted.job_id, process_id=process, executor="t", time=started),
        JobSucceeded(
            job_id=submitted.job_id, process_id=process, time=started + timedelta(seconds=seconds)
        ),
    )
    return submitted.job_id


async def test_unknown_job_is_404_no_such_job(gateway):
    for path in ("/jobs/0000", "/jobs/0000/results", "/jobs/a.b.c"):
        answer = await gateway.http.get(path)
        assert exception_of(answer, 404)["type"] == f"{OGC}/no-such-job"
    answer = await gateway.http.delete("/jobs/0000")
    assert exception_of(answer, 404)["type"] == f"{OGC}/no-such-job"


async def test_results_not_ready_while_running(gateway):
    job_id = await gateway.submit("echo", {"message": "later"})
    await gateway.append(JobStarted(job_id=job_id, process_id="echo", executor="t", attempt=1))
    body = exception_of(await gateway.http.get(f"/jobs/{job_id}/results"), 404)
    assert body["type"] == f"{OGC}/result-not-ready"


async def test_failed_job_reports_its_error(gateway):
    job_id = await gateway.submit("fail", {"message": "disk on fire"})
    error = ErrorInfo(type="ValueError", detail="disk on fire")
    await gateway.append(JobFailed(job_id=job_id, process_id="fail", attempt=1, error=error))
    status = (await gateway.http.get(f"/jobs/{job_id}")).json()
    assert status["status"] == "failed"
    assert status["message"] == "disk on fire"
    body = exception_of(await gateway.http.get(f"/jobs/{job_id}/results"), 500)
    assert "ValueError: disk on fire" in body["detail"]


async def test_dismissing_a_job_records_it_once_and_withdraws_its_results(gateway):
    job_id = await gateway.submit("count", {"n": 200})
    await gateway.append(JobStarted(job_id=job_id, process_id="count", executor="t", attempt=1))
    response = await gateway.http.delete(f"/jobs/{job_id}")
    assert response.status_code == 200
    assert_valid(response.json(), "statusInfo")
    assert response.json()["status"] == "dismissed"
    assert (await gateway.http.get(f"/jobs/{job_id}")).json()["status"] == "dismissed"
    assert exception_of(await gateway.http.get(f"/jobs/{job_id}/results"), 404)
    assert (await gateway.http.delete(f"/jobs/{job_id}")).status_code == 200  # idempotent
    dismissals = [e for e in await gateway.events() if isinstance(e, JobDismissed)]
    assert len(dismissals) == 1 and dismissals[0].job_id == job_id


async def test_job_list_filters_and_pages(gateway):
    ids = [await gateway.submit("echo", {"message": str(i)}) for i in range(3)]
    failed = await gateway.submit("fail", {"message": "x"})
    error = ErrorInfo(type="ValueError", detail="x")
    await gateway.append(JobFailed(job_id=failed, process_id="fail", attempt=1, error=error))
    await gateway.project()
    body = (await gateway.http.get("/jobs", params={"limit": 2})).json()
    assert_valid(body, "jobList")
    assert len(body["jobs"]) == 2
    for job in body["jobs"]:
        assert_valid(job, "statusInfo")
        assert job["processID"]  # mandatory with job-list
    created = [job["created"] for job in body["jobs"]]
    assert created == sorted(created, reverse=True)
    next_href = next(link["href"] for link in body["links"] if link["rel"] == "next")
    next_page = (await gateway.http.get(next_href)).json()
    assert not {j["jobID"] for j in next_page["jobs"]} & {j["jobID"] for j in body["jobs"]}

    listed = await gateway.http.get("/jobs", params={"status": "failed"})
    assert [(j["jobID"], j["status"]) for j in listed.json()["jobs"]] == [(failed, "failed")]
    echo = await gateway.http.get(
        "/jobs", params=[("processID", "echo"), ("processID", "count"), ("limit", 1000)]
    )
    assert {j["jobID"] for j in echo.json()["jobs"]} == set(ids)
    assert (await gateway.http.get("/jobs", params={"type": "process"})).status_code == 200


async def test_job_list_datetime_and_duration(gateway):
    quick = await job_that_ran(gateway, "echo", 0.1, AN_HOUR_AGO)
    slow = await job_that_ran(gateway, "count", 5, AN_HOUR_AGO + timedelta(minutes=10))
    await gateway.project()

    async def listed(**params) -> set[str]:
        answer = await gateway.http.get("/jobs", params={**params, "limit": 1000})
        assert answer.status_code == 200, answer.text
        return {job["jobID"] for job in answer.json()["jobs"]}

    created = (await gateway.http.get(f"/jobs/{slow}")).json()["created"]
    assert await listed(datetime=f"{created}/..") == {slow}
    assert await listed(datetime=f"../{created}") == {quick, slow}
    assert await listed(minDuration=1) == {slow}
    assert await listed(maxDuration=1) == {quick}


async def test_datetime_with_an_offset_is_compared_in_utc(gateway):
    job_id = await job_that_ran(gateway, "echo", 0.1, AN_HOUR_AGO)
    await gateway.project()
    # The same instant written two hours east of UTC, one second earlier.
    local = (AN_HOUR_AGO - timedelta(seconds=1)).astimezone(timezone(timedelta(hours=2)))
    answer = await gateway.http.get("/jobs", params={"datetime": f"{local.isoformat()}/.."})
    assert job_id in {j["jobID"] for j in answer.json()["jobs"]}


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
async def test_bad_job_list_parameters_are_400(gateway, params, name):
    assert name in exception_of(await gateway.http.get("/jobs", params=params), 400)["detail"]


@pytest.mark.parametrize(
    "params", [{"offset": 10**19}, {"minDuration": 10**19}, {"maxDuration": 10**12}]
)
async def test_absurd_numbers_in_the_job_list_are_400(gateway, params):
    exception_of(await gateway.http.get("/jobs", params=params), 400)


async def test_unknown_route_and_method_are_ogc_errors(gateway):
    exception_of(await gateway.http.get("/nothing-here"), 404)
    exception_of(await gateway.http.put("/jobs"), 405)
