"""The client's pure parts: event-stream frames, error bodies, Retry-After, progress lines."""

import io
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx

from jobstream_client.errors import (
    InvalidParameter,
    JobstreamError,
    NoSuchJob,
    TooManyJobs,
    Unavailable,
    error_from,
)
from jobstream_client.progress import StderrLine
from jobstream_client.sse import Frame, FrameParser
from jobstream_contracts.ogc import StatusCode, StatusInfo


def test_frames_join_data_lines_and_skip_comments():
    parser = FrameParser()
    lines = [": stream open", "", "id: 7", "event: x", "data: {", "data: }", "", ": keep-alive", ""]
    frames = [frame for line in lines if (frame := parser.feed(line))]
    assert frames == [Frame(id="7", event="x", data="{\n}")]


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
