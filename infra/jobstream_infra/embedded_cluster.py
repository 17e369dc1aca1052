"""A JetStream cluster of embedded nats-servers on one machine, for trying replication.

Decisions:
- Each node is an EmbeddedNats with its own store (``<root>/node-N``), ports and server name;
  all share one set of credentials, kept in ``<root>`` and naming every node's address, so a
  component given them connects to whichever node answers.
- The nodes start together and the cluster counts as up once every node passes the full
  health check: a JetStream meta leader is elected and its streams are current.
- Routes between the nodes are unauthenticated: they listen on loopback only.
"""

from pathlib import Path

import structlog

from .embedded import PLACEMENTS, ClusterSeat, EmbeddedNats, PortTaken, free_port
from .nats_credentials import NatsCredentials, ensure_credentials

log = structlog.get_logger(__name__)

CLUSTER_NAME = "jobstream"


def _seats(size: int, host: str) -> list[ClusterSeat]:
    routes = [f"nats://{host}:{free_port(host)}" for _ in range(size)]
    return [
        ClusterSeat(
            server_name=f"{CLUSTER_NAME}-{index + 1}",
            cluster_name=CLUSTER_NAME,
            listen=route.removeprefix("nats://"),
            routes=tuple(other for other in routes if other != route),
        )
        for index, route in enumerate(routes)
    ]


class EmbeddedCluster:
    def __init__(
        self,
        root: Path,
        size: int = 3,
        host: str = "127.0.0.1",
        sync_interval: str = "always",
        max_store: str = "10G",
    ) -> None:
        self.root = Path(root)
        self.size, self.host = size, host
        self.sync_interval, self.max_store = sync_interval, max_store
        self._place()

    def _place(self) -> None:
        """Every node on ports free now, and the credentials naming their addresses."""
        host = self.host
        ports = [free_port(host) for _ in range(self.size)]
        address = ",".join(f"nats://{host}:{port}" for port in ports)
        self.credentials: NatsCredentials = ensure_credentials(self.root, address)
        seats = _seats(self.size, host)
        self.nodes = [
            EmbeddedNats(
                self.root / f"node-{index + 1}",
                port=port,
                host=host,
                sync_interval=self.sync_interval,
                max_store=self.max_store,
                seat=seat,
                credentials=self.credentials,
            )
            for index, (port, seat) in enumerate(zip(ports, seats, strict=True))
        ]

    @property
    def address(self) -> str:
        """Every node's URL, comma-separated, without credentials: JOBSTREAM_NATS_URL."""
        return self.credentials.url

    @property
    def url(self) -> str:
        """The first node's URL as the admin user, for tests and tools."""
        return self.nodes[0].url

    def node_named(self, server_name: str) -> EmbeddedNats:
        return next(
            node for node in self.nodes if node.seat and node.seat.server_name == server_name
        )

    def start(self, timeout: float = 30.0) -> "EmbeddedCluster":
        for placement in range(1, PLACEMENTS + 1):
            try:
                self._launch(timeout)
                break
            except PortTaken:
                # A route names every node's port: the whole cluster moves.
                if placement == PLACEMENTS:
                    raise
                self._place()
        log.info("embedded nats cluster started", url=self.address, store=str(self.root))
        return self

    def _launch(self, timeout: float) -> None:
        try:
            for node in self.nodes:
                node.launch()
            for node in self.nodes:
                node.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> "EmbeddedCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
