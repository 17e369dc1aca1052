"""Connecting to NATS the way a long-running service should: wait for it, reconnect forever.

A service waits for its server for as long as it takes (it may start first); a command a
person runs (`events export`, `apikey`) waits a few seconds, then ends with NatsUnreachable,
naming the address it tried and the setting that changes it.

Each component connects as its own NATS user (nats_users.py): the settings' user when given,
its own file of the credentials folder (nats_keys.py), else the embedded server's generated
credentials when connecting to it; over TLS when the server asks for it (nats_tls.py).
Credentials the server refuses, and a TLS handshake that fails, end the start at once, with
the user's name or the setting to change, rather than being retried for ever.
"""

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from nats.aio.client import DEFAULT_PENDING_SIZE
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError

from . import nats_tls
from .nats_credentials import read_credentials
from .nats_keys import UnusableKey, UserKey, user_key
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
class NatsTls:
    """How a connection is encrypted when the server asks for TLS: None, nats-py's
    default context (the system's authorities)."""

    context: ssl.SSLContext | None = None
    server_name: str | None = None
    client_certificate: bool = False


@dataclass(frozen=True)
class NatsLogin:
    # One server's URL or several, comma-separated (a cluster's nodes).
    url: str
    user: str | None
    password: str | None
    # Replies come to the user's own inboxes, the only ones it may subscribe to.
    inbox_prefix: str
    # A creds file or an NKEY seed, in place of a password.
    key: UserKey | None = None
    tls: NatsTls = NatsTls()

    def key_file(self, creds: bool) -> str | None:
        """The creds file (``creds``) or the NKEY seed file this login uses, if it does."""
        if self.key is None or self.key.is_creds != creds:
            return None
        return str(self.key.path)


def nats_login(settings: NatsSettings, component: str) -> NatsLogin:
    """Where and as whom ``component`` connects."""
    user = user_of(component)
    tls = NatsTls(
        settings.nats_tls, settings.nats_tls_server_name, settings.nats_tls_cert_file is not None
    )
    if settings.nats_user:
        password = settings.nats_password.get_secret_value() if settings.nats_password else None
        return NatsLogin(_url(settings), settings.nats_user, password, inbox_prefix(user), tls=tls)
    if settings.nats_credentials_dir:
        key = _key_of(settings.nats_credentials_dir, user)
        return NatsLogin(_url(settings), None, None, inbox_prefix(user), key, tls)
    embedded = read_credentials(settings.embedded_nats_dir)
    # Only to the server they belong to: never sent to another.
    if embedded is not None and settings.nats_url in (None, embedded.url):
        return NatsLogin(embedded.url, user, embedded.passwords[user], inbox_prefix(user))
    return NatsLogin(_url(settings), None, None, inbox_prefix(user), tls=tls)


def _key_of(folder: Path, user: str) -> UserKey:
    try:
        return user_key(folder, user)
    except UnusableKey as exc:
        raise NatsNotConfigured(f"JOBSTREAM_NATS_CREDENTIALS_DIR: {exc}") from None


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


def _refusal(exc: Exception, login: NatsLogin, name: str, nc: NATS) -> str | None:
    """Why the server will never accept this connection as configured; None when waiting
    may help."""
    if "authorization violation" in str(exc).lower():
        who = f"the key {login.key.path}" if login.key else f"NATS user {login.user!r}"
        return f"nats-server refused {who} of {name}: {exc}"
    if "maximum control line exceeded" in str(exc).lower():
        return (
            f"nats-server refused the CONNECT of {name} as too long (a user JWT carrying "
            "many permissions): raise max_control_line in its configuration (16384 fits)"
        )
    # nats-py keeps the INFO of the server it tried last in no public attribute.
    server_info = nc._server_info
    reason = nats_tls.refusal(exc, server_info, login.tls.client_certificate)
    return f"{name} cannot connect to NATS at {login.url}: {reason}" if reason else None


async def connect_nats(
    settings: NatsSettings,
    name: str,
    wait: float | None = None,
    stop: asyncio.Event | None = None,
    buffer_while_reconnecting: bool = True,
) -> NATS:
    """Connect, retrying while the server comes up: for ever, or for up to ``wait`` seconds,
    then NatsUnreachable. Raises StopRequested once ``stop`` is set, NatsRefused if the
    server refuses the credentials or the TLS handshake, NatsNotConfigured if a setting
    lacks or a credentials file is unusable.

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
    nc = NATS()

    async def on_error(exc: Exception) -> None:
        nonlocal failures
        refusal = _refusal(exc, login, name, nc) if connecting else None
        if refusal:
            # Raised out of nc.connect, which would otherwise retry these for ever.
            raise NatsRefused(refusal)
        failures += 1
        if connecting and failures == 1:  # once, not every half second
            log.info("waiting for nats", url=login.url, error=str(exc))
        elif not connecting:
            log.warning("nats error", component=name, error=str(exc))

    async def on_disconnected() -> None:
        if not connecting and nc.is_closed:
            return  # our own close, not a lost server
        log.warning("nats disconnected", component=name)

    async def on_reconnected() -> None:
        log.info("nats reconnected", component=name)

    await nc.connect(
        **_options(login, name, pending_size),
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
    )
    connecting = False
    return nc


def _options(login: NatsLogin, name: str, pending_size: int) -> dict[str, Any]:
    """nats-py's connect options, passed as nats.connect passes them: nats-py annotates
    reconnect_time_wait as an int, yet waits any number of seconds."""
    return {
        "servers": servers_of(login.url),
        "user": login.user,
        "password": login.password,
        "user_credentials": login.key_file(creds=True),
        "nkeys_seed": login.key_file(creds=False),
        "tls": login.tls.context,
        "tls_hostname": login.tls.server_name,
        "inbox_prefix": login.inbox_prefix,
        "name": f"jobstream-{name}",
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "connect_timeout": 2,
        "ping_interval": 10,
        "max_outstanding_pings": 3,
        "pending_size": pending_size,
    }


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
