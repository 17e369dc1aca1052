"""stop_loop ends a loop even when the loop's cancel is lost, as Python 3.11 loses it."""

import asyncio

from jobstream_executor.loops import stop_loop


async def _answer_and_stop_at_once(stopper) -> str:
    """A keepalive-shaped loop is awaiting a request's answer (``asyncio.wait_for``, as
    nats-py does) when the answer and the stop arrive in the same loop iteration."""
    loop = asyncio.get_running_loop()
    answer = loop.create_future()
    stop = asyncio.Event()

    async def keepalive() -> None:
        await asyncio.wait_for(answer, 5)
        while not stop.is_set():
            await asyncio.wait_for(asyncio.sleep(0.01), 5)

    task = asyncio.create_task(keepalive())
    for _ in range(3):  # let it reach the wait
        await asyncio.sleep(0)
    answer.set_result("ack")
    await asyncio.wait_for(stopper(task, stop), 2)
    return "stopped"


def test_stop_loop_ends_a_loop_whose_cancel_arrives_with_an_answer():
    assert asyncio.run(_answer_and_stop_at_once(stop_loop)) == "stopped"


def test_stop_loop_ends_a_loop_sleeping_between_rounds():
    async def run() -> bool:
        stop = asyncio.Event()

        async def ticking() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticking())
        await asyncio.sleep(0.05)
        await asyncio.wait_for(stop_loop(task, stop), 2)
        return task.done()

    assert asyncio.run(run())
