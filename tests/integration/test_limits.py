"""Limits on every request: a body over the cap is refused while it streams in, so the
gateway never buffers it."""

import json
import socket
import time

import psutil

from ..support.ogc_schemas import assert_valid

MB = 1024 * 1024


def _gateway_rss(stack) -> int:
    return psutil.Process(stack.processes["gateway"][0].pid).memory_info().rss


def _post_raw(stack, head: bytes, chunks, read_timeout: float = 10.0) -> bytes:
    """Send a request by hand (a body httpx would buffer first), then read the answer."""
    with socket.create_connection(("127.0.0.1", stack.port)) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway answered and closed before the body ended: the point
        sock.settimeout(read_timeout)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        head, _, body = answer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += sock.recv(65536)
        return head + b"\r\n\r\n" + body


def _status_and_body(answer: bytes) -> tuple[int, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_a_declared_100_mb_body_is_413_before_it_is_read(stack):
    before = _gateway_rss(stack)
    head = (
        b"POST /processes/echo/execution HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (100 * MB)
    )
    started = time.monotonic()
    answer = _post_raw(stack, head, (b"x" * MB for _ in range(100)))
    status, body = _status_and_body(answer)
    assert status == 413 and time.monotonic() - started < 10
    assert_valid(json.loads(body), "exception")
    assert _gateway_rss(stack) - before < 5 * MB


def test_a_chunked_body_is_refused_once_it_passes_the_cap(stack):
    before = _gateway_rss(stack)
    head = (
        b"POST /processes/echo/execution HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (MB, b"x" * MB)
    answer = _post_raw(stack, head, (chunk for _ in range(100)))
    status, _ = _status_and_body(answer)
    assert status == 413
    assert _gateway_rss(stack) - before < 5 * MB
    # The gateway goes on serving.
    assert stack.http.get("/health").status_code == 200
