"""Waiting on a real signal: the one polling loop the tests share.

A test that waits for something to happen asks ``eventually`` to look until it has; a test that
must prove something did *not* happen waits for a later thing that would have followed it
instead of sleeping.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

T = TypeVar("T")
# A look answers None or False for "not yet"; anything else (0 too: an index) is the answer.

# What a look may raise while the thing looked at is still coming up: tried again.
NOT_YET: tuple[type[BaseException], ...] = (AssertionError, httpx.TransportError)


class NeverHappened(AssertionError):
    """``eventually`` ran out of time; the last look's error, if any, is its cause."""


def _message(what: str | Callable[[], str]) -> str:
    return what() if callable(what) else what


def eventually(
    look: Callable[[], T | None],
    timeout: float = 30.0,
    what: str | Callable[[], str] = "the condition",
    interval: float = 0.05,
    retry_on: tuple[type[BaseException], ...] = NOT_YET,
) -> T:
    """``look()`` until it answers neither None nor False (returned); past ``timeout`` seconds,
    ``NeverHappened`` naming ``what`` (a callable is asked then, e.g. for a log)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            answer = look()
            if answer is not None and answer is not False:
                return answer
        except retry_on as exc:
            last = exc
        time.sleep(interval)
    raise NeverHappened(f"waited {timeout:g} s for {_message(what)}") from last


async def eventually_async(
    look: Callable[[], Awaitable[T | None]],
    timeout: float = 30.0,
    what: str | Callable[[], str] = "the condition",
    interval: float = 0.05,
    retry_on: tuple[type[BaseException], ...] = NOT_YET,
) -> T:
    """``eventually`` for a coroutine function, without blocking the loop between looks."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            answer = await look()
            if answer is not None and answer is not False:
                return answer
        except retry_on as exc:
            last = exc
        await asyncio.sleep(interval)
    raise NeverHappened(f"waited {timeout:g} s for {_message(what)}") from last
