"""A job's history, its status as of an instant, event streams and long-polls."""

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest

from jobstream_contracts.cloudevents import event_of
from jobstream_contracts.events import (
    ErrorInfo,
    Event,
    JobProgressed,
    JobRetryScheduled,
    JobStarted,
    JobSucceeded,
)
from jobstream_contracts.fold import fold
from jobstream_contracts.ogc import StatusCode

from ..support.inprocess import BASE_URL, Gateway, open_stream, serving, view_engine

SSE = {"Accept": "text/event-stream"}


def counted(job_id: str, n: int) -> list[Event]:
    """What an executor running ``count`` with ``n`` appends."""
    done = [
        JobProgressed(job_id=job_id, process_id="count", attempt=1, done=i, total=n)
        for i in range(1, n + 1)
    ]
    return [
        JobStarted(job_id=job_id, process_id="count", executor="test", attempt=1),
        *done,
        JobSucceeded(job_id=job_id, process_id="count", attempt=1, results={"count": n}),
    ]


async def counted_job(gateway: Gateway, n: int) -> str:
    job_id = await gateway.submit("count", {"n": n})
    await gateway.append(*counted(job_id, n))
    return job_id


async def history(gateway: Gateway, job_id: str, limit: int = 100) -> list[dict]:
    """Every CloudEvent of the job, page by page through the `next` links."""
    url: str | None = f"/jobs/{job_id}/events?limit={limit}"
    events: list[dict] = []
    while url:
        response = await gateway.http.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        events += body["events"]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return events


async def test_history_is_the_jobs_events_in_stream_order_paged(gateway):
    job_id = await counted_job(gateway, 5)
    recorded = await gateway.events()
    for limit in (1, 2, 100):
        events = await history(gateway, job_id, limit)
        assert [e["id"] for e in events] == [str(e.event_id) for e in recorded]
        sequences = [e["sequence"] for e in events]
        assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    for cloudevent, event in zip(await history(gateway, job_id), recorded, strict=True):
        assert cloudevent["specversion"] == "1.0"
        assert cloudevent["subject"] == job_id
        assert cloudevent["source"] == "/processes/count"
        assert cloudevent["type"] == f"dev.jobstream.{event.type}"
        assert event_of(cloudevent)[1] == event


async def test_history_pages_after_a_sequence(gateway):
    job_id = await counted_job(gateway, 3)
    events = await history(gateway, job_id)
    third = events[2]["sequence"]
    page = await gateway.http.get(f"/jobs/{job_id}/events", params={"after": third, "limit": 1})
    assert [e["sequence"] for e in page.json()["events"]] == [events[3]["sequence"]]
    last = await gateway.http.get(
        f"/jobs/{job_id}/events", params={"after": events[-1]["sequence"]}
    )
    assert last.json()["events"] == []
    assert not [link for link in last.json()["links"] if link["rel"] == "next"]


async def test_the_status_links_its_history_and_unknown_jobs_are_404(gateway):
    job_id = await gateway.submit("echo", {"message": "hi"})
    status = (await gateway.http.get(f"/jobs/{job_id}")).json()
    history_links = [link["href"] for link in status["links"] if link["rel"].endswith("/history")]
    assert history_links == [f"{BASE_URL}/jobs/{job_id}/events"]
    for unknown in (str(uuid.uuid4()), "not.a.job"):
        response = await gateway.http.get(f"/jobs/{unknown}/events")
        assert response.status_code == 404
        assert response.json()["type"].endswith("/no-such-job")
    bad = await gateway.http.get(f"/jobs/{job_id}/events", params={"limit": 5000})
    assert bad.status_code == 400 and "limit" in bad.json()["detail"]


