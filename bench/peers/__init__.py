"""Reference systems measured beside jobstream, installed into their own virtual environment.

They are not dependencies of jobstream: the bench creates `.bench-peers/` with pinned
versions on first use. A peer whose prerequisite is missing is reported "not measured" with
the reason, never dropped silently.
"""

import shutil
import socket
import subprocess
import venv
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
PEER_VENV = ROOT / ".bench-peers"
PEER_PACKAGES = [
    "pygeoapi==0.21.0",
    "celery[redis]==5.7.0",
    "tinydb==4.9.0",
    "fastapi==0.165.0",
    "starlette",
    # httptools and uvloop, as the gateway runs: the same HTTP server under both fronts.
    "uvicorn[standard]",
    "httpx",
    "packaging",  # kombu 5.7 imports it without declaring it
]
REDIS = ("127.0.0.1", 6379)
REDIS_URL = "redis://127.0.0.1:6379/13"  # the Celery peers' broker and result backend


class NotMeasured(Exception):
    """A peer cannot run here; the message says why."""


def python() -> Path:
    return PEER_VENV / "bin" / "python"


def ensure_peer_venv() -> Path:
    marker = PEER_VENV / ".installed"
    if marker.exists() and marker.read_text() == "\n".join(PEER_PACKAGES):
        return python()
    if PEER_VENV.exists():
        shutil.rmtree(PEER_VENV)
    venv.create(PEER_VENV, with_pip=True)
    result = subprocess.run(
        [str(python()), "-m", "pip", "install", "--quiet", *PEER_PACKAGES],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise NotMeasured(f"pip install of the peers failed: {result.stderr.strip()[-300:]}")
    marker.write_text("\n".join(PEER_PACKAGES))
    return python()


def redis_reachable() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


def redis_process():
    """The local redis-server's process, to count its CPU; None when it cannot be seen."""
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "redis-server":
            return process
    return None


def run_peer_script(script: str, *args: str, timeout: float = 1800) -> str:
    """Run bench/peers/<script> with the peer interpreter; returns its stdout."""
    result = subprocess.run(
        [str(python()), str(Path(__file__).parent / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise NotMeasured(f"{script} failed: {result.stderr.strip()[-400:]}")
    return result.stdout
