"""A callback receiver on loopback: a real HTTP server that records every POST and answers as
a test tells it to (fail the first requests, answer slowly, or not be there at all yet)."""

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jobstream_infra.embedded import free_port

from .waiting import eventually


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def document(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """``answer(n)`` gives the status for the n-th request (1-based); ``delay`` slows each;
    ``headers`` go with every answer (a ``Location`` makes it a redirect); ``host`` is the
    loopback address it listens on; ``tls`` makes it an https receiver."""

    def __init__(
        self,
        answer: Callable[[int], int] = lambda n: 204,
        delay: float = 0.0,
        port: int | None = None,
        headers: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.answer = answer
        self.delay = delay
        self.port = port or free_port(host)
        self.headers = headers or {}
        self.host = host
        self.tls = tls
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (a SIGKILLed notifier): no request arrived,
                    # as a real server would see it, and no answer can reach anyone.
                    self.close_connection = True
                    return
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    count = len(receiver.received)
                time.sleep(receiver.delay)
                self.send_response(receiver.answer(count))
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 30) -> list[Received]:
        def enough() -> list | None:
            found = self.at(path)
            return found if len(found) >= count else None

        return eventually(
            enough, timeout, lambda: f"{count} callbacks at {path} (got {len(self.at(path))})"
        )
