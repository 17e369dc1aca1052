"""Which callback URIs jobstream may POST to: http(s) to public addresses, or to networks an
operator allows. Checked when a job is submitted (400) and again before every delivery, since a
name may resolve elsewhere by then."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class CallbackRefused(ValueError):
    """A callback URI jobstream will not call, and why."""


async def check_callback(uri: str, allowed_networks: list[str]) -> None:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackRefused(f"{uri!r} is not an http or https URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise CallbackRefused(f"{uri!r}: {exc}") from None
    try:
        found = await asyncio.to_thread(
            socket.getaddrinfo, parts.hostname, port, type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise CallbackRefused(f"{parts.hostname!r} does not resolve ({exc})") from None
    allowed = [ipaddress.ip_network(network, strict=False) for network in allowed_networks]
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not ip.is_global and not any(ip in network for network in allowed):
            raise CallbackRefused(
                f"{parts.hostname} resolves to {ip}, a non-public address; "
                "JOBSTREAM_CALLBACK_ALLOWED_NETWORKS can allow it"
            )
