"""Connecting to NATS the way a long-running service should: wait for it, reconnect forever.

A service waits for its server for as long as it takes (it may start first); a command a
person runs (`events export`, `apikey`) waits a few seconds, then ends with NatsUnreachable,
naming the address it tried and the setting that changes it.

Each component connects as its own NATS user (nats_users.py): the settings' user when given,
else the embedded server's generated credentials when connecting to it. Credentials the server
refuses end the start at once, with the user's name, rather than being retried for ever.
"""

import asyncio
from dataclasses import dataclass

import nats
import structlog
from nats.aio.client import DEFAULT_PENDING_SIZE
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError

from .nats_credentials import read_credentials
from .nats_users import inbox_prefix, user_of
from .settings import NatsSettings

log = structlog.get_logger(__name__)


class NatsNotConfigured(RuntimeError):
    pass


class NatsRefused(RuntimeError):
    """The server refused the credentials: a configuration error, not a server to wait for."""


class NatsUnreachable(RuntimeError):
    """No nats-server answered within the wait a command gave it."""


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
            "JOBSTREAM_NATS_URL is not set, and no `jobstream up` has run here "
            f"({settings.embedded_nats_dir} holds no credentials): run this in the folder "
            "where `jobstream up` runs, or set JOBSTREAM_NATS_URL to a nats-server with JetStream"
        )
    return settings.nats_url


def servers_of(url: str) -> list[str]:
    """The servers a comma-separated NATS URL names: nats-py tries them in turn and
    reconnects to the next when one is lost."""
    return [server.strip() for server in url.split(",") if server.strip()]


def _refused(exc: Exception) -> bool:
    return "authorization violation" in str(exc).lower()


async def connect_nats(
    settings: NatsSettings,
    name: str,
    wait: float | None = None,
    stop: asyncio.Event | None = None,
    buffer_while_reconnecting: bool = True,
) -> NATS:
    """Connect, retrying while the server comes up: for ever, or for up to ``wait`` seconds,
    then NatsUnreachable. Raises StopRequested once ``stop`` is set, NatsRefused if the
    server refuses the credentials.

    Without ``buffer_while_reconnecting`` a publish while the connection is down fails at once
    instead of waiting in nats-py's buffer to be sent on reconnect: what a caller was told
    failed must never be stored later (the gateway's 503s)."""
    login = nats_login(settings, name)
    pending_size = DEFAULT_PENDING_SIZE if buffer_while_reconnecting else 0
    connecting = asyncio.ensure_future(_connect(login, name, pending_size))
    stopping = asyncio.ensure_future(stop.wait() if stop else asyncio.Event().wait())
    try:
        done, _ = await asyncio.wait(
            {connecting, stopping}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopping.cancel()
    if connecting in done:
        return connecting.result()
    connecting.cancel()
    if stopping in done:
        log.info("stopped while waiting for nats", component=name)
        raise StopRequested
    raise NatsUnreachable(_unreachable(login.url, wait or 0, settings))


def _unreachable(url: str, wait: float, settings: NatsSettings) -> str:
    where = (
        "set JOBSTREAM_NATS_URL to a running nats-server"
        if settings.nats_url
        else f"start `jobstream up` in the folder holding {settings.data_dir}, "
        "or set JOBSTREAM_NATS_URL to a running nats-server"
    )
    return f"cannot reach NATS at {url} (no answer within {wait:g} s): {where}"


async def _connect(login: NatsLogin, name: str, pending_size: int) -> NATS:
    """nats-py's connect, which retries an unreachable server for ever, every half second."""
    connecting = True
    failures = 0

    async def on_error(exc: Exception) -> None:
        nonlocal failures
        if connecting and _refused(exc):
            # Raised out of nats.connect, which would otherwise retry these for ever.
            raise NatsRefused(f"nats-server refused NATS user {login.user!r} of {name}: {exc}")
        failures += 1
        if connecting and failures == 1:  # once, not every half second
            log.info("waiting for nats", url=login.url, error=str(exc))
        elif not connecting:
            log.warning("nats error", component=name, error=str(exc))

    connected: list[NATS] = []

    async def on_disconnected() -> None:
        if connected and connected[0].is_closed:
            return  # our own close, not a lost server
        log.warning("nats disconnected", component=name)

    async def on_reconnected() -> None:
        log.info("nats reconnected", component=name)

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
        pending_size=pending_size,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
    )
    connected.append(nc)
    connecting = False
    return nc


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
    # RuntimeError: uvloop's (the gateway's loop) for a write to a transport already closed.
    except (OSError, TimeoutError, NatsError, RuntimeError) as exc:
        log.warning("closed without flushing: nats unreachable", component=name, error=repr(exc))
