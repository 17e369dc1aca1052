"""The deployment of issue #13 on loopback, as real processes: a three-node JetStream cluster
with the stream, consumers and buckets at R3, two gateways, three executors, two projectors
(one active, one standing by) and a PostgreSQL view.

Timeouts are short through the settings production uses (AckWait, the projector's lease), so
the node-loss tests run in CI.
"""

import asyncio
import time
from pathlib import Path

from jobstream_contracts.subjects import STREAM
from jobstream_infra.embedded import EmbeddedNats, free_port
from jobstream_infra.embedded_cluster import EmbeddedCluster
from jobstream_infra.provisioning import provision

from .cluster import NODES, admin_settings, stream_leader, wait_replicated
from .stack import Stack, wait_gateway
from .waiting import eventually

ACK_WAIT = 2
PROJECTOR_LEASE_TTL = 1.5
EXECUTORS = 3
PROJECTOR_ACTIVE = "projector active"
PROJECTOR_STANDING_BY = "projector standing by"


class Deployment:
    def __init__(self, root: Path, database_url: str) -> None:
        self.cluster = EmbeddedCluster(root / "nats", size=NODES)
        self.root = root
        self.database_url = database_url
        self.stack: Stack | None = None
        self.gateways: list[str] = []

    def start(self) -> "Deployment":
        self.cluster.start()
        asyncio.run(provision(admin_settings(self.cluster)))
        # The test side reads the stream through node 1 as the admin; components are given
        # every node (the credentials' URL) and connect as their own users.
        stack = Stack(
            self.root / "stack",
            self.cluster.url,
            database_url=self.database_url,
            credentials=self.cluster.credentials,
            replicas=NODES,
            ack_wait=ACK_WAIT,
            projector_lease_ttl=PROJECTOR_LEASE_TTL,
        )
        self.stack = stack
        second_port = free_port()
        for name in ["projector"] * 2 + ["executor"] * EXECUTORS + ["gateway"]:
            stack.start_component(name)
        stack.start_component("gateway", port=second_port)
        self.gateways = [stack.url, f"http://127.0.0.1:{second_port}"]
        stack.wait_ready(("echo",))
        wait_gateway(self.gateways[1], stack.processes["gateway"][1])
        self.wait_log("projector", self.standby_projector(), PROJECTOR_STANDING_BY)
        return self

    def active_projector(self, timeout: float = 60) -> int:
        """The index of the projector holding the view's lease, once one does."""

        def active() -> int | None:
            return next((i for i in (0, 1) if PROJECTOR_ACTIVE in self.log("projector", i)), None)

        return eventually(active, timeout, "a projector becoming active")

    def standby_projector(self) -> int:
        return 1 - self.active_projector()

    def close(self) -> None:
        if self.stack is not None:
            self.stack.close()
        self.cluster.stop()

    def __enter__(self) -> "Deployment":
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the cluster -------------------------------------------------------------------
    def stream_leader(self) -> EmbeddedNats:
        return self.cluster.node_named(asyncio.run(stream_leader(self.cluster.url, STREAM)))

    def survivor(self, lost: EmbeddedNats) -> EmbeddedNats:
        return next(node for node in self.cluster.nodes if node is not lost)

    def wait_new_leader(self, old: EmbeddedNats, timeout: float) -> str:
        """The name of the stream's next leader, asked of another node."""
        assert old.seat is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                leader = asyncio.run(stream_leader(self.survivor(old).url, STREAM))
            except Exception:  # noqa: BLE001 - no answer while the cluster elects
                leader = old.seat.server_name
            if leader != old.seat.server_name:
                return leader
            time.sleep(0.2)
        raise AssertionError(f"no new stream leader within {timeout} s")

    def wait_caught_up(self, timeout: float = 60) -> None:
        """Until the stream has a leader and two current followers again."""
        asyncio.run(wait_replicated(self.cluster.url, STREAM, timeout=timeout))

    # -- components -----------------------------------------------------------------
    def log(self, name: str, index: int) -> str:
        assert self.stack is not None
        return (self.stack.logs / f"{name}-{index}.log").read_text(errors="replace")

    def wait_log(self, name: str, index: int, text: str, timeout: float = 60) -> None:
        eventually(
            lambda: text in self.log(name, index),
            timeout,
            lambda: f"{text!r} in:\n{self.log(name, index)}",
        )
