"""The client's pure parts: the event stream folded, error bodies, Retry-After, progress lines."""

import io
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
from httpx_sse import EventSource

from jobstream_client.errors import (
    InvalidParameter,
    JobstreamError,
    NoSuchJob,
    TooManyJobs,
    TooManyRequests,
    Unavailable,
    error_from,
)
from jobstream_client.following import EVENT_STREAM, Follower
from jobstream_client.progress import StderrLine
from jobstream_contracts.cloudevents import to_cloudevent
from jobstream_contracts.events import Event, JobStarted, JobSubmitted
from jobstream_contracts.ogc import StatusCode, StatusInfo


def test_the_event_stream_is_folded_once_per_event_past_comments_and_keep_alives():
    submitted = JobSubmitted(job_id="j1", process_id="count")
    started = JobStarted(job_id="j1", process_id="count", attempt=1, executor="e")
    wire = [
        ": stream open\n\n",
        *(frame(event, sequence) for sequence, event in ((7, submitted), (8, started))),
        ": keep-alive\n\n",
    ]
    # One event's data on two lines, and chunks that end mid-line, as a socket may cut them.
    body = "".join(wire).replace('"data":', '"data":\ndata: ').encode()
    chunks = [body[i : i + 13] for i in range(0, len(body), 13)]
    response = httpx.Response(200, headers={"Content-Type": EVENT_STREAM}, content=iter(chunks))
    shown: list[StatusInfo] = []
    follower = Follower("j1", "http://gateway", shown.append)
    for message in EventSource(response).iter_sse():
        follower.feed(message)
    assert [status.status for status in shown] == [StatusCode.ACCEPTED, StatusCode.RUNNING]
    assert follower.last_event_id == 8


def frame(event: Event, sequence: int) -> str:
    cloudevent = to_cloudevent(event, sequence)
    return f"id: {sequence}\nevent: {cloudevent['type']}\ndata: {json.dumps(cloudevent)}\n\n"


def test_errors_are_chosen_by_type_then_by_status():
    body = {"type": "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job"}
    assert isinstance(error_from(httpx.Response(404, json=body)), NoSuchJob)
    invalid = error_from(
        httpx.Response(
            400,
            json={
                "type": "https://jobstream.dev/errors/invalid-parameter",
                "detail": "limit: must be at most 1000",
            },
        )
    )
    assert isinstance(invalid, InvalidParameter) and invalid.field == "limit"
    proxy = error_from(httpx.Response(502, text="<html>Bad Gateway</html>"))
    assert isinstance(proxy, Unavailable) and proxy.status == 502 and proxy.type == "about:blank"
    assert type(error_from(httpx.Response(418, text=""))) is JobstreamError


def test_retry_after_is_seconds_or_a_date():
    assert error_from(httpx.Response(429, headers={"Retry-After": "10"})).retry_after == 10
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    refused = error_from(httpx.Response(429, headers={"Retry-After": later}))
    assert isinstance(refused, TooManyJobs) and 25 < (refused.retry_after or 0) <= 30


def test_the_progress_line_is_rewritten_in_place_and_ends_with_the_job():
    out = io.StringIO()
    line = StderrLine(out)
    line(StatusInfo(jobID="5f0c1a2b-x", processID="count", status=StatusCode.RUNNING, percent=40.0))
    line(StatusInfo(jobID="5f0c1a2b-x", processID="count", status=StatusCode.RUNNING, percent=40.0))
    line(StatusInfo(jobID="5f0c1a2b-x", processID="count", status=StatusCode.SUCCESSFUL))
    assert out.getvalue() == "\rcount 5f0c1a2b running 40%\rcount 5f0c1a2b successful \n"


def test_a_stream_refused_for_the_callers_cap_is_followed_by_long_polls():
    body = {
        "type": "https://jobstream.dev/errors/too-many-requests",
        "detail": "key:alice holds 20 event streams open",
    }
    refused = httpx.Response(429, json=body, headers={"Retry-After": "5"})
    follower = Follower("j1", "http://gateway", lambda status: None)
    assert follower.opened(refused) is False and follower.long_poll
    error = error_from(refused)
    assert isinstance(error, TooManyRequests) and error.retry_after == 5
    assert follower.backoff(error) == 5
