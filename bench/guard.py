"""`python -m bench.guard`: jobstream's CPU per no-op job against the raw nats-py floor,
measured in the same run on the same machine; exit 1 when the ratio is over the bound kept in
bench/guard.json.

CPU, not wall time: a loaded machine slows both, a change on the hot path moves only
jobstream's. Every process counts (the components, nats-server, the HTTP clients) as in
scenario 1 of `python -m bench`; the floor is the publish-consume-publish loop of nats-py in
this process, plus a nats-server of its own. Rounds alternate between the two and the medians
are compared, so a burst of load elsewhere lands on both.
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

from jobstream.supervisor import COMPONENTS
from jobstream_infra.embedded import EmbeddedNats

from .scenarios import _cpu_ms_per_job, _cpu_seconds, _raw_floor, _stack, no_op_jobs

BOUND = Path(__file__).with_name("guard.json")


def measure(work: Path, jobs: int, clients: int, rounds: int) -> tuple[list[float], list[float]]:
    """CPU ms per job of jobstream (every process) and of the floor, one pair per round,
    the two alternating."""
    with EmbeddedNats(work / "nats-jobstream") as server, EmbeddedNats(work / "nats-floor") as bare:
        stack = _stack(work / "stack", server.url).start(*COMPONENTS)
        try:
            assert server.process is not None and bare.process is not None
            parts = {name: psutil.Process(ps[0].pid) for name, ps in stack.processes.items()}
            parts["nats-server"] = psutil.Process(server.process.pid)
            # Warm both: imports, connections, caches (the floor's first run costs a third more).
            no_op_jobs(stack.url, jobs // 4, clients)
            _floor_cpu_ms(bare.url, psutil.Process(bare.process.pid), jobs // 4, clients)
            ours, floor = [], []
            for _ in range(rounds):
                before = _cpu_seconds(parts)
                run = no_op_jobs(stack.url, jobs, clients)
                ours.append(sum(_cpu_ms_per_job(parts, before, [run], jobs).values()))
                # Four times the jobs: the loop takes a tenth of the time, and a short run's
                # figure scattered by a fifth.
                floor_process = psutil.Process(bare.process.pid)
                floor.append(_floor_cpu_ms(bare.url, floor_process, 4 * jobs, clients))
            return ours, floor
        finally:
            stack.close()


def _floor_cpu_ms(url: str, nats_server: psutil.Process, jobs: int, clients: int) -> float:
    """CPU ms per job of the raw loop: this process and its nats-server."""
    began = time.process_time(), sum(nats_server.cpu_times()[:2])
    asyncio.run(_raw_floor(url, jobs, clients))
    spent = time.process_time() - began[0] + sum(nats_server.cpu_times()[:2]) - began[1]
    return spent * 1000 / jobs


def main() -> int:
    parser = argparse.ArgumentParser(description="jobstream's CPU per job against the floor")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bound = json.loads(BOUND.read_text())
    with tempfile.TemporaryDirectory(prefix="jobstream-guard-") as work:
        ours, floor = measure(Path(work), args.jobs, args.clients, args.rounds)
    ratio = statistics.median(ours) / statistics.median(floor)
    print(
        f"bench.guard: jobstream {statistics.median(ours):.2f} ms CPU per no-op job "
        f"({', '.join(f'{v:.2f}' for v in ours)}), raw nats-py floor "
        f"{statistics.median(floor):.2f} ms ({', '.join(f'{v:.2f}' for v in floor)}): "
        f"{ratio:.1f}x, bound {bound['max_ratio']}x"
    )
    if ratio > bound["max_ratio"]:
        print(f"bench.guard: over the bound ({BOUND.name}: {bound['why']})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
