"""Which callback URIs jobstream may POST to: http(s) to public addresses, or to networks an
operator allows. Checked when a job is submitted (400) and again before every delivery, since a
name may resolve elsewhere by then.

Decisions:

- A name is looked up once per check, and the delivery connects to the address that was
  checked (``CheckedCallback.address``): a second lookup, as an HTTP client makes, could answer
  otherwise (DNS rebinding). Every address the name has must pass, not only the one used.
- Refused unless inside an allowed network: every IANA special-purpose range (RFC 6890 and its
  successors), listed below because Python's ``is_global`` misses some (NAT64 counts as global
  on 3.11), and whatever else Python does not call global. An IPv4-mapped IPv6 address is
  judged, and connected to, as the IPv4 address it carries.
- Lookups run on a small pool of their own with a timeout, never on the event loop's default
  pool, which the gateway's view reads share: a slow name stalls only other callback lookups.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Looks a host name up: its addresses, as text, for a port.
Resolve = Callable[[str, int], Awaitable[list[str]]]

LOOKUP_SECONDS = 5.0
_LOOKUPS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="callback-lookup")

SPECIAL_PURPOSE = [
    ipaddress.ip_network(network)
    for network in (
        # IPv4 (RFC 6890, 7526, 8155, 7723, 6598, 2544, 5737, 5771, 1112)
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
        "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        # IPv6 (RFC 4291, 6052, 8215, 6666, 2928, 4380, 3849, 3056, 9637, 4193, 4291, 3879)
        "::/128", "::1/128", "::ffff:0:0/96", "::/96", "64:ff9b::/96", "64:ff9b:1::/48",
        "100::/64", "2001::/23", "2001::/32", "2001:db8::/32", "2002::/16",
        "2620:4f:8000::/48", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
        "fec0::/10", "ff00::/8",
    )
]  # fmt: skip


class CallbackRefused(ValueError):
    """A callback URI jobstream will not call, and why."""


class LookupTimedOut(CallbackRefused):
    """The name did not resolve in time: refused at submission, retried at delivery."""


@dataclass(frozen=True)
class CheckedCallback:
    """A callback URI that passed, and the address its connection must go to."""

    uri: str
    hostname: str
    address: IPAddress


def refused(ip: IPAddress, allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Whether a callback to ``ip`` is refused: special-purpose and not inside ``allowed``."""
    ip = _unmapped(ip)
    if any(ip in network for network in allowed):
        return False
    return not ip.is_global or any(ip in network for network in SPECIAL_PURPOSE)


async def lookup(hostname: str, port: int) -> list[str]:
    """The system resolver's addresses for ``hostname``, looked up on the lookup pool."""
    call = partial(socket.getaddrinfo, hostname, port, type=socket.SOCK_STREAM)
    found = await asyncio.get_running_loop().run_in_executor(_LOOKUPS, call)
    return [str(address[0]) for *_, address in found]


async def check_callback(
    uri: str, allowed_networks: list[str], resolve: Resolve = lookup
) -> CheckedCallback:
    """``uri`` checked: every address its host has is allowed; the first is the one to use."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackRefused(f"{uri!r} is not an http or https URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise CallbackRefused(f"{uri!r}: {exc}") from None
    addresses = await _addresses(parts.hostname, port, resolve)
    allowed = [ipaddress.ip_network(network, strict=False) for network in allowed_networks]
    for ip in addresses:
        if refused(ip, allowed):
            raise CallbackRefused(
                f"{parts.hostname} resolves to {ip}, a non-public address; "
                "JOBSTREAM_CALLBACK_ALLOWED_NETWORKS can allow it"
            )
    return CheckedCallback(uri, parts.hostname, _unmapped(addresses[0]))


async def _addresses(hostname: str, port: int, resolve: Resolve) -> list[IPAddress]:
    """An address literal as it is; a name looked up, once."""
    try:
        return [ipaddress.ip_address(hostname)]
    except ValueError:
        pass
    try:
        found = await asyncio.wait_for(resolve(hostname, port), LOOKUP_SECONDS)
    except TimeoutError:
        raise LookupTimedOut(f"{hostname!r} did not resolve within {LOOKUP_SECONDS:g} s") from None
    except OSError as exc:
        raise CallbackRefused(f"{hostname!r} does not resolve ({exc})") from None
    if not found:
        raise CallbackRefused(f"{hostname!r} has no address")
    return [ipaddress.ip_address(address.partition("%")[0]) for address in found]


def _unmapped(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address is the IPv4 address it carries."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip
