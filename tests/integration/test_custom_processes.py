"""Processes declared in YAML files under <plugins_dir>/processes, served by a real stack."""

import asyncio
import shutil
import uuid
from pathlib import Path

import pytest

from jobstream_contracts.events import JobSubmitted
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.journal import publish_event
from tests.support.stack import Stack
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
# The documented example is the process under test, so the docs cannot drift from the code.
EXAMPLE = ROOT / "docs" / "examples" / "processes" / "shout.yaml"

WHISPER = """\
id: whisper
title: Whisper
description: Lower case; for the server's own use.
version: 1.0.0
inputs:
  text: {schema: {type: string}}
outputs:
  whispered: {schema: {type: string}}
execution:
  function: tests.support.custom_functions:whisper
ogcapi:
  expose: {expose}
"""


def plugins(tmp_path: Path, whisper_exposed: bool = False) -> Path:
    directory = tmp_path / "plugins"
    (directory / "processes").mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE, directory / "processes" / "shout.yaml")
    write_whisper(directory, whisper_exposed)
    return directory


def write_whisper(directory: Path, exposed: bool) -> None:
    text = WHISPER.replace("{expose}", "true" if exposed else "false")
    (directory / "processes" / "whisper.yaml").write_text(text)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One stack for the module (starting one takes seconds): shout, and whisper exposed."""
    workdir = tmp_path_factory.mktemp("custom-processes")
    directory = plugins(workdir, whisper_exposed=True)
    with EmbeddedNats(workdir / "nats") as server:
        stack = Stack(workdir / "stack", server.url, plugins_dir=directory)
        try:
            stack.start().wait_ready(("echo", "count", "shout", "whisper"))
            yield stack, directory
        finally:
            stack.close()


def listed(stack) -> set[str]:
    response = stack.http.get("/processes", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return {p["id"] for p in response.json()["processes"]}


async def _publish(nats_url: str, event: JobSubmitted) -> None:
    import nats

    nc = await nats.connect(nats_url)
    try:
        await publish_event(nc.jetstream(), event)
    finally:
        await nc.close()


def submit_on_stream(stack, process_id: str, inputs: dict) -> str:
    """A submission published straight to the stream, as a server-side trigger does."""
    event = JobSubmitted(job_id=str(uuid.uuid4()), process_id=process_id, inputs=inputs)
    asyncio.run(_publish(stack.nats_url, event))
    return event.job_id


def test_a_yaml_process_is_listed_validated_and_run(served):
    stack, _ = served

    assert {"echo", "count", "shout"} <= listed(stack)
    described = stack.http.get("/processes/shout")
    assert described.status_code == 200, described.text
    description = described.json()
    assert description["title"] == "Shout"
    assert description["inputs"]["text"]["schema"] == {"type": "string", "maxLength": 1000}
    assert description["inputs"]["times"]["minOccurs"] == 0
    assert description["retryPolicy"] == {"maxAttempts": 3, "backoff": [1.0, 5.0]}
    assert "execution" not in description and "ogcapi" not in description

    # The YAML schema is enforced by the gateway: 400, and nothing reaches the stream.
    for bad in ({"text": 5}, {"text": "hi", "times": 11}, {"times": 1}, {"text": "a", "x": 1}):
        response = stack.http.post("/processes/shout/execution", json={"inputs": bad})
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["type"].endswith("invalid-input")
    assert not [e for e in stack.events() if e.process_id == "shout"]

    sync = stack.http.post(
        "/processes/shout/execution", json={"inputs": {"text": "hello", "times": 2}}
    )
    assert sync.status_code == 200, sync.text
    assert sync.text == "HELLO!!"

    job_id = stack.submit("shout", {"text": "again"})
    assert stack.wait_job(job_id)["status"] == "successful"
    assert stack.http.get(f"/jobs/{job_id}/results").text == "AGAIN!"


def test_a_hidden_process_is_off_the_api_but_runs(served):
    # Exposed first, so hiding it must also withdraw what the registry already announced.
    stack, directory = served
    assert "whisper" in listed(stack)

    stack.stop("executor")
    write_whisper(directory, exposed=False)
    stack.start_component("executor")
    eventually(lambda: "whisper" not in listed(stack), 20, "whisper withdrawn from the list")
    assert "shout" in listed(stack)

    described = stack.http.get("/processes/whisper")
    assert described.status_code == 404, described.text
    assert described.json()["type"].endswith("no-such-process")
    executed = stack.http.post("/processes/whisper/execution", json={"inputs": {"text": "Hi"}})
    assert executed.status_code == 404, executed.text
    assert executed.json()["type"].endswith("no-such-process")

    # The restarted executor still serves it to whoever submits on the stream.
    job_id = submit_on_stream(stack, "whisper", {"text": "QUIET Please"})
    status = stack.wait_job(job_id)
    assert status["status"] == "successful", status
    assert status["processID"] == "whisper"
    assert stack.http.get(f"/jobs/{job_id}/results").text == "quiet please"


def test_a_bad_file_stops_the_executor_with_the_file_named(make_stack, tmp_path):
    directory = plugins(tmp_path)
    bad = directory / "processes" / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("id: shout", "id: bad") + "colour: red\n")
    stack = make_stack(plugins_dir=directory)
    executor = stack.start_component("executor")
    assert executor.wait(30) != 0
    log = stack.log("executor")
    assert str(bad) in log and "colour: Extra inputs are not permitted" in log, log
