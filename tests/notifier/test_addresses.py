"""Which addresses a callback may reach: every special-purpose range refused unless allowed, and
a name checked through one lookup whose every answer must pass (jobstream_infra.callbacks)."""

import asyncio
import ipaddress
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from jobstream_infra.callbacks import CallbackRefused, check_callback, refused

from ..support.resolvers import answering

SPECIAL = [
    "0.0.0.0",
    "10.1.2.3",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "127.0.0.1",
    "169.254.169.254",  # cloud metadata
    "172.16.0.1",
    "192.0.0.8",
    "192.0.2.10",  # documentation
    "192.88.99.1",  # 6to4 relay anycast
    "192.168.1.1",
    "198.18.0.1",  # benchmarking
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.251",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:127.0.0.1",  # IPv4-mapped: judged as what it carries
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8: still a translator's address
    "64:ff9b:1::a00:1",  # local-use NAT64
    "100::1",  # discard-only
    "2001::1",  # Teredo
    "2001:2::1",  # benchmarking
    "2001:db8::1",  # documentation
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "3fff::1",  # documentation (RFC 9637)
    "5f00::1",  # SRv6 SIDs
    "fc00::1",
    "fd12:3456::1",  # unique-local
    "fe80::1",
    "fec0::1",  # site-local (deprecated)
    "ff02::1",  # multicast
]
PUBLIC = ["8.8.8.8", "93.184.215.14", "::ffff:8.8.8.8", "2606:4700:4700::1111", "2a00:1450::1"]


@pytest.mark.parametrize("address", SPECIAL)
def test_special_purpose_addresses_are_refused(address):
    assert refused(ipaddress.ip_address(address), [])


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_not(address):
    assert not refused(ipaddress.ip_address(address), [])


@pytest.mark.parametrize(
    ("address", "network"),
    [("127.0.0.1", "127.0.0.0/8"), ("::ffff:10.0.0.7", "10.0.0.0/8"), ("fd00::5", "fd00::/8")],
)
def test_an_allowed_network_admits_its_addresses_only(address, network):
    allowed = [ipaddress.ip_network(network)]
    assert not refused(ipaddress.ip_address(address), allowed)
    assert refused(ipaddress.ip_address("192.168.0.1"), allowed)


async def test_a_name_is_refused_when_any_of_its_addresses_is():
    with pytest.raises(CallbackRefused, match="127.0.0.1"):
        await check_callback("https://hooks.example/x", [], answering("8.8.8.8", "127.0.0.1"))


async def test_the_address_to_connect_to_is_the_first_one_checked():
    checked = await check_callback(
        "https://hooks.example/x", [], answering("::ffff:8.8.8.8", "2606:4700:4700::1111")
    )
    assert checked.address == ipaddress.ip_address("8.8.8.8")
    assert checked.hostname == "hooks.example"


async def test_a_lookup_that_hangs_is_refused_within_its_timeout(monkeypatch):
    monkeypatch.setattr("jobstream_infra.callbacks.LOOKUP_SECONDS", 0.2)

    async def hang(hostname: str, port: int) -> list[str]:
        await asyncio.sleep(60)
        return []

    with pytest.raises(CallbackRefused, match="did not resolve within 0.2 s"):
        await check_callback("https://slow.example/x", [], hang)


async def test_lookups_never_wait_for_the_pool_view_reads_use():
    """The gateway's view reads run on the loop's default pool: every thread of it busy, a
    callback host is still looked up (the system resolver; localhost is in /etc/hosts)."""
    loop = asyncio.get_running_loop()
    view_pool = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(view_pool)
    busy = threading.Event()
    stuck_read = loop.run_in_executor(None, busy.wait, 30)
    try:
        checked = await asyncio.wait_for(
            check_callback("http://localhost:9/x", ["127.0.0.0/8", "::1/128"]), 10
        )
        assert checked.address.is_loopback
    finally:
        busy.set()
        await stuck_read
