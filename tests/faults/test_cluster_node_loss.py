"""Node loss on a three-node R3 cluster: the stream leader SIGKILLed while jobs are submitted
and run; every job accepted with 201 ends successful exactly once, and the node, restarted,
catches up."""

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest

from jobstream_contracts.subjects import STREAM
from jobstream_infra.embedded_cluster import EmbeddedCluster
from jobstream_infra.provisioning import provision

from ..support.cluster import NODES, admin_settings, stream_leader, wait_replicated
from ..support.stack import Stack, stream_events
from .conftest import final_events


@pytest.fixture
def cluster(tmp_path):
    with EmbeddedCluster(tmp_path / "nats", size=NODES) as running:
        yield running


def submitted(stack: Stack, message: str) -> str | int:
    """The job's id if the gateway accepted it (201); else its status, 0 if unreachable."""
    try:
        response = stack.http.post(
            "/processes/echo/execution",
            json={"inputs": {"message": message, "pause": 0.1}},
            headers={"Prefer": "respond-async"},
            timeout=10,
        )
    except httpx.TransportError:
        return 0
    return response.json()["jobID"] if response.status_code == 201 else response.status_code


@dataclass
class Submissions:
    jobs: list[str] = field(default_factory=list)
    refusals: Counter = field(default_factory=Counter)
    first_201: float = 0.0


def submitted_within(stack: Stack, count: int, seconds: float) -> Submissions:
    """Submit until ``count`` are accepted, for at most ``seconds``, pausing after a refusal."""
    made = Submissions()
    deadline = time.monotonic() + seconds
    while len(made.jobs) < count and time.monotonic() < deadline:
        outcome = submitted(stack, f"job {len(made.jobs)}")
        if isinstance(outcome, str):
            made.first_201 = made.first_201 or time.monotonic()
            made.jobs.append(outcome)
        else:
            made.refusals[outcome] += 1
            time.sleep(0.1)
    return made


# Slow, and not yet reliable on a loaded machine: it failed once in a full CI run (passed
# alone). An executor whose event publish fails during the election retries the job only after
# its retry policy's delay (60 s); until it retries such publishes at once, it runs with -m slow.
@pytest.mark.slow
def test_killing_the_stream_leader_loses_no_accepted_job(cluster, tmp_path):
    asyncio.run(provision(admin_settings(cluster)))
    stack = Stack(
        tmp_path / "stack", cluster.url, credentials=cluster.credentials, ack_wait=2
    ).start("projector", "gateway", wait=False)
    try:
        stack.start_component("executor")
        stack.start_component("executor")
        stack.wait_ready(("echo",))
        accepted = submitted_within(stack, 30, seconds=20).jobs
        leader = cluster.node_named(asyncio.run(stream_leader(cluster.url, STREAM)))
        leader.kill()
        killed_at = time.monotonic()
        after = submitted_within(stack, 30, seconds=20)
        print(f"leader killed: 201s again after {after.first_201 - killed_at:.2f}s")
        jobs = accepted + after.jobs
        assert len(after.jobs) == 30, f"{len(after.jobs)} of 30 accepted: {after.refusals}"
        assert all(stack.wait_job(job, timeout=150)["status"] == "successful" for job in jobs)
        survivor = next(node for node in cluster.nodes if node is not leader)
        finals = final_events(asyncio.run(stream_events(survivor.url)))
        assert all(finals[job] == 1 for job in jobs), finals
        leader.start()
        asyncio.run(wait_replicated(survivor.url, STREAM))
    finally:
        stack.close()