async def test_status_at_an_instant_is_the_fold_of_the_events_recorded_by_then(gateway):
    # A failed attempt, success, then a dismissal that withdraws the results.
    job_id = await gateway.submit("count", {"n": 1})
    failure = ErrorInfo(type="ValueError", detail="not yet")
    await gateway.append(
        JobStarted(job_id=job_id, process_id="count", executor="test", attempt=1),
        JobRetryScheduled(
            job_id=job_id,
            process_id="count",
            attempt=1,
            error=failure,
            delay=0.1,
            retry_at=datetime.now().astimezone() + timedelta(seconds=0.1),
        ),
        *counted(job_id, 1),
    )
    assert (await gateway.http.delete(f"/jobs/{job_id}")).status_code == 200
    events = await history(gateway, job_id)
    kinds = [e["data"]["type"] for e in events]
    assert kinds.count("JobRetryScheduled") == 1 and kinds[-1] == "JobDismissed"
    before = datetime.fromisoformat(events[0]["recorded"]) - timedelta(seconds=1)
    answer = await gateway.http.get(f"/jobs/{job_id}", params={"at": before.isoformat()})
    assert answer.status_code == 404
    for i, cloudevent in enumerate(events):
        expected = fold(event_of(e)[1] for e in events[: i + 1])
        assert expected is not None
        response = await gateway.http.get(f"/jobs/{job_id}", params={"at": cloudevent["recorded"]})
        assert response.status_code == 200, response.text
        status = response.json()
        assert status["status"] == expected.status.value, (i, kinds[i])
        assert status.get("attempt") == (expected.attempt or None)
        assert status.get("message") == expected.message
        assert status.get("progress") == expected.progress


@pytest.mark.parametrize("at", ["yesterday", "2026-13-01T00:00:00Z"])
async def test_a_bad_instant_is_400_naming_at(gateway, at):
    job_id = await gateway.submit("echo", {"message": "x"})
    response = await gateway.http.get(f"/jobs/{job_id}", params={"at": at})
    assert response.status_code == 400 and response.json()["detail"].startswith("at:")


async def test_the_all_events_stream_filters_by_process_and_type(gateway):
    query = "processID=echo&type=JobSubmitted,JobSucceeded"
    async with open_stream(gateway.app, f"/events?{query}") as stream:
        assert await stream.started() == 200
        await gateway.submit("spin", {"n": 3})  # another process: filtered out
        job_id = await gateway.submit("echo", {"message": "seen"})
        await gateway.run(job_id, {"echo": "seen"})
        received = await stream.first(2)
    assert [f.event for f in received] == [
        "dev.jobstream.JobSubmitted",
        "dev.jobstream.JobSucceeded",
    ]
    assert {f.data["subject"] for f in received} == {job_id}
    assert all(f.data["source"] == "/processes/echo" for f in received)


async def test_a_bad_filter_is_400(gateway):
    response = await gateway.http.get("/events", params={"type": "JobExploded"}, headers=SSE)
    assert response.status_code == 400 and "type" in response.json()["detail"]


async def test_streams_past_the_cap_are_503_with_retry_after(settings, journal, tmp_path):
    capped = settings.model_copy(update={"max_event_streams": 2})
    async with serving(capped, journal, view_engine(tmp_path)) as gateway:
        async with open_stream(gateway.app, "/events") as one:
            async with open_stream(gateway.app, "/events") as two:
                assert [await one.started(), await two.started()] == [200, 200]
                refused = await gateway.http.get("/events", headers=SSE)
                assert refused.status_code == 503 and refused.headers["Retry-After"]
            # The closed stream gave its slot back.
            async with open_stream(gateway.app, "/events") as three:
                assert await three.started() == 200


async def test_a_job_stream_ends_after_the_final_event(gateway):
    job_id = await counted_job(gateway, 3)
    response = await gateway.http.get(f"/jobs/{job_id}/events", headers=SSE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.count("data: ") == 6  # submitted, started, 3 progressed, succeeded
    assert "dev.jobstream.JobSucceeded" in response.text.rsplit("id: ", 1)[1]


async def test_long_poll_answers_when_the_job_changes_and_304_when_the_wait_runs_out(gateway):
    job_id = await gateway.submit("count", {"n": 2})
    response = await gateway.http.get(f"/jobs/{job_id}")
    tag = response.headers["ETag"]
    for event in counted(job_id, 2):
        waiting = asyncio.create_task(
            gateway.http.get(f"/jobs/{job_id}", headers={"If-None-Match": tag, "Prefer": "wait=10"})
        )
        await gateway.append(event)
        response = await asyncio.wait_for(waiting, 5)
        assert response.status_code == 200
        assert response.headers["ETag"] != tag
        tag = response.headers["ETag"]
    assert response.json()["status"] == StatusCode.SUCCESSFUL
    loop = asyncio.get_running_loop()
    started = loop.time()
    unchanged = await gateway.http.get(
        f"/jobs/{job_id}", headers={"If-None-Match": tag, "Prefer": "wait=1"}
    )
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == tag
    assert unchanged.headers["Preference-Applied"] == "wait=1"
    assert 0.9 <= loop.time() - started < 3
    at_once = await gateway.http.get(f"/jobs/{job_id}", headers={"If-None-Match": tag})
    assert at_once.status_code == 304
