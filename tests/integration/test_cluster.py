"""A three-node JetStream cluster of embedded servers on loopback: R3 stream, consumers and
buckets, components connected with every node's URL, an R1 stream raised to R3."""

import asyncio
import signal
from functools import partial

import httpx
import nats
import psutil
import pytest
from nats.js.errors import NoKeysError
from nats.js.kv import KeyValue

from jobstream_contracts.subjects import (
    LEASE_BUCKET,
    PROCESS_REGISTRY_BUCKET,
    STREAM,
    executor_consumer,
)
from jobstream_executor.announce import announce
from jobstream_infra.embedded import free_port
from jobstream_infra.embedded_cluster import EmbeddedCluster
from jobstream_infra.nats_credentials import NatsCredentials, read_credentials
from jobstream_infra.provisioning import (
    ensure_bucket,
    ensure_executor_consumer,
    ensure_lease_bucket,
    ensure_stream,
    provision,
)
from jobstream_infra.settings import ExecutorSettings

from ..support.cluster import NODES, admin_settings, wait_replicated
from ..support.processes import PROCESSES
from ..support.stack import Stack
from ..support.up import kill, start_up, wait_for_processes
from ..support.waiting import eventually_async


@pytest.fixture
def cluster(tmp_path):
    with EmbeddedCluster(tmp_path / "nats", size=NODES) as running:
        yield running


def test_jobs_run_on_a_three_node_cluster_with_replicated_stream(cluster, tmp_path):
    asyncio.run(provision(admin_settings(cluster, NODES)))
    assert "," in cluster.credentials.env_for("gateway")["JOBSTREAM_NATS_URL"]
    stack = Stack(tmp_path / "stack", cluster.url, credentials=cluster.credentials)
    try:
        stack.start().wait_ready(("echo",))
        jobs = [stack.submit("echo", {"message": f"m{n}"}) for n in range(10)]
        assert all(stack.wait_job(job)["status"] == "successful" for job in jobs)
        asyncio.run(wait_replicated(cluster.url, STREAM))
        asyncio.run(wait_replicated(cluster.url, STREAM, executor_consumer("echo")))
        asyncio.run(wait_replicated(cluster.url, f"KV_{PROCESS_REGISTRY_BUCKET}"))
        asyncio.run(wait_replicated(cluster.url, f"KV_{LEASE_BUCKET}"))
    finally:
        stack.close()


async def _single_replica_setup(url: str) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        await ensure_executor_consumer(js, "echo", ExecutorSettings())
        await ensure_lease_bucket(js, 30.0)
        assert (await js.stream_info(STREAM)).config.num_replicas == 1
        assert (await js.stream_info(f"KV_{LEASE_BUCKET}")).config.num_replicas == 1
    finally:
        await nc.close()


def test_provisioning_raises_a_single_replica_stream_to_three(cluster):
    asyncio.run(_single_replica_setup(cluster.url))
    asyncio.run(provision(admin_settings(cluster, NODES)))
    asyncio.run(wait_replicated(cluster.url, STREAM))
    # The consumer and the bucket created at R1 follow.
    asyncio.run(wait_replicated(cluster.url, STREAM, executor_consumer("echo")))
    asyncio.run(wait_replicated(cluster.url, f"KV_{LEASE_BUCKET}"))


async def _ensure_on_every_node(cluster: EmbeddedCluster, buckets: list[str]) -> None:
    connections = [await nats.connect(node.url) for node in cluster.nodes]
    try:
        await asyncio.gather(
            *(
                # A short API timeout: an unanswered request is asked again, not fatal.
                ensure_bucket(nc.jetstream(timeout=1), bucket, history=1)
                for bucket in buckets
                for nc in connections
            )
        )
    finally:
        for nc in connections:
            await nc.close()


def test_components_on_every_node_ensure_the_same_new_buckets_together(cluster):
    # Three executors starting together, each on its own node: the one that did not create a
    # bucket may ask a server that has not heard of it yet (CI, stop 30: it exited on a 404),
    # or a busy meta leader may not answer in time (stop 31: it exited on the timeout).
    asyncio.run(provision(admin_settings(cluster, NODES)))
    buckets = [f"race_{n}" for n in range(12)]
    asyncio.run(_ensure_on_every_node(cluster, buckets))
    for bucket in buckets:
        asyncio.run(wait_replicated(cluster.url, f"KV_{bucket}"))


def test_executors_on_every_node_announce_their_processes_together(cluster):
    # Executors starting together on a new deployment: a put to the process registry a
    # moment after its leader was elected may find no stream answering (CI, stop 31: an
    # executor exited on it).
    asyncio.run(provision(admin_settings(cluster, NODES)))
    asyncio.run(_announce_on_every_node(cluster))
    asyncio.run(wait_replicated(cluster.url, f"KV_{PROCESS_REGISTRY_BUCKET}"))


async def _announce_on_every_node(cluster: EmbeddedCluster) -> None:
    processes = {process.id: process for process in PROCESSES}
    connections = [await nats.connect(node.url) for node in cluster.nodes]
    try:
        await asyncio.gather(*(announce(nc.jetstream(timeout=1), processes) for nc in connections))
        for nc in connections:
            registry = await nc.jetstream().key_value(PROCESS_REGISTRY_BUCKET)
            # Every put was acknowledged by a quorum, but a stream leader elected meanwhile
            # may not have applied them yet when a reader's consumer starts (CI, stop 34:
            # no keys at all): each node lists them all once it has.
            await eventually_async(
                partial(_lists, registry, processes),
                timeout=15,
                what=f"the registry on {nc.connected_url} listing every process",
                retry_on=(AssertionError, NoKeysError),
            )
    finally:
        for nc in connections:
            await nc.close()


async def _lists(registry: KeyValue, processes: dict) -> bool:
    assert sorted(await registry.keys()) == sorted(processes)
    return True


def test_up_with_a_three_node_cluster_serves_jobs_on_an_r3_stream(tmp_path):
    port = free_port()
    process = start_up(tmp_path, port, JOBSTREAM_EMBEDDED_NATS_NODES=str(NODES))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_processes(url)
        response = httpx.post(
            f"{url}/processes/echo/execution", json={"inputs": {"message": "r3"}}, timeout=30
        )
        assert response.status_code == 200 and response.text == "r3"
        servers = [
            child
            for child in psutil.Process(process.pid).children(recursive=True)
            if child.name() == "nats-server"
        ]
        assert len(servers) == NODES
        credentials = read_credentials(tmp_path / "data" / "nats")
        assert credentials is not None and credentials.url.count(",") == NODES - 1
        first = credentials.url.split(",")[0]
        admin = NatsCredentials(url=first, passwords=credentials.passwords).url_as("admin")
        asyncio.run(wait_replicated(admin, STREAM))
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
    finally:
        kill(process)
