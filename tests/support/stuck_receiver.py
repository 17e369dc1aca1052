"""A callback receiver that takes each POST and never finishes answering it: ``trickle`` sends
its answer's head one byte every ``interval`` seconds, ``endless`` sends a whole head (200)
and then a body without end. It counts the POSTs that arrived and how many it was answering
at once, which is how a test sees a delivery redelivered while it still ran."""

import select
import socket
import threading
from socketserver import BaseRequestHandler, ThreadingTCPServer
from typing import Literal

from jobstream_infra.embedded import free_port

CHUNK = b"\0" * 65536


class _Server(ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class StuckReceiver:
    def __init__(self, mode: Literal["trickle", "endless"], interval: float = 1.0) -> None:
        self.mode = mode
        self.interval = interval
        self.port = free_port()
        self.lock = threading.Lock()
        self.arrivals = 0
        self.answering = 0
        self.most_at_once = 0
        self.server: ThreadingTCPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "StuckReceiver":
        receiver = self

        class Handler(BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(30)  # never a thread left blocked for good
                if not _read_request(self.request):
                    return
                receiver._arrived(+1)
                try:
                    receiver._answer(self.request)
                except OSError:  # the client hung up mid-answer: what a deadline does
                    pass
                finally:
                    receiver._arrived(-1)

        self.server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _arrived(self, change: int) -> None:
        with self.lock:
            self.arrivals += max(change, 0)
            self.answering += change
            self.most_at_once = max(self.most_at_once, self.answering)

    def _answer(self, sock: socket.socket) -> None:
        if self.mode == "trickle":
            sock.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not _hung_up(sock, self.interval):
                sock.sendall(b"a")
        else:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\n")
            while not _hung_up(sock, 0.01):  # 6.5 MB/s: endless, without taking a core
                sock.sendall(CHUNK)


def _read_request(sock: socket.socket) -> bool:
    """The whole request read (head and Content-Length body); False if the client left."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
    length = int(lengths[0].partition(b":")[2]) if lengths else 0
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        body += chunk
    return True


def _hung_up(sock: socket.socket, wait: float) -> bool:
    """Whether the client closed its side, waiting at most ``wait`` seconds to see."""
    readable, _, _ = select.select([sock], [], [], wait)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
