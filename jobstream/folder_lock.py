"""One `jobstream up` per data folder, and its ports free before anything starts.

Two instances on one folder would run two nats-servers on one store, and the second would
overwrite the first's credentials. So `up` holds a lock on ``<data_dir>/up.lock`` for as long
as it runs (released by the OS should it crash) and writes who holds it, its pid and address,
beside it in ``up.lock.json``; a second instance names the holder and ends, touching nothing.
"""

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout


class FolderTaken(RuntimeError):
    """Another `jobstream up` holds the data folder, or a port it needs is in use."""


def lock_path(data_dir: Path) -> Path:
    return data_dir / "up.lock"


def holder_path(data_dir: Path) -> Path:
    return data_dir / "up.lock.json"


@contextmanager
def holding(data_dir: Path, url: str) -> Iterator[None]:
    """Hold the folder while the block runs; FolderTaken, naming the holder, if another does."""
    lock = FileLock(lock_path(data_dir))
    try:
        lock.acquire(blocking=False)
    except Timeout:
        raise FolderTaken(
            f"{data_dir.resolve()} is in use by {_holder(data_dir)}: stop that one first, "
            "or give this one a folder of its own (JOBSTREAM_DATA_DIR)"
        ) from None
    try:
        holder_path(data_dir).write_text(json.dumps({"pid": os.getpid(), "url": url}))
        yield
    finally:
        holder_path(data_dir).unlink(missing_ok=True)
        lock.release()


def _holder(data_dir: Path) -> str:
    try:
        holder = json.loads(holder_path(data_dir).read_text())
    except (OSError, ValueError):  # it has the lock but has not said who it is yet
        return "another `jobstream up`"
    return f"another `jobstream up` (pid {holder['pid']}, serving {holder['url']})"


def ensure_free(host: str, port: int, what: str, setting: str) -> None:
    """FolderTaken if ``port`` cannot be bound on ``host``: found before anything starts,
    not when a component fails to bind."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As uvicorn and nats-server bind: a closed connection's TIME_WAIT does not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise FolderTaken(
                f"{what} port {port} on {host} is in use ({exc.strerror}): stop what serves "
                f"there, or choose another port with {setting}"
            ) from None
