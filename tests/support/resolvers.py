"""Resolvers for callback host names (``jobstream_infra.callbacks.Resolve``) that answer what a
test says, for names no DNS knows: the injected lookup, not a patched socket module."""

from jobstream_infra.callbacks import Resolve


def answering(*addresses: str) -> Resolve:
    """Every lookup answers ``addresses``."""

    async def resolve(hostname: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def rebinding(first: str, then: str) -> Resolve:
    """The first lookup answers ``first``, every later one ``then``: DNS rebinding."""
    lookups: list[str] = []

    async def resolve(hostname: str, port: int) -> list[str]:
        lookups.append(hostname)
        return [first] if len(lookups) == 1 else [then]

    return resolve
