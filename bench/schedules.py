"""How late schedules fire, and what an armed schedule costs while it waits.

Lateness: ``--schedules`` schedules firing every second for ``--seconds`` on a stack (one
gateway, one executor, echo jobs); for each firing, the seconds from its instant to its job's
submission (the JobSubmitted event's time), read from the job stream.

Idle cost: the gateway's and the nats-server's CPU seconds over ``--idle`` seconds, first
with no schedule, then with ``--armed`` daily schedules armed (none firing), in the same run.

    .venv/bin/python -m bench.schedules [--schedules 10] [--seconds 40] [--armed 500]
"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import psutil

from jobstream_contracts.events import JobSubmitted
from jobstream_contracts.subjects import SCHEDULE_STREAM
from jobstream_infra.embedded import EmbeddedNats
from tests.support.stack import Stack, stream_events

from .stats import percentile


def _create(stack: Stack, schedule_id: str, **when: object) -> None:
    body = {"id": schedule_id, "process": "echo", "inputs": {"message": "b"}, **when}
    answer = stack.http.post("/schedules", json=body)
    answer.raise_for_status()


def lateness(stack: Stack, schedules: int, seconds: float) -> list[float]:
    for n in range(schedules):
        _create(stack, f"late-{n}", every="1s", overlap="allow")
    time.sleep(seconds)  # the measurement's window: firings happen in it
    for n in range(schedules):
        stack.http.patch(f"/schedules/late-{n}", json={"paused": True}).raise_for_status()
    events = asyncio.run(stream_events(stack.nats_url))
    return [
        (e.time - e.fired_by.instant).total_seconds()
        for e in events
        if isinstance(e, JobSubmitted) and e.fired_by is not None
    ]


def _cpu(processes: list[psutil.Process]) -> float:
    return sum(p.cpu_times().user + p.cpu_times().system for p in processes)


def idle_cpu(
    stack: Stack, server: psutil.Process, armed: int, seconds: float
) -> tuple[float, float]:
    gateway = psutil.Process(stack.processes["gateway"][0].pid)
    watched = [gateway, server]
    before = _cpu(watched)
    time.sleep(seconds)  # idle on purpose: what nothing happening costs
    quiet = _cpu(watched) - before
    for n in range(armed):
        _create(stack, f"idle-{n}", cron="0 3 * * *")
    before = _cpu(watched)
    time.sleep(seconds)
    return quiet, _cpu(watched) - before


def _stored_bytes(url: str) -> int:
    import nats

    async def ask() -> int:
        nc = await nats.connect(url)
        try:
            return (await nc.jetstream().stream_info(SCHEDULE_STREAM)).state.bytes
        finally:
            await nc.close()

    return asyncio.run(ask())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--armed", type=int, default=500)
    parser.add_argument("--idle", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, EmbeddedNats(Path(work) / "nats") as server:
        stack = Stack(Path(work) / "stack", server.url, credentials=server.credentials).start()
        try:
            stack.wait_ready(("echo",))
            assert server.process is not None
            nats_server = psutil.Process(server.process.pid)
            quiet, armed = idle_cpu(stack, nats_server, args.armed, args.idle)
            held = _stored_bytes(server.url)
            late = lateness(stack, args.schedules, args.seconds)
        finally:
            stack.close()
    print(f"firings: {len(late)}")
    for q in (50, 90, 99):
        print(f"lateness p{q}: {percentile(late, q) * 1000:.1f} ms")
    print(f"lateness max: {max(late) * 1000:.1f} ms")
    print(
        f"idle CPU over {args.idle:g} s (gateway + nats-server): {quiet:.3f} s with none, "
        f"{armed:.3f} s with {args.armed} armed daily schedules"
    )
    print(f"schedules stream after arming them: {held} bytes ({held / args.armed:.0f} a schedule)")


if __name__ == "__main__":
    main()
