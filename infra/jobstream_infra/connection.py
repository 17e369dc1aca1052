"""Connecting to NATS the way a long-running service should: wait for it, reconnect forever.

Each component connects as its own NATS user (nats_users.py): the settings' user when given,
else the embedded server's generated credentials when connecting to it. Credentials the server
refuses end the start at once, with the user's name, rather than being retried for ever.
"""

import asyncio
from dataclasses import dataclass

import nats
import structlog
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.errors import NoServersError

from .nats_credentials import read_credentials
from .nats_users import inbox_prefix, user_of
from .settings import NatsSettings

log = structlog.get_logger(__name__)


class NatsNotConfigured(RuntimeError):
    pass


class NatsRefused(RuntimeError):
    """The server refused the credentials: a configuration error, not a server to wait for."""


class StopRequested(Exception):
    """The component was asked to stop while it waited for NATS."""


# Closing flushes what is buffered; with the server gone that never ends, or fails.
CLOSE_TIMEOUT = 2.0


@dataclass(frozen=True)
class NatsLogin:
    # One server's URL or several, comma-separated (a cluster's nodes).
    url: str
    user: str | None
    password: str | None
    # Replies come to the user's own inboxes, the only ones it may subscribe to.
    inbox_prefix: str


def nats_login(settings: NatsSettings, component: str) -> NatsLogin:
    """Where and as whom ``component`` connects."""
    user = user_of(component)
    if settings.nats_user:
        password = settings.nats_password.get_secret_value() if settings.nats_password else None
        return NatsLogin(_url(settings), settings.nats_user, password, inbox_prefix(user))
    embedded = read_credentials(settings.embedded_nats_dir)
    # Only to the server they belong to: never sent to another.
    if embedded is not None and settings.nats_url in (None, embedded.url):
        return NatsLogin(embedded.url, user, embedded.passwords[user], inbox_prefix(user))
    return NatsLogin(_url(settings), None, None, inbox_prefix(user))


def _url(settings: NatsSettings) -> str:
    if not settings.nats_url:
        raise NatsNotConfigured(
            "JOBSTREAM_NATS_URL is not set: point it at a nats-server with JetStream, "
            "or use `jobstream up`, which starts an embedded one"
        )
    return settings.nats_url


def servers_of(url: str) -> list[str]:
    """The servers a comma-separated NATS URL names: nats-py tries them in turn and
    reconnects to the next when one is lost."""
    return [server.strip() for server in url.split(",") if server.strip()]


def _refused(exc: Exception) -> bool:
    return "authorization violation" in str(exc).lower()


async def connect_nats(
    settings: NatsSettings, name: str, wait: float = 30.0, stop: asyncio.Event | None = None
) -> NATS:
    """Connect, retrying for up to ``wait`` seconds while the server comes up; raises
    StopRequested once ``stop`` is set, NatsRefused if the server refuses the credentials."""
    login = nats_login(settings, name)
    connecting = True

    async def on_error(exc: Exception) -> None:
        if connecting and _refused(exc):
            # Raised out of nats.connect, which would otherwise retry these for ever.
            raise NatsRefused(f"nats-server refused NATS user {login.user!r} of {name}: {exc}")
        log.warning("nats error", component=name, error=str(exc))

    connected: list[NATS] = []

    async def on_disconnected() -> None:
        if connected and connected[0].is_closed:
            return  # our own close, not a lost server
        log.warning("nats disconnected", component=name)

    async def on_reconnected() -> None:
        log.info("nats reconnected", component=name)

    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            nc = await nats.connect(
                servers=servers_of(login.url),
                user=login.user,
                password=login.password,
                inbox_prefix=login.inbox_prefix,
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
            connected.append(nc)
            connecting = False
            return nc
        except (TimeoutError, NoServersError, OSError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.info("waiting for nats", url=login.url, error=str(exc))
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
