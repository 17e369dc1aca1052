"""JOBSTREAM_LOG_FORMAT=json: every line `jobstream up` and its components write is one JSON
object a collector can read, the standard library's (uvicorn, nats-py, warnings) included."""

import json
import signal

import httpx
import pytest

from jobstream_infra.embedded import free_port

from ..support.stack import TEST_PROCESSES, wait_serving
from ..support.up import kill, start_up


@pytest.fixture
def json_up(tmp_path):
    port = free_port()
    process = start_up(
        tmp_path,
        port,
        JOBSTREAM_LOG_FORMAT="json",
        # Debug: the most lines from the most libraries (uvicorn's connection lines among them).
        JOBSTREAM_LOG_LEVEL="debug",
        # The test processes without the data ones: no xarray to import, a faster start.
        JOBSTREAM_PROCESS_MODULES=json.dumps(TEST_PROCESSES),
        # Warnings the default filters hide must be JSON too once shown.
        PYTHONWARNINGS="default",
    )
    yield process, f"http://127.0.0.1:{port}"
    kill(process)


def _exercise(url: str) -> None:
    """Requests that make every component log: a job, a job failing in the executor, a 400
    and a 404 from the gateway."""
    execute = f"{url}/processes/{{}}/execution"
    echo = httpx.post(execute.format("echo"), json={"inputs": {"message": "hi"}}, timeout=15)
    assert echo.status_code == 200 and echo.text == "hi"
    # Fails in the executor: its lines about a failed job (the answer is the gateway's business).
    httpx.post(execute.format("refuse"), json={"inputs": {"message": "no"}}, timeout=15)
    invalid = httpx.post(execute.format("echo"), json={"inputs": {"message": 1}}, timeout=15)
    assert invalid.status_code == 400
    assert httpx.get(f"{url}/no/such/thing").status_code == 404


def _json_lines(output: str) -> list[dict]:
    lines, offending = [], []
    for line in filter(str.strip, output.splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or not (
            ("event" in entry or "message" in entry) and {"level", "timestamp"} <= entry.keys()
        ):
            offending.append(line)
        else:
            lines.append(entry)
    assert not offending, (
        f"{len(offending)} of {len(offending) + len(lines)} lines are not JSON log entries:\n"
        + "\n".join(offending)
    )
    return lines


def _from(lines: list[dict], prefix: str) -> list[dict]:
    return [entry for entry in lines if str(entry.get("logger", "")).startswith(prefix)]


def test_every_line_is_a_json_object_naming_its_logger(json_up):
    process, url = json_up
    wait_serving(f"{url}/processes/refuse", process)
    _exercise(url)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output

    lines = _json_lines(output)
    missing = [
        source
        for source in (
            "uvicorn",
            "jobstream_gateway",
            "jobstream_executor",
            "jobstream_projector",
            "jobstream.up",
        )
        if not _from(lines, source)
    ]
    assert not missing, f"no lines from {missing} in:\n{output}"
    assert all("logger" in entry for entry in lines), output

    executor = _from(lines, "jobstream_executor")
    unbound = [e for e in executor if "job_id" in e and not {"process_id", "attempt"} <= e.keys()]
    assert not unbound, "executor lines about a job without process_id and attempt:\n" + "\n".join(
        json.dumps(entry) for entry in unbound
    )
