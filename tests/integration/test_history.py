"""A job's history over HTTP, its status as of an instant, live event streams and long-poll:
real components, a real nats-server, real HTTP on loopback."""

import threading
import time
import uuid
from contextlib import ExitStack
from datetime import datetime

import httpx
import pytest

from jobstream_contracts.cloudevents import event_of
from jobstream_contracts.fold import fold
from jobstream_contracts.ogc import StatusCode

from ..support.sse import Frame, frames

SSE = {"Accept": "text/event-stream"}


def history(stack, job_id: str, limit: int = 100) -> list[dict]:
    """Every CloudEvent of the job, page by page through the `next` links."""
    url, events = f"/jobs/{job_id}/events?limit={limit}", []
    while url:
        response = stack.http.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        events += body["events"]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return events


def test_history_is_the_jobs_events_in_stream_order_paged(stack):
    job_id = stack.submit("count", {"n": 5, "interval": 0.01})
    stack.wait_job(job_id)
    in_stream = stack.events(job_id)
    for limit in (1, 2, 100):
        events = history(stack, job_id, limit)
        assert [e["id"] for e in events] == [str(e.event_id) for e in in_stream]
        sequences = [e["sequence"] for e in events]
        assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    for cloudevent, event in zip(history(stack, job_id), in_stream, strict=True):
        assert cloudevent["specversion"] == "1.0"
        assert cloudevent["subject"] == job_id
        assert cloudevent["source"] == "/processes/count"
        assert cloudevent["type"] == f"dev.jobstream.{event.type}"
        assert event_of(cloudevent)[1] == event


def test_history_pages_after_a_sequence(stack):
    job_id = stack.submit("count", {"n": 3, "interval": 0.01})
    stack.wait_job(job_id)
    events = history(stack, job_id)
    third = events[2]["sequence"]
    page = stack.http.get(f"/jobs/{job_id}/events", params={"after": third, "limit": 1}).json()
    assert [e["sequence"] for e in page["events"]] == [events[3]["sequence"]]
    last = stack.http.get(f"/jobs/{job_id}/events", params={"after": events[-1]["sequence"]})
    assert last.json()["events"] == []
    assert not [link for link in last.json()["links"] if link["rel"] == "next"]


def test_the_status_links_its_history_and_unknown_jobs_are_404(stack):
    job_id = stack.submit("echo", {"message": "hi"})
    status = stack.wait_job(job_id)
    history_links = [link["href"] for link in status["links"] if link["rel"].endswith("/history")]
    assert history_links == [f"{stack.url}/jobs/{job_id}/events"]
    for unknown in (str(uuid.uuid4()), "not.a.job"):
        response = stack.http.get(f"/jobs/{unknown}/events")
        assert response.status_code == 404
        assert response.json()["type"].endswith("/no-such-job")
    bad = stack.http.get(f"/jobs/{job_id}/events", params={"limit": 5000})
    assert bad.status_code == 400 and "limit" in bad.json()["detail"]


def test_status_at_an_instant_is_the_fold_of_the_events_recorded_by_then(stack, tmp_path):
    # Two failed attempts, success, then a dismissal that withdraws the results.
    job_id = stack.submit("flaky", {"marker": str(tmp_path / "flaky"), "failures": 2})
    stack.wait_job(job_id, statuses={"successful"})
    assert stack.http.delete(f"/jobs/{job_id}").status_code == 200
    events = history(stack, job_id)
    kinds = [e["data"]["type"] for e in events]
    assert kinds.count("JobRetryScheduled") == 2 and kinds[-1] == "JobDismissed"
    before = datetime.fromisoformat(events[0]["recorded"]).timestamp() - 1
    assert stack.http.get(f"/jobs/{job_id}", params={"at": _utc(before)}).status_code == 404
    for i, cloudevent in enumerate(events):
        at = cloudevent["recorded"]
        expected = fold(event_of(e)[1] for e in events[: i + 1])
        assert expected is not None
        response = stack.http.get(f"/jobs/{job_id}", params={"at": at})
        assert response.status_code == 200, response.text
        status = response.json()
        assert status["status"] == expected.status.value, (i, kinds[i])
        assert status.get("attempt") == (expected.attempt or None)
        assert status.get("message") == expected.message
        assert status.get("progress") == expected.progress


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().isoformat()


def _stream(
    stack,
    path: str,
    headers: dict | None = None,
    until=lambda frame: False,
    count: int | None = None,
) -> list[Frame]:
    received: list[Frame] = []
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        with client.stream("GET", path, headers={**SSE, **(headers or {})}) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            for frame in frames(response):
                received.append(frame)
                if until(frame) or (count is not None and len(received) >= count):
                    break
    return received


