"""Connecting to NATS the way a long-running service should: wait for it, reconnect forever."""

import asyncio

import nats
import structlog
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.errors import NoServersError

from .settings import Settings

log = structlog.get_logger(__name__)


class NatsNotConfigured(RuntimeError):
    pass


class StopRequested(Exception):
    """The component was asked to stop while it waited for NATS."""


# Closing flushes what is buffered; with the server gone that never ends, or fails.
CLOSE_TIMEOUT = 2.0


async def connect_nats(
    settings: Settings, name: str, wait: float = 30.0, stop: asyncio.Event | None = None
) -> NATS:
    """Connect, retrying for up to ``wait`` seconds while the server comes up; raises
    StopRequested once ``stop`` is set."""
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
            if await stopped_within(stop, 0.5):
                log.info("stopped while waiting for nats", component=name)
                raise StopRequested from exc


async def stopped_within(stop: asyncio.Event | None, seconds: float) -> bool:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile; whether it is set."""
    if stop is None:
        await asyncio.sleep(seconds)
        return False
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def close_nats(nc: NATS, name: str) -> None:
    """Close the connection, giving up after CLOSE_TIMEOUT when the server is unreachable."""
    try:
        await asyncio.wait_for(nc.close(), CLOSE_TIMEOUT)
    except (OSError, TimeoutError, NatsError) as exc:
        log.warning("closed without flushing: nats unreachable", component=name, error=repr(exc))
