"""A three-node embedded JetStream cluster for the tests, and waiting for replication."""

import nats
from nats.js import JetStreamContext
from pydantic import SecretStr

from jobstream_infra.embedded_cluster import EmbeddedCluster
from jobstream_infra.settings import NatsSettings

from .waiting import eventually_async

NODES = 3


def admin_settings(cluster: EmbeddedCluster, replicas: int = NODES) -> NatsSettings:
    """Settings that provision the cluster as its admin user, with every node's URL."""
    return NatsSettings(
        nats_url=cluster.address,
        nats_user="admin",
        nats_password=SecretStr(cluster.credentials.passwords["admin"]),
        replicas=replicas,
    )


async def _replicated(js: JetStreamContext, stream: str, consumer: str | None) -> bool:
    """Whether ``stream`` (or its ``consumer``) has a leader and NODES - 1 current followers."""
    if consumer is None:
        info = await js.stream_info(stream)
    else:
        info = await js.consumer_info(stream, consumer)
    group = info.cluster
    if group is None or not group.leader:
        return False
    followers = group.replicas or []
    return len(followers) == NODES - 1 and all(peer.current for peer in followers)


async def wait_replicated(
    url: str, stream: str, consumer: str | None = None, timeout: float = 15
) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await eventually_async(
            lambda: _replicated(js, stream, consumer),
            timeout,
            f"{stream} {consumer or ''} replicated",
            interval=0.1,
        )
    finally:
        await nc.close()


async def stream_leader(url: str, stream: str) -> str:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info(stream)
        assert info.cluster is not None and info.cluster.leader
        return info.cluster.leader
    finally:
        await nc.close()
