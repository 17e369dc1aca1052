"""The Host allow-list: a request naming a host the gateway does not answer to is refused.

A web page in a developer's browser can rebind its own name to 127.0.0.1 and then read an
``AUTH=none`` gateway as if it were same-origin; its requests still carry the page's name in
``Host``. So only the names the gateway is reached by are taken: the bound address, the
loopback names, the public URL's host and ``ALLOWED_HOSTS``.

Decisions:
- Starlette's TrustedHostMiddleware answers in plain text and cuts ``[::1]:8000`` at its first
  colon; this one answers with an OGC body and reads bracketed IPv6 addresses.
- ``/health`` answers whatever the Host: load balancers and orchestrators probe it at the
  address they dialled, and it tells no more than "ok" and a pid. ``/ready`` is checked: with
  ``AUTH=none`` its report is anyone's (a probe of it sends an allowed Host, e.g. localhost).
- A request without a Host header (HTTP/1.0) passes: browsers always send one.
"""

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from jobstream_contracts.ogc import ExceptionType
from jobstream_infra.settings import GatewaySettings

from .errors import error_response

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
# Answered whatever the Host (see above).
UNCHECKED = frozenset({"/health"})


def _bracketed(name: str) -> str:
    """An IPv6 address as a Host header writes it (``[::1]``), any other name as it is."""
    try:
        return f"[{name}]" if ipaddress.ip_address(name).version == 6 else name
    except ValueError:
        return name


def allowed_hosts(settings: GatewaySettings) -> frozenset[str]:
    """The names (and ``*.domain`` patterns, or ``*``) the gateway answers to, lowercased."""
    names = [*LOOPBACK_NAMES, _bracketed(settings.host), *settings.allowed_hosts]
    if settings.public_url and (public := urlsplit(settings.public_url).hostname):
        names.append(_bracketed(public))
    return frozenset(name.lower().rstrip(".") for name in names)


def host_name(header: str) -> str:
    """The header's host without its port, lowercased: ``[::1]:8000`` → ``[::1]``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] or header
    return header.partition(":")[0].rstrip(".")


def is_allowed(name: str, allowed: frozenset[str]) -> bool:
    if "*" in allowed or name in allowed:
        return True
    return any(pattern.startswith("*.") and name.endswith(pattern[1:]) for pattern in allowed)


class TrustedHosts:
    """ASGI middleware refusing (400) a request whose Host is not one the gateway answers to."""

    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        self.app = app
        self.allowed = allowed_hosts(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = Headers(scope=scope).get("host") if scope["type"] == "http" else None
        if header is None or self._answers(scope["path"], header):
            await self.app(scope, receive, send)
            return
        detail = (
            f"Host: {header!r} is not a name this gateway answers to; set "
            "JOBSTREAM_ALLOWED_HOSTS (or JOBSTREAM_PUBLIC_URL) to serve it"
        )
        refusal = error_response(
            400, ExceptionType.INVALID_PARAMETER, detail, "Invalid parameter", scope["path"]
        )
        await refusal(scope, receive, send)

    def _answers(self, path: str, header: str) -> bool:
        return path in UNCHECKED or is_allowed(host_name(header), self.allowed)
