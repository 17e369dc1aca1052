"""A database server that takes connections and never answers fails them in bounded time,
instead of holding every connecting thread for minutes (the gateway then answers 503)."""

import socket
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import OperationalError

from jobstream_projector.view import create_view_engine
from jobstream_projector.view.engine import CONNECT_TIMEOUT_SECONDS


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port whose kernel completes TCP handshakes for a server that never speaks."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def _seconds_to_fail(url: str) -> float:
    started = time.monotonic()
    with pytest.raises(OperationalError), create_view_engine(url).connect():
        pass
    return time.monotonic() - started


def test_a_silent_server_fails_the_connection_after_the_default_bound(silent_server):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/view"

    assert CONNECT_TIMEOUT_SECONDS - 0.5 < _seconds_to_fail(url) < CONNECT_TIMEOUT_SECONDS + 5


def test_the_urls_own_connect_timeout_wins(silent_server):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/view?connect_timeout=1"

    assert _seconds_to_fail(url) < CONNECT_TIMEOUT_SECONDS - 1
