"""A job's event stream resumed without loss or repeats (a Guarantees row):
real components, a real nats-server, real HTTP on loopback."""

import httpx

from ..support.sse import Frame, frames

SSE = {"Accept": "text/event-stream"}


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
    assert [f.id for f in received] == [f.data["sequence"] for f in received]
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