def test_a_job_stream_sends_every_event_once_in_order_and_ends_after_the_final(stack):
    job_id = stack.submit("count", {"n": 20, "interval": 0.05})
    received = _stream(stack, f"/jobs/{job_id}/events")  # ends by itself
    in_stream = stack.events(job_id)
    assert [f.data["id"] for f in received] == [str(e.event_id) for e in in_stream]
    assert [int(f.id or 0) for f in received] == [f.data["sequence"] for f in received]
    assert [f.event for f in received] == [f.data["type"] for f in received]
    assert received[-1].event == "dev.jobstream.JobSucceeded"
    assert sum(f.event == "dev.jobstream.JobProgressed" for f in received) >= 2


def test_reconnecting_with_last_event_id_loses_and_repeats_nothing(stack):
    job_id = stack.submit("count", {"n": 30, "interval": 0.05})
    first = _stream(stack, f"/jobs/{job_id}/events", count=3)
    assert len(first) == 3
    rest = _stream(stack, f"/jobs/{job_id}/events", headers={"Last-Event-ID": first[-1].id})
    ids = [f.data["id"] for f in first + rest]
    assert ids == [str(e.event_id) for e in stack.events(job_id)]
    assert rest[-1].event == "dev.jobstream.JobSucceeded"


def test_the_all_events_stream_filters_by_process_and_type(stack):
    job_id: list[str] = []
    opened = threading.Event()

    def submit_when_open() -> None:
        opened.wait(10)
        time.sleep(0.2)
        stack.submit("spin", {"n": 3})  # another process: filtered out
        job_id.append(stack.submit("echo", {"message": "seen"}))

    threading.Thread(target=submit_when_open, daemon=True).start()
    received: list[Frame] = []
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        params = {"processID": "echo", "type": "JobSubmitted,JobSucceeded"}
        with client.stream("GET", "/events", params=params, headers=SSE) as response:
            assert response.status_code == 200
            opened.set()
            for frame in frames(response):
                received.append(frame)
                if (
                    frame.event == "dev.jobstream.JobSucceeded"
                    and job_id
                    and frame.data["subject"] == job_id[0]
                ):
                    break
    mine = [f for f in received if f.data["subject"] == job_id[0]]
    assert [f.event for f in mine] == ["dev.jobstream.JobSubmitted", "dev.jobstream.JobSucceeded"]
    assert all(f.data["source"] == "/processes/echo" for f in received)
    assert {f.event for f in received} <= {
        "dev.jobstream.JobSubmitted",
        "dev.jobstream.JobSucceeded",
    }


def test_a_bad_filter_is_400(stack):
    response = stack.http.get("/events", params={"type": "JobExploded"}, headers=SSE)
    assert response.status_code == 400 and "type" in response.json()["detail"]


def test_streams_past_the_cap_are_503_with_retry_after(make_stack):
    stack = make_stack(max_event_streams=2).start()

    def status_of_a_new_stream(client: httpx.Client) -> int:
        with client.stream("GET", "/events", headers=SSE) as response:
            return response.status_code

    with ExitStack() as streams, httpx.Client(base_url=stack.url, timeout=10) as client:
        held = [
            streams.enter_context(client.stream("GET", "/events", headers=SSE)) for _ in range(2)
        ]
        assert [r.status_code for r in held] == [200, 200]
        refused = client.get("/events", headers=SSE)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        held[0].close()
        deadline = time.monotonic() + 10
        while status_of_a_new_stream(client) == 503:
            assert time.monotonic() < deadline, "a closed stream never gave its slot back"
            time.sleep(0.2)


def test_long_poll_answers_when_the_job_changes_and_304_when_the_wait_runs_out(stack):
    job_id = stack.submit("count", {"n": 3, "interval": 1.0})
    response = stack.http.get(f"/jobs/{job_id}")
    tag, delays = response.headers["ETag"], []
    while response.json()["status"] != StatusCode.SUCCESSFUL:
        response = stack.http.get(
            f"/jobs/{job_id}", headers={"If-None-Match": tag, "Prefer": "wait=10"}
        )
        answered = time.time()
        assert response.status_code == 200
        assert response.headers["ETag"] != tag
        tag = response.headers["ETag"]
        newest = history(stack, job_id)[-1]
        delays.append(answered - datetime.fromisoformat(newest["recorded"]).timestamp())
    assert len(delays) >= 3
    assert sorted(delays)[len(delays) // 2] < 0.15, delays
    started = time.monotonic()
    unchanged = stack.http.get(
        f"/jobs/{job_id}", headers={"If-None-Match": tag, "Prefer": "wait=1"}
    )
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == tag
    assert unchanged.headers["Preference-Applied"] == "wait=1"
    assert 0.9 <= time.monotonic() - started < 3
    at_once = stack.http.get(f"/jobs/{job_id}", headers={"If-None-Match": tag})
    assert at_once.status_code == 304


@pytest.mark.parametrize("at", ["yesterday", "2026-13-01T00:00:00Z"])
def test_a_bad_instant_is_400_naming_at(stack, at):
    job_id = stack.submit("echo", {"message": "x"})
    response = stack.http.get(f"/jobs/{job_id}", params={"at": at})
    assert response.status_code == 400 and response.json()["detail"].startswith("at:")
