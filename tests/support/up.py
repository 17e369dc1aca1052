"""`jobstream up` started as a user starts it, for the tests of the whole service."""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from .stack import ROOT
from .waiting import eventually


def start_up(
    workdir: Path, port: int, output: int = subprocess.PIPE, **env: str
) -> subprocess.Popen:
    """`jobstream up` in ``workdir`` (its data under workdir/data), with no JOBSTREAM_*
    setting from the calling environment but ``env``; stdout and stderr together in
    ``output`` (text when piped: read it, or the pipe fills and the service blocks)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOBSTREAM_")}
    environment.update(JOBSTREAM_DATA_DIR=str(workdir / "data"), PYTHONPATH=str(ROOT), **env)
    return subprocess.Popen(
        [sys.executable, "-m", "jobstream", "up", "--port", str(port)],
        env=environment,
        cwd=workdir,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill(process: subprocess.Popen, grace: float = 30) -> None:
    """Stop `jobstream up` as a user would, so it stops its components and nats-server too;
    SIGKILL only if that hangs (which would leave its children running)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.communicate(timeout=grace)  # drains a piped output, which could block it
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_processes(url: str, timeout: float = 60) -> None:
    """Until `jobstream up` at ``url`` lists its processes (its executor is running)."""

    def listed() -> bool:
        answer = httpx.get(f"{url}/processes")
        return answer.is_success and len(answer.json()["processes"]) >= 2

    eventually(listed, timeout, "jobstream up serving its processes")
