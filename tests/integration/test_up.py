"""`jobstream up`: one command starts everything; Ctrl-C (SIGINT) stops everything."""

import signal

import httpx
import psutil
import pytest

from jobstream_infra.embedded import free_port

from ..support.up import kill, start_up, wait_for_processes


@pytest.fixture
def up(tmp_path):
    port = free_port()
    process = start_up(tmp_path, port)
    yield process, f"http://127.0.0.1:{port}", tmp_path / "data"
    kill(process)


def test_up_serves_jobs_and_stops_cleanly_on_sigint(up):
    process, url, data = up
    wait_for_processes(url)
    children = psutil.Process(process.pid).children(recursive=True)
    assert len(children) >= 4  # nats-server, projector, executor, gateway
    response = httpx.post(
        f"{url}/processes/echo/execution", json={"inputs": {"message": "up"}}, timeout=30
    )
    assert response.status_code == 200 and response.text == "up"
    assert (data / "view.sqlite").exists() and (data / "nats" / "jetstream").is_dir()

    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "jobstream is up" in output and "jobstream stopped" in output
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"left running: {[p.name() for p in alive]}"
