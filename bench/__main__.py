"""`python -m bench [--smoke] [--no-peers] [--only 1,2,3,4,5,6]`: start everything on loopback,
run the scenarios, write bench/results/<date>.md and a PNG plot.

Smoke mode (what CI runs) uses tiny sizes and no peers: it proves the harness works, nothing
about speed.
"""

import argparse
import datetime
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import TypedDict

from . import scenarios
from .report import write_markdown, write_plot

RESULTS = Path(__file__).parent / "results"


class Sizes(TypedDict):
    """Each scenario's sizes: s<n>_ for scenario n; rounds is scenario 1's."""

    s1_jobs: int
    s1_clients: int
    rounds: int
    s2_sizes: list[int]
    s2_requests: int
    s3_jobs: int
    s3_rounds: int
    s4_levels: list[int]
    s4_executors: list[int]
    s4_per_slot: int
    s5_periods: int
    s5_rounds: int
    s6_checkpoints: list[int]


FULL = Sizes(
    s1_jobs=300,
    s1_clients=8,
    rounds=3,
    s2_sizes=[1_000, 10_000, 100_000],
    s2_requests=50,
    s3_jobs=333_334,
    s3_rounds=2,
    s4_levels=[1, 4, 16, 64],
    s4_executors=[1, 2],
    s4_per_slot=5,
    s5_periods=365,
    s5_rounds=7,
    s6_checkpoints=[1_000, 10_000],
)
SMOKE = Sizes(
    s1_jobs=10,
    s1_clients=2,
    rounds=1,
    s2_sizes=[20, 50],
    s2_requests=3,
    s3_jobs=50,
    s3_rounds=1,
    # One level: each level is a stack of its own, and one runs the scenario's every line.
    s4_levels=[2],
    s4_executors=[1],
    s4_per_slot=2,
    s5_periods=10,
    s5_rounds=1,
    s6_checkpoints=[5, 10],
)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--only", default="1,2,3,4,5,6")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--postgres-url", default=os.environ.get("JOBSTREAM_BENCH_POSTGRES_URL"))
    parser.add_argument("--analysis", type=Path, help="Markdown to append as the analysis")
    args = parser.parse_args(argv)
    p = SMOKE if args.smoke else FULL
    peers_on = not (args.smoke or args.no_peers)
    only = {int(x) for x in args.only.split(",")}
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="jobstream-bench-") as tmp:
        work = Path(tmp)
        if 1 in only:
            results["async_noop"] = scenarios.async_noop(
                work, p["s1_jobs"], p["s1_clients"], p["rounds"], peers_on
            )
        if 2 in only:
            results["history_scaling"] = scenarios.history_scaling(
                work, p["s2_sizes"], p["s2_requests"], peers_on
            )
        if 3 in only:
            results["rebuild"] = scenarios.rebuild(
                work, p["s3_jobs"], p["s3_rounds"], args.postgres_url
            )
        if 4 in only:
            results["concurrency"] = scenarios.concurrency(
                work, p["s4_levels"], p["s4_executors"], 0.1, p["s4_per_slot"]
            )
        if 5 in only:
            results["ingest"] = scenarios.ingest(work, p["s5_periods"], p["s5_rounds"])
        if 6 in only:
            results["memory"] = scenarios.memory(work, p["s6_checkpoints"], 4)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.date.today().isoformat() + ("-smoke" if args.smoke else "")
    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        or "unknown"
    )
    meta = {
        "date": stamp,
        "mode": "smoke" if args.smoke else "full",
        "commit": commit,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "analysis": args.analysis.read_text() if args.analysis else "",
    }
    plot = args.out / f"{stamp}.png"
    write_plot(plot, results)
    report = args.out / f"{stamp}.md"
    write_markdown(report, results, meta, plot)
    print(report.read_text())
    return report


if __name__ == "__main__":
    main()
