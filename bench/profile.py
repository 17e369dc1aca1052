"""`python -m bench.profile`: where scenario 1's CPU goes, component by component.

Runs scenario 1's load (no-op jobs, clients polling each to success) on a stack of every
component while py-spy samples each Python component, and writes beside the benchmark report
`bench/results/<date>-profile/`: a flame graph per component (`<component>.svg`) and
`README.md`, the top costs of each.

Samples are taken only while a thread holds the GIL (py-spy's ``--gil``): its CPU, not the time
it waits on a socket or a lock, which a plain sample of an asyncio process is mostly made of.
nats-server is Go and is not sampled. A profile is a separate run from the figures of
`python -m bench`: the samplers cost CPU of their own.
"""

import argparse
import datetime
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jobstream.supervisor import COMPONENTS
from jobstream_infra.embedded import EmbeddedNats

from .__main__ import RESULTS
from .scenarios import _stack, no_op_jobs

SAMPLES_PER_SECOND = 1000
TOP = 15
# Frames under every sample of a thread (its start, the event loop) that say nothing.
_PLUMBING = re.compile(
    r"<module>|<frozen runpy>|asyncio/(runners|base_events|events)\.py|threading\.py|"
    r"concurrent/futures/thread\.py|jobstream/cli\.py|jobstream_client/cli/main\.py"
)
# What a line number would split: one function's samples, wherever in it they fell.
_LINE = re.compile(r":\d+\)$")


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    # Beside this interpreter (a venv not activated), else on PATH.
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed (it is in the dev dependency group)")
    folder = args.out / f"{datetime.date.today().isoformat()}-profile"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jobstream-profile-") as work:
        stacks = Path(work) / "stacks"
        stacks.mkdir()
        jobs = profile(Path(work), folder, stacks, spy, args.jobs, args.clients, args.rounds)
        summary = folder / "README.md"
        summary.write_text(top_costs(stacks, jobs, args.clients))
    print(summary.read_text())
    return summary


def profile(
    work: Path, folder: Path, stacks: Path, spy: str, jobs: int, clients: int, rounds: int
) -> int:
    """Sample every component while ``rounds`` loads of ``jobs`` run: flame graphs into
    ``folder``, collapsed stacks into ``stacks``. Answers the number of jobs sampled."""
    with EmbeddedNats(work / "nats") as server:
        stack = _stack(work / "stack", server.url).start(*COMPONENTS)
        try:
            no_op_jobs(stack.url, jobs // 4, clients)  # imports, connections, caches
            pids = {name: processes[0].pid for name, processes in stack.processes.items()}
            with sampling(spy, pids, folder, stacks):
                for _ in range(rounds):
                    no_op_jobs(stack.url, jobs, clients)
        finally:
            stack.close()
    return jobs * rounds


@contextmanager
def sampling(spy: str, pids: dict[str, int], folder: Path, stacks: Path) -> Iterator[None]:
    """py-spy on each process for the length of the ``with``: one sampler writing the flame
    graph, one the collapsed stacks (py-spy writes one format per run)."""
    samplers = [
        subprocess.Popen(
            [spy, "record", "--gil", "--nonblocking", "--rate", str(SAMPLES_PER_SECOND)]
            + ["--format", form, "--output", str(where / f"{name}.{suffix}"), "--pid", str(pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
        for form, suffix, where in (("flamegraph", "svg", folder), ("raw", "txt", stacks))
    ]
    time.sleep(1)  # py-spy attaches before the load starts: what it missed is not shown
    try:
        yield
    finally:
        for sampler in samplers:
            sampler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        for sampler in samplers:
            sampler.wait(60)


def top_costs(stacks: Path, jobs: int, clients: int) -> str:
    lines = [
        f"# Where scenario 1's CPU goes ({datetime.date.today().isoformat()})",
        "",
        f"{jobs} no-op jobs from {clients} polling clients, every component sampled by py-spy "
        f"at {SAMPLES_PER_SECOND} Hz while holding the GIL (`python -m bench.profile`). "
        "Self: samples in the function itself; inclusive: in it or what it called. Flame "
        "graphs: the `.svg` beside this page (open one in a browser to zoom).",
    ]
    for component in sorted(stacks.glob("*.txt")):
        self_time, inclusive, total = _tally(component)
        lines += ["", f"## {component.stem} ({total} samples)", ""]
        lines += ["| self % | function | inclusive % | function |", "| ---: | --- | ---: | --- |"]
        telling = [(f, n) for f, n in inclusive.most_common() if not _PLUMBING.search(f)]
        for (own, own_n), (whole, whole_n) in zip(
            self_time.most_common(TOP), telling[:TOP], strict=False
        ):
            lines.append(
                f"| {100 * own_n / total:.1f} | `{own}` | {100 * whole_n / total:.1f} | `{whole}` |"
            )
    return "\n".join(lines) + "\n"


def _tally(stacks: Path) -> tuple[Counter, Counter, int]:
    """Samples per function, self and inclusive, from py-spy's collapsed stacks."""
    self_time, inclusive, total = Counter(), Counter(), 0
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames:
            continue
        functions = [_LINE.sub(")", frame) for frame in frames.split(";")]
        total += int(count)
        self_time[functions[-1]] += int(count)
        for function in set(functions):
            inclusive[function] += int(count)
    return self_time, inclusive, max(total, 1)


if __name__ == "__main__":
    main()
