"""An embedded nats-server whose chosen port another process took before it bound it (two test
processes choosing the same free port): it is placed on fresh ports and starts."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.embedded_cluster import EmbeddedCluster

pytestmark = pytest.mark.serial  # a cluster's elections want the machine to themselves


@contextmanager
def taken(port: int) -> Iterator[None]:
    """``port`` listened on by another socket, as by another process."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        yield


def test_a_server_whose_monitor_port_was_taken_starts_on_another(tmp_path):
    server = EmbeddedNats(tmp_path / "nats")
    first = server.monitor_port
    with taken(first), server:
        assert server.monitor_port != first
        assert b"address already in use" in server.log_path.read_bytes()


def test_a_cluster_whose_route_port_was_taken_starts_on_other_ports(tmp_path):
    cluster = EmbeddedCluster(tmp_path / "nats", size=3)
    seat = cluster.nodes[0].seat
    assert seat is not None
    route_port = int(seat.listen.rpartition(":")[2])
    with taken(route_port), cluster:
        routes = [node.seat.listen for node in cluster.nodes if node.seat]
        assert all(not route.endswith(f":{route_port}") for route in routes)
        assert all(node.process and node.process.poll() is None for node in cluster.nodes)
