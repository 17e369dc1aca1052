"""Ending the background loops of a running job (keepalive, lease renewal)."""

import asyncio


async def stop_loop(task: asyncio.Future, stop: asyncio.Event) -> None:
    """End a loop task that checks ``stop`` after each of its awaits, and wait for it.

    The flag, not only a cancel: on Python 3.11 ``asyncio.wait_for`` (inside every nats-py
    request) drops a cancel that arrives as the request's answer does, and a loop relying on
    the cancel goes on for ever while the job waits for it: a job stuck "running" at 100 %.
    """
    stop.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
