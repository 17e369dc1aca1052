"""The job view's database out of reach: a job is folded from the stream where it can be, every
other read of the view is a 503 with Retry-After, never a 500, and never a half-made job."""

from collections.abc import AsyncIterator

import httpx
import pytest

from jobstream_contracts.access import Role

from ..support.inprocess import (
    UNREACHABLE_VIEW_PASSWORD,
    UNREACHABLE_VIEW_USER,
    Gateway,
    keyed_identity,
    serving,
    unreachable_view,
)
from .ogc import exception_of, submissions

ERRORS = "https://jobstream.dev/errors"


@pytest.fixture
async def view_down(settings, journal) -> AsyncIterator[Gateway]:
    """An open gateway (no authentication) whose view's database refuses connections."""
    async with serving(settings, journal, unreachable_view()) as gateway:
        yield gateway


@pytest.fixture
async def keyed_view_down(settings, journal) -> AsyncIterator[tuple[Gateway, dict[str, str]]]:
    """The same with API keys (a submitter's job count is read from the view), and the
    bearer header of a submitter and of an auditor."""
    identity, keys = keyed_identity({"alice": Role.SUBMITTER, "auditor": Role.AUDITOR})
    with_keys = settings.model_copy(update={"auth": "apikey"})
    async with serving(with_keys, journal, unreachable_view(), identity) as gateway:
        yield gateway, {name: f"Bearer {key}" for name, key in keys.items()}


def assert_view_unavailable(answer: httpx.Response) -> None:
    body = exception_of(answer, 503)
    assert body["type"] == f"{ERRORS}/service-unavailable"
    assert "job view is unavailable" in body["detail"]
    assert int(answer.headers["Retry-After"]) > 0
    for secret in (UNREACHABLE_VIEW_USER, UNREACHABLE_VIEW_PASSWORD, "127.0.0.1", "postgres"):
        assert secret not in answer.text


async def test_a_jobs_status_is_folded_from_the_stream_while_the_view_is_down(view_down):
    job_id = await view_down.submit("echo", {"message": "still here"})
    status = await view_down.http.get(f"/jobs/{job_id}")
    assert status.status_code == 200, status.text
    assert status.json()["status"] == "accepted"
    await view_down.run(job_id, {"echo": "still here"})
    results = await view_down.http.get(f"/jobs/{job_id}/results")
    assert (results.status_code, results.text) == (200, "still here")
    assert exception_of(await view_down.http.get("/jobs/no-such-job"), 404)


async def test_a_job_is_dismissed_while_the_view_is_down(view_down):
    job_id = await view_down.submit("echo", {"message": "stop"})
    dismissed = await view_down.http.delete(f"/jobs/{job_id}")
    assert (dismissed.status_code, dismissed.json()["status"]) == (200, "dismissed")
    assert [event.type for event in await view_down.events()] == ["JobSubmitted", "JobDismissed"]


@pytest.mark.parametrize("path", ["/jobs", "/datasets"])
async def test_a_read_of_the_view_is_503_with_retry_after(view_down, path):
    assert_view_unavailable(await view_down.http.get(path))


async def test_a_submission_needing_the_view_is_503_and_records_nothing(keyed_view_down):
    gateway, keys = keyed_view_down
    answer = await gateway.http.post(
        "/processes/echo/execution",
        json={"inputs": {"message": "counted first"}},
        headers={"Authorization": keys["alice"], "Prefer": "respond-async"},
    )
    assert_view_unavailable(answer)
    listed = await gateway.http.get("/jobs", headers={"Authorization": keys["auditor"]})
    assert_view_unavailable(listed)
    assert submissions(await gateway.events()) == 0
