"""What metrics and traces cost: scenario 1 (async no-op jobs end to end) on three stacks in
the same run, rounds interleaved, against the same stack with neither.

    .venv/bin/python -m bench.observability [--smoke] [--jobs 300] [--clients 8] [--rounds 6]

writes bench/results/<date>-observability.md and prints it.

Decisions:
- "plain": no metrics port and no OTEL variables. The in-process counters are always there
  (the gateway's request metrics, the executor's job counters): what an operator turns on is
  the metrics ports with a scraper, and the trace export, so that is what is compared.
- "metrics": the executor and the projector serve their ports (their backlog sampling runs),
  and a scraper reads the gateway's, the executor's and the projector's /metrics every second
  (Prometheus's default is every 15 s: this is the heavy end).
- "traces": every component exports its spans over OTLP/HTTP to a receiver on loopback
  (tests/support/otlp.py), which decodes them as a collector would.
- CPU per job of the components (psutil, user + system), and jobs/s; ratios to "plain" from the
  medians of the same run. Each stack has its own nats-server, so they do not share a stream.
"""

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx

from jobstream_infra.embedded import EmbeddedNats, free_port
from tests.support.otlp import OtlpReceiver
from tests.support.stack import Stack

from .cluster import Sizes, System, measure_rounds

RESULTS = Path(__file__).parent / "results"
PLAIN, METRICS, TRACES = "plain", "metrics (ports + 1 s scrapes)", "traces (OTLP export)"
SCRAPE_EVERY = 1.0
FULL = Sizes(jobs=300, clients=8, rounds=6, progress_jobs=0, periods=0, relaxed=False)
SMOKE = Sizes(jobs=10, clients=2, rounds=1, progress_jobs=0, periods=0, relaxed=False)


@dataclass
class Scraper:
    """Reads /metrics from each URL every SCRAPE_EVERY seconds until stopped."""

    urls: list[str]
    stop: threading.Event

    def run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self.stop.wait(SCRAPE_EVERY):
                for url in self.urls:
                    http.get(url).raise_for_status()


def _stack(workdir: Path, server: EmbeddedNats, **env: str) -> Stack:
    stack = Stack(workdir, server.url, credentials=server.credentials, log_level="warning")
    stack.env.update(env)
    return stack


def _start(stack: Stack, ports: dict[str, int]) -> Stack:
    for name in ("projector", "executor", "gateway"):
        settings = {"metrics_port": ports[name]} if name in ports else {}
        stack.start_component(name, **settings)
    return stack


def systems(work: Path, servers: list[EmbeddedNats], receiver: OtlpReceiver, stop: threading.Event):
    # Every stack starts before any is waited for: their start-ups overlap, and nothing is
    # measured until all serve.
    plain = _start(_stack(work / "plain", servers[0]), {})
    ports = {"projector": free_port(), "executor": free_port()}
    metrics = _start(_stack(work / "metrics", servers[1]), ports)
    traces = _start(_stack(work / "traces", servers[2], **receiver.env()), {})
    try:
        for stack in (plain, metrics, traces):
            stack.wait_ready(("echo",))
    except BaseException:
        for stack in (plain, metrics, traces):  # none is returned to be closed by the caller
            stack.close()
        raise
    scraper = Scraper(
        [f"{metrics.url}/metrics", *(f"http://127.0.0.1:{p}/metrics" for p in ports.values())],
        stop,
    )
    threading.Thread(target=scraper.run, daemon=True).start()
    return [
        System(PLAIN, plain, servers[0].url, [servers[0]]),
        System(METRICS, metrics, servers[1].url, [servers[1]]),
        System(TRACES, traces, servers[2].url, [servers[2]]),
    ]


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _rate(system: System, jobs: int) -> float:
    return _median([jobs / r.seconds for r in system.rounds])


def _cpu(system: System) -> float:
    return _median([r.cpu_ms["components"] for r in system.rounds])


def report(results: list[System], sizes: Sizes, mode: str, spans: int, loads: list[float]) -> str:
    plain = results[0]
    lines = [
        f"# What metrics and traces cost — {datetime.date.today().isoformat()}",
        "",
        f"Mode: **{mode}** (`python -m bench.observability`). Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; 1-minute load average "
        f"{min(loads):.1f}–{max(loads):.1f} during the rounds. Commit `{_commit()}`.",
        "",
        f"Scenario 1: {sizes.jobs} async `echo` jobs per round from {sizes.clients} clients, "
        f"{sizes.rounds} rounds per stack, stacks in turn (who goes first rotating). CPU is the "
        "components' (gateway, executor, projector) user + system time per job; medians.",
        "",
        "| stack | jobs/s | ratio | components' CPU ms/job | Δ ms/job | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for system in results:
        rate, cpu = _rate(system, sizes.jobs), _cpu(system)
        lines.append(
            f"| {system.name} | {rate:.1f} | {rate / _rate(plain, sizes.jobs):.2f} | {cpu:.2f} "
            f"| {cpu - _cpu(plain):+.2f} | {cpu / _cpu(plain):.2f} |"
        )
    lines += ["", f"The receiver decoded {spans} spans from the traced stack.", ""]
    return "\n".join(lines)


def _commit() -> str:
    ran = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return ran.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.observability")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--clients", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    sizes.jobs, sizes.clients = args.jobs or sizes.jobs, args.clients or sizes.clients
    sizes.rounds = args.rounds or sizes.rounds
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as temporary, OtlpReceiver() as receiver:
        work = Path(temporary)
        servers = [EmbeddedNats(work / f"nats-{i}").start() for i in range(3)]
        running: list[System] = []
        try:
            running = systems(work, servers, receiver, stop)
            loads = measure_rounds(running, sizes)
            text = report(
                running, sizes, "smoke" if args.smoke else "full", len(receiver.spans), loads
            )
        finally:
            stop.set()
            for system in running:
                system.stack.close()
            for server in servers:
                server.stop()
    suffix = "-observability-smoke" if args.smoke else "-observability"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{datetime.date.today().isoformat()}{suffix}.md").write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
