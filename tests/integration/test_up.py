"""`jobstream up`: one command starts everything; Ctrl-C (SIGINT) stops everything."""

import signal
import socket

import httpx
import psutil
import pytest

from jobstream_client.cli.exit_codes import TAKEN
from jobstream_infra.embedded import free_port

from ..support.up import kill, start_up, wait_for_processes
from ..support.waiting import eventually


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
    assert _archivers(children) == []  # no retention: nothing is ever due
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


def test_with_a_retention_up_archives_ended_jobs_and_stops_when_the_archiver_exits(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_up(
        tmp_path, port, JOBSTREAM_ARCHIVE_RETENTION="1", JOBSTREAM_ARCHIVE_INTERVAL="1"
    )
    try:
        wait_for_processes(url)
        (archiver,) = _archivers(psutil.Process(process.pid).children(recursive=True))
        assert archiver.environ()["JOBSTREAM_NATS_USER"] == "archiver"
        job_id, history = _ended_job(url)
        archive = tmp_path / "data" / "archive"
        eventually(lambda: list(archive.glob("*.trimmed")), 30, "the job archived and trimmed")
        assert httpx.get(f"{url}/jobs/{job_id}/events").json()["events"] == history
        archiver.kill()
        output, _ = process.communicate(timeout=30)
    finally:
        kill(process)
    assert process.returncode == 1, output
    (exited,) = [line for line in output.splitlines() if "component exited" in line]
    assert "archive" in exited, output


def _ended_job(url: str) -> tuple[str, list[dict]]:
    """An echo job run to its end, and its events as the gateway gives them."""
    submitted = httpx.post(
        f"{url}/processes/echo/execution",
        json={"inputs": {"message": "archived"}},
        headers={"Prefer": "respond-async"},
        timeout=30,
    )
    job_id = submitted.json()["jobID"]

    def ended() -> list[dict] | None:
        events = httpx.get(f"{url}/jobs/{job_id}/events").json()["events"]
        return events if events[-1]["type"].endswith("JobSucceeded") else None

    return job_id, eventually(ended, 30, "the echo job's success")


def _archivers(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The `jobstream archive --every` among ``processes``."""
    return [p for p in processes if p.cmdline()[-3:] == ["jobstream", "archive", "--every"]]


def test_a_second_up_on_the_same_folder_names_the_holder_and_touches_nothing(up, tmp_path):
    process, url, data = up
    wait_for_processes(url)
    credentials = (data / "nats" / "credentials.json").read_bytes()

    second = start_up(tmp_path, free_port())
    output, _ = second.communicate(timeout=60)

    assert second.returncode == TAKEN, output
    assert f"pid {process.pid}" in output and url in output, output
    # Its one line and nothing else: no nats-server, no component was started.
    assert len(output.strip().splitlines()) == 1, output
    assert (data / "nats" / "credentials.json").read_bytes() == credentials
    assert httpx.get(f"{url}/processes").is_success  # the first goes on serving


def test_up_on_a_port_in_use_says_so_before_starting_anything(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_up(tmp_path, port)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == TAKEN, output
    assert f"port {port} on 127.0.0.1 is in use" in output and "JOBSTREAM_PORT" in output
    assert not (tmp_path / "data" / "nats").exists()
