"""The executor's slots: a free one goes to the highest lane waiting, and a job waiting for a
concurrency key lends its own back."""

import asyncio

from jobstream_executor.capacity import Capacity


async def _queued(capacity: Capacity, count: int) -> None:
    while sum(capacity.queued.values()) < count:
        await asyncio.sleep(0)


async def test_a_free_slot_goes_to_the_highest_lane_waiting_whatever_came_first():
    capacity = Capacity(1)
    capacity.take()
    order: list[str] = []
    beats: list[str] = []

    async def job(rank: int, name: str) -> None:
        async def heartbeat() -> None:
            beats.append(name)

        await capacity.take_in_turn(rank, heartbeat, every=0.05)
        order.append(name)

    tasks = [asyncio.create_task(job(rank, name)) for rank, name in ((2, "low"), (1, "normal"))]
    await _queued(capacity, 2)
    tasks.append(asyncio.create_task(job(0, "high")))
    await _queued(capacity, 3)
    while "low" not in beats:  # a waiter keeps its message alive
        await asyncio.sleep(0.01)
    for expected in (["high"], ["high", "normal"], ["high", "normal", "low"]):
        capacity.give()
        while len(order) < len(expected):
            await asyncio.sleep(0)
        assert order == expected and capacity.used == 1
    await asyncio.gather(*tasks)


async def test_a_job_waiting_for_a_key_lends_its_slot_and_takes_one_again():
    capacity = Capacity(1)
    capacity.take()
    async with capacity.lent("ingest", lambda: False):
        assert capacity.free and capacity.waiting["ingest"] == 1
        capacity.take()  # another job runs meanwhile
        finishing = asyncio.get_running_loop().call_later(0.05, capacity.give)
    finishing.cancel()
    assert capacity.used == 1 and capacity.waiting["ingest"] == 0


async def test_a_waiting_job_that_ends_takes_its_slot_back_without_waiting_for_one():
    # Dismissed or handed back while every slot is busy: it acks or naks at once, and its
    # end gives back the slot it took over the limit.
    capacity = Capacity(1)
    capacity.take()
    async with capacity.lent("ingest", lambda: True):
        capacity.take()  # another job takes the lent slot and keeps it
    assert capacity.used == 2 and not capacity.free
    capacity.give()
    assert capacity.used == 1
