"""Safe by default: with no authentication, the gateway serves only on a loopback address."""

import os
import subprocess
import sys

import pytest

from jobstream_infra.embedded import free_port

from ..support.stack import ROOT, wait_gateway


def _run(args: list[str], nats_url: str, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "JOBSTREAM_NATS_URL": nats_url, **env}
    return subprocess.Popen(
        [sys.executable, "-m", "jobstream", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("command", ["gateway", "up"])
def test_an_address_others_can_reach_is_refused_without_insecure(nats_server, command):
    process = _run([command, "--host", "0.0.0.0", "--port", str(free_port())], nats_server.url)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode != 0
    assert "refusing to serve on 0.0.0.0" in stderr and "--insecure" in stderr


def test_insecure_serves_on_every_address_when_asked(nats_server):
    port = free_port()
    process = _run(
        ["gateway", "--host", "0.0.0.0", "--port", str(port), "--insecure"], nats_server.url
    )
    try:
        wait_gateway(f"http://127.0.0.1:{port}", process, timeout=30)
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert process.returncode == 0
