"""Submission retries over real HTTP, against a server that answers as an overloaded gateway
would: 503 (with or without Retry-After), 429, then the job."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise

import pytest

from jobstream_client import AsyncClient, Client, TooManyJobs, Unavailable
from jobstream_contracts.ogc import InputDescription, OutputDescription, ProcessDescription

JOB = {"type": "process", "jobID": "j1", "processID": "echo", "status": "accepted"}
# What GET /processes/echo answers: the CLI reads it to type key=value inputs.
ECHO = ProcessDescription(
    id="echo",
    version="1.0.0",
    title="Echo",
    inputs={"message": InputDescription(title="Message", schema={"type": "string"})},
    outputs={"echo": OutputDescription(title="Echo", schema={"type": "string"})},
).model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass
class Scripted:
    """Answers POSTs in order from ``answers`` (status, headers), then 201 with JOB."""

    answers: list[tuple[int, dict[str, str]]]
    arrivals: list[float] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        self.arrivals.append(time.monotonic())
        self.keys.append(handler.headers.get("Idempotency-Key"))
        status, headers = self.answers.pop(0) if self.answers else (201, {})
        body = json.dumps(JOB if status == 201 else {"type": "about:blank"}).encode()
        handler.send_response(status)
        for name, value in {**headers, "Content-Type": "application/json"}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def describe(self, handler: BaseHTTPRequestHandler) -> None:
        body = json.dumps(ECHO).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def gaps(self) -> list[float]:
        return [later - earlier for earlier, later in pairwise(self.arrivals)]


@contextmanager
def serving(script: Scripted) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            script.answer(self)

        def do_GET(self) -> None:
            script.describe(self)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the script records what the tests look at

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_503_is_retried_under_one_key_waiting_the_retry_after_it_gives():
    script = Scripted([(503, {"Retry-After": "2"}), (503, {})])
    with serving(script) as url, Client(url) as client:
        assert client.submit("echo", {}).id == "j1"
    assert len(script.keys) == 3 and len(set(script.keys)) == 1 and script.keys[0]
    after_retry_after, after_backoff = script.gaps()
    assert after_retry_after >= 2.0
    # The second wait is the backoff's: 1 s (0.5 doubled) and at most 0.5 s of jitter.
    assert 0.9 <= after_backoff < 2.0


def test_a_429_is_not_retried():
    script = Scripted([(429, {"Retry-After": "1"})])
    with serving(script) as url, Client(url) as client, pytest.raises(TooManyJobs):
        client.submit("echo", {})
    assert len(script.arrivals) == 1


def test_the_tries_are_counted_and_the_last_error_raised():
    script = Scripted([(503, {"Retry-After": "0"})] * 5)
    with serving(script) as url, Client(url) as client, pytest.raises(Unavailable) as raised:
        client.submit("echo", {})
    assert raised.value.status == 503
    assert len(script.arrivals) == 5


async def test_the_async_client_retries_the_same_way():
    script = Scripted([(503, {"Retry-After": "0"}), (502, {})])
    with serving(script) as url:
        async with AsyncClient(url) as client:
            assert (await client.submit("echo", {})).id == "j1"
    assert len(script.keys) == 3 and len(set(script.keys)) == 1
