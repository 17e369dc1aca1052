"""SIGTERM ends every component within its grace, whether NATS is up or down: real processes,
a real nats-server SIGKILLed under them, real signals."""

import signal
import subprocess
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from jobstream_infra.embedded import EmbeddedNats, free_port

from ..support.stack import Stack
from ..support.up import start_up
from ..support.waiting import eventually
from .conftest import final_events

GRACE = 3.0  # the executor's SHUTDOWN_GRACE here; the others must stop within a few seconds
COMPONENTS = ["projector", "executor", "notifier", "gateway"]
# What each component logs once it is connected and at work.
RUNNING = {
    "projector": "projector running",
    "executor": "executor running",
    "notifier": "notifier running",
    "gateway": "gateway ready",
}


def stop_timed(process: subprocess.Popen, sig: int = signal.SIGTERM, limit: float = 20) -> float:
    started = time.monotonic()
    process.send_signal(sig)
    try:
        process.wait(limit)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"still running {limit} s after {signal.Signals(sig).name}")
    return time.monotonic() - started


def wait_running(stack: Stack, component: str) -> None:
    eventually(
        lambda: RUNNING[component] in stack.log(component),
        60,
        lambda: f"{component} running:\n{stack.log(component)}",
    )


def wait_reconnecting(stack: Stack, component: str) -> None:
    """Until ``component`` logged its lost server and a failed try to reconnect: it is in the
    reconnect loop, the state SIGTERM must end it from."""

    def reconnecting() -> bool:
        _, disconnected, after = stack.log(component).partition("nats disconnected")
        # asyncio's words for a refused connection, and uvloop's.
        refused = ("Connect call failed", "Connection refused")
        return bool(disconnected) and any(words in after for words in refused)

    eventually(reconnecting, 30, lambda: f"{component} reconnecting:\n{stack.log(component)}")


@pytest.fixture(scope="module")
def stack_without_nats(tmp_path_factory) -> Iterator[Stack]:
    """Every component, started once for the cases below, whose nats-server was SIGKILLed:
    each case stops its own component, which the others do not touch."""
    workdir = tmp_path_factory.mktemp("shutdown")
    with EmbeddedNats(workdir / "nats") as server:
        # Positional, so that no setting can land on database_url or credentials.
        stack = Stack(workdir, server.url, None, server.credentials, shutdown_grace=GRACE)
        try:
            stack.start(*COMPONENTS)
            for component in COMPONENTS:
                wait_running(stack, component)
            server.kill()
            yield stack
        finally:
            # What a case left running (deselected) has nothing left to prove: no orderly stop.
            stack.stop(sig=signal.SIGKILL)
            stack.close()


@pytest.mark.parametrize("component", COMPONENTS)
def test_sigterm_ends_a_component_whose_nats_server_is_gone(stack_without_nats, component):
    stack = stack_without_nats
    wait_reconnecting(stack, component)
    (process,) = stack.processes.pop(component)
    took = stop_timed(process)
    print(f"{component}: exited {process.returncode} {took:.2f} s after SIGTERM, NATS down")
    assert process.returncode == 0, stack.log(component)[-3000:]
    assert took < (GRACE + 2 if component == "executor" else 5.0)


def test_an_executor_stopped_during_an_outage_hands_its_job_over_exactly_once(
    make_stack, nats_server
):
    stack = make_stack(shutdown_grace=GRACE, ack_wait=4).start()
    job_id = stack.submit("count", {"n": 40, "interval": 0.1})
    stack.wait_job(job_id, statuses={"running"})
    nats_server.kill()
    (first,) = stack.processes.pop("executor")
    took = stop_timed(first)
    print(f"executor with a running job: exited {first.returncode} {took:.2f} s after SIGTERM")
    assert first.returncode == 0 and took < GRACE + 2, stack.log("executor")[-3000:]
    nats_server.start()
    stack.start_component("executor")
    status = stack.wait_job(job_id, timeout=60)
    assert status["status"] == "successful"
    assert final_events(stack.events(job_id)) == {job_id: 1}


def test_jobstream_up_exits_in_seconds_when_its_nats_server_is_gone(tmp_path):
    port = free_port()
    up = start_up(
        tmp_path,
        port,
        subprocess.DEVNULL,
        JOBSTREAM_SHUTDOWN_GRACE=str(GRACE),
        JOBSTREAM_PROCESS_MODULES='["jobstream_executor.builtin"]',
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert up.poll() is None and time.monotonic() < deadline, "jobstream up did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        children = psutil.Process(up.pid).children(recursive=True)
        (server,) = [c for c in children if "nats-server" in c.name()]
        server.kill()  # a grandchild: the supervisor reaps it, not this test
        time.sleep(2.0)
        took = stop_timed(up, signal.SIGINT)
        print(f"jobstream up: exited {up.returncode} {took:.2f} s after SIGINT, NATS gone")
        assert took < GRACE + 5
        left = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        assert not left, [c.cmdline() for c in left]
    finally:
        if up.poll() is None:
            up.kill()
