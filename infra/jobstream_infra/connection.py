"""Connecting to NATS the way a long-running service should: wait for it, reconnect forever."""

import asyncio

import nats
import structlog
from nats.aio.client import Client as NATS
from nats.errors import NoServersError

from .settings import Settings

log = structlog.get_logger(__name__)


class NatsNotConfigured(RuntimeError):
    pass


async def connect_nats(settings: Settings, name: str, wait: float = 30.0) -> NATS:
    """Connect, retrying for up to ``wait`` seconds while the server comes up."""
    if not settings.nats_url:
        raise NatsNotConfigured(
            "JOBSTREAM_NATS_URL is not set: point it at a nats-server with JetStream, "
            "or use `jobstream up`, which starts an embedded one"
        )

    async def on_error(exc: Exception) -> None:
        log.warning("nats error", component=name, error=str(exc))

    async def on_disconnected() -> None:
        log.warning("nats disconnected", component=name)

    async def on_reconnected() -> None:
        log.info("nats reconnected", component=name)

    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            return await nats.connect(
                servers=[settings.nats_url],
                name=f"jobstream-{name}",
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=2,
                ping_interval=10,
                max_outstanding_pings=3,
                error_cb=on_error,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
            )
        except (TimeoutError, NoServersError, OSError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.info("waiting for nats", url=settings.nats_url, error=str(exc))
            await asyncio.sleep(0.5)
