"""Beyond one machine: end-to-end async jobs on one nats-server against a three-node
JetStream cluster with R3 streams and buckets, in the same run; and what the stream and each
node's disk hold per job and per ingested period, for sizing a deployment.

    .venv/bin/python -m bench.cluster [--smoke] [--jobs 300] [--clients 8] [--rounds 6]
                                      [--out DIR] [--analysis FILE]

writes bench/results/<date>-cluster.md (smoke: <date>-cluster-smoke.md) and prints it.

Decisions:
- Every system runs at once, each with its own gateway, executor and projector (SQLite view),
  each component as its own NATS user; rounds go to the systems in turn, who goes first
  rotating, so load elsewhere on the machine hits all alike. Ratios are of medians of this
  run, and the median of each round's own ratio is shown beside them.
- The clusters are provisioned R3 as the admin (as `jobstream up --nats-cluster 3` does) and
  their components run with JOBSTREAM_REPLICAS=3. The single node and that cluster keep the
  embedded default, `sync_interval: always`; a third system (full mode only), the same
  cluster with NATS's default 2-minute fsync, shows what relaxing it buys.
- Load is bench/load.py's `http_jobs`: N clients submit `echo` with a one-character message
  (no pause) with `Prefer: respond-async` and poll until successful.
- Sizing reads the stream's own counts (stream_info messages and bytes) before and after,
  so each figure is what those jobs added; disk is the allocated size of each node's
  JOBSTREAM directory (its blocks, as du counts them), so KV buckets and consumers are not in
  it. Progress and ingest sizing run on the single node only, after the timed rounds.
"""

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import statistics
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nats
import psutil

from jobstream_contracts.subjects import STREAM
from jobstream_datasets.periods import period_id
from jobstream_datasets.templates import load_template
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.embedded_cluster import EmbeddedCluster
from jobstream_infra.provisioning import provision
from tests.support.cluster import admin_settings
from tests.support.stack import Stack

from .auth import _machine
from .load import Load, http_jobs
from .scenarios import INGEST_BATCH, INGEST_CONCURRENCY, INGEST_TEMPLATE, _ingest_job
from .stats import Summary, percentile, ratio

RESULTS = Path(__file__).parent / "results"
PROCESS_MODULES = json.dumps(["jobstream_executor.builtin", "jobstream_datasets.processes"])
ECHO = {"inputs": {"message": "x"}}
# Ten steps of 0.1 s: about a second of work, reporting progress at every step.
COUNT_STEPS, COUNT_INTERVAL = 10, 0.1
COUNT = {"inputs": {"n": COUNT_STEPS, "interval": COUNT_INTERVAL}}
INGEST_DATASET = "bench-cluster-ingest"
SINGLE, CLUSTER, RELAXED = "one node, R1", "three nodes, R3", "three nodes, R3, fsync 2m"


@dataclass
class Sizes:
    jobs: int  # echo jobs per system per round
    clients: int
    rounds: int
    progress_jobs: int  # count jobs, for the size of a job that reports progress
    periods: int  # daily periods of the one ingest
    relaxed: bool  # also the cluster with a 2-minute fsync


# Six rounds: each of the three systems goes first twice.
FULL = Sizes(jobs=300, clients=8, rounds=6, progress_jobs=20, periods=60, relaxed=True)
# Two systems, not three: the smoke test must stay well under pytest's 120 s on a loaded machine.
SMOKE = Sizes(jobs=10, clients=2, rounds=1, progress_jobs=2, periods=12, relaxed=False)


@dataclass
class Round:
    seconds: float
    submit_latencies: list[float]
    cpu_ms: dict[str, float]  # CPU ms per job: components, nats-server(s), bench clients


@dataclass(frozen=True)
class Usage:
    """What the stream holds, and the allocated bytes of each node's copy of it."""

    messages: int
    bytes: int
    disk: tuple[int, ...]

    def minus(self, before: "Usage") -> "Usage":
        disk = tuple(a - b for a, b in zip(self.disk, before.disk, strict=True))
        return Usage(self.messages - before.messages, self.bytes - before.bytes, disk)


@dataclass
class System:
    name: str
    stack: Stack
    admin_url: str
    servers: list[EmbeddedNats]
    rounds: list[Round] = field(default_factory=list)
    echo: Usage | None = None  # what the timed rounds added

    def server_processes(self) -> list[psutil.Process]:
        return [psutil.Process(s.process.pid) for s in self.servers if s.process is not None]

    def component_processes(self) -> list[psutil.Process]:
        return [psutil.Process(p.pid) for ps in self.stack.processes.values() for p in ps]

    def usage(self) -> Usage:
        messages, size = asyncio.run(_stream_state(self.admin_url))
        return Usage(messages, size, tuple(_stream_disk(s.store_dir) for s in self.servers))


# -- the stream and the disk -------------------------------------------------------------
async def _stream_state(url: str) -> tuple[int, int]:
    nc = await nats.connect(url)
    try:
        state = (await nc.jetstream().stream_info(STREAM)).state
        return state.messages, state.bytes
    finally:
        await nc.close()


def _stream_disk(store_dir: Path) -> int:
    """Allocated bytes (st_blocks, as du counts) of the node's JOBSTREAM directory."""
    total = 0
    for directory in store_dir.glob(f"jetstream/*/streams/{STREAM}"):
        for path in directory.rglob("*"):
            if path.is_file():
                total += path.stat().st_blocks * 512
    return total


# -- the systems ---------------------------------------------------------------------------
def _stack(
    workdir: Path, server: EmbeddedNats | EmbeddedCluster, plugins: Path, replicas: int = 1
) -> Stack:
    """Components that connect as their own users (to every node of a cluster); the bench's
    own reads of the stream go through ``server.url``, the admin's on the first node."""
    return Stack(
        workdir,
        server.url,
        credentials=server.credentials,
        process_modules=PROCESS_MODULES,
        plugins_dir=plugins,
        replicas=replicas,
        log_level="warning",
    )


def _start(system: System) -> System:
    system.stack.start("projector", "executor", "gateway", wait=False)
    return system


def _single(work: Path, server: EmbeddedNats, plugins: Path) -> System:
    stack = _stack(work / "single-stack", server, plugins)
    return _start(System(SINGLE, stack, server.url, [server]))


def _clustered(name: str, work: Path, cluster: EmbeddedCluster, plugins: Path) -> System:
    asyncio.run(provision(admin_settings(cluster)))
    stack = _stack(work, cluster, plugins, replicas=3)
    return _start(System(name, stack, cluster.url, cluster.nodes))


def _write_ingest_template(plugins: Path) -> Path:
    """The bench's synthetic dataset (no network, no latency), as bench/scenarios.py's."""
    (plugins / "datasets").mkdir(parents=True, exist_ok=True)
    path = plugins / "datasets" / f"{INGEST_DATASET}.yaml"
    text = INGEST_TEMPLATE.format(
        id=INGEST_DATASET, concurrency=INGEST_CONCURRENCY, batch=INGEST_BATCH
    )
    path.write_text(text)
    return path


# -- load ----------------------------------------------------------------------------------
def _jobs(system: System, jobs: int, clients: int, body: dict, process: str = "echo") -> Load:
    return http_jobs(
        system.stack.url,
        jobs,
        clients,
        f"/processes/{process}/execution",
        body,
        lambda status: status.get("status") == "successful",
        lambda response: response.headers["Location"],
    )


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in processes)


def _round(system: System, sizes: Sizes) -> Round:
    components, servers = system.component_processes(), system.server_processes()
    before = _cpu_seconds(components), _cpu_seconds(servers)
    load = _jobs(system, sizes.jobs, sizes.clients, ECHO)
    per_job = 1000 / sizes.jobs
    cpu_ms = {
        "components": (_cpu_seconds(components) - before[0]) * per_job,
        "nats-server": (_cpu_seconds(servers) - before[1]) * per_job,
        "clients": load.client_cpu_seconds * per_job,
    }
    return Round(load.seconds, load.submit_latencies, cpu_ms)


def measure_rounds(systems: list[System], sizes: Sizes) -> list[float]:
    """Every system's rounds, in turn; the machine's 1-minute load average after each."""
    for system in systems:  # warm-up, not counted: connections, caches, first consumers
        _jobs(system, max(sizes.clients * 2, 10), sizes.clients, ECHO)
    before = {s.name: s.usage() for s in systems}
    loads = []
    for index in range(sizes.rounds):
        shift = index % len(systems)  # who goes first changes from round to round
        for system in systems[shift:] + systems[:shift]:
            system.rounds.append(_round(system, sizes))
        loads.append(os.getloadavg()[0])
    for system in systems:
        system.echo = system.usage().minus(before[system.name])
    return loads


# -- sizing on the single node -------------------------------------------------------------
@dataclass
class Ingest:
    usage: Usage
    periods: int
    event_types: Counter


def measure_progress_jobs(system: System, sizes: Sizes) -> Usage:
    before = system.usage()
    _jobs(system, sizes.progress_jobs, min(sizes.clients, sizes.progress_jobs), COUNT, "count")
    return system.usage().minus(before)


def measure_ingest(system: System, template_file: Path, periods: int) -> Ingest:
    template = load_template(template_file)
    start = period_id(template.origin, template.period_type)
    end = period_id(template.origin + (periods - 1), template.period_type)
    before = system.usage()
    _ingest_job(system.stack, INGEST_DATASET, start, end)
    used = system.usage().minus(before)
    listed = system.stack.http.get("/jobs", params={"processID": "ingest", "limit": 10}).json()
    (job_id,) = [job["jobID"] for job in listed["jobs"]]
    types = Counter(type(event).__name__ for event in system.stack.events(job_id))
    return Ingest(used, periods, types)


def _close(systems: list[System]) -> None:
    for system in systems:
        system.stack.close()


# -- the run -------------------------------------------------------------------------------
@dataclass
class Results:
    systems: list[System]
    progress: Usage
    ingest: Ingest
    load_at_start: float
    loads: list[float]  # after each round


def run(work: Path, sizes: Sizes) -> Results:
    load_at_start = os.getloadavg()[0]
    plugins = work / "plugins"
    template_file = _write_ingest_template(plugins)
    with contextlib.ExitStack() as running:
        server = running.enter_context(EmbeddedNats(work / "single"))
        clusters = {CLUSTER: running.enter_context(EmbeddedCluster(work / "cluster"))}
        if sizes.relaxed:
            relaxed = EmbeddedCluster(work / "relaxed", sync_interval="2m")
            clusters[RELAXED] = running.enter_context(relaxed)
        systems: list[System] = []
        running.callback(_close, systems)  # the components before their servers
        systems.append(_single(work, server, plugins))
        for index, (name, cluster) in enumerate(clusters.items()):
            systems.append(_clustered(name, work / f"cluster-stack-{index}", cluster, plugins))
        # Waited for once all have started: their start-ups overlap, and none is measured.
        for system in systems:
            system.stack.wait_ready(("echo", "count", "ingest"))
        loads = measure_rounds(systems, sizes)
        progress = measure_progress_jobs(systems[0], sizes)
        ingest = measure_ingest(systems[0], template_file, sizes.periods)
    return Results(systems, progress, ingest, load_at_start, loads)


# -- the report ----------------------------------------------------------------------------
def _rates(system: System, sizes: Sizes) -> list[float]:
    return [sizes.jobs / r.seconds for r in system.rounds]


def _latencies_ms(system: System) -> list[float]:
    return [lat * 1000 for r in system.rounds for lat in r.submit_latencies]


def _cpu_ms(system: System, part: str) -> float:
    return statistics.median(r.cpu_ms[part] for r in system.rounds)


def _paired_ratio(system: System, single: System) -> Summary:
    """Each round's jobs/s over the single node's in the same round."""
    pairs = zip(system.rounds, single.rounds, strict=True)
    return Summary.of([one.seconds / mine.seconds for mine, one in pairs])


def _throughput_table(systems: list[System], sizes: Sizes) -> list[str]:
    single = statistics.median(_rates(systems[0], sizes))
    lines = [
        "| NATS | jobs/s (min / median / max) | ratio to one node | per-round ratio "
        "(min / median / max) | submit p50 ms | submit p99 ms | CPU ms/job: components "
        "/ nats-server(s) / clients |",
        "| --- | --- | ---: | --- | ---: | ---: | --- |",
    ]
    for system in systems:
        rates, latencies = _rates(system, sizes), _latencies_ms(system)
        paired = "—" if system is systems[0] else _paired_ratio(system, systems[0]).fmt(2)
        cpu = " / ".join(
            f"{_cpu_ms(system, p):.2f}" for p in ("components", "nats-server", "clients")
        )
        lines.append(
            f"| {system.name} | {Summary.of(rates).fmt(1)} "
            f"| {ratio(statistics.median(rates), single):.2f} | {paired} "
            f"| {percentile(latencies, 50):.1f} | {percentile(latencies, 99):.1f} | {cpu} |"
        )
    return lines


def _size_row(what: str, usage: Usage, units: int, unit: str) -> str:
    per_node = " / ".join(f"{d / units:,.0f}" for d in usage.disk)
    return (
        f"| {what} | {usage.messages / units:.2f} | {usage.bytes / units:,.0f} "
        f"| {usage.bytes / max(usage.messages, 1):,.0f} "
        f"| {usage.bytes / units * 1000 / 1e6:.2f} | {per_node} | {unit} |"
    )


def _sizing_table(results: Results, sizes: Sizes) -> list[str]:
    echo_jobs = sizes.jobs * sizes.rounds
    lines = [
        "| what | events per unit | stream bytes per unit | bytes per event | MB per 1,000 "
        "units | disk bytes per unit, each node | unit |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for system in results.systems:
        assert system.echo is not None  # measured by measure_rounds
        lines.append(_size_row(f"echo job, {system.name}", system.echo, echo_jobs, "job"))
    lines.append(
        _size_row(
            f"count job ({COUNT_STEPS} steps of {COUNT_INTERVAL} s), {SINGLE}",
            results.progress,
            sizes.progress_jobs,
            "job",
        )
    )
    ingest = results.ingest
    lines.append(_size_row(f"ingest, {SINGLE}", ingest.usage, ingest.periods, "daily period"))
    return lines


def _ingest_line(ingest: Ingest) -> str:
    kinds = ", ".join(f"{kind} {count}" for kind, count in ingest.event_types.most_common())
    return (
        f"The ingest job ({ingest.periods} daily periods of the synthetic plugin, 120 × 160 "
        f"float32 cells a period, committed {INGEST_BATCH} at a time) recorded: {kinds}."
    )


def _total_cpu_ms(system: System) -> float:
    return sum(_cpu_ms(system, part) for part in ("components", "nats-server", "clients"))


def _cpu_line(system: System, rate: float) -> str:
    """The CPU a job costs, and the share of the machine's cores that is at the rate seen."""
    total, cores = _total_cpu_ms(system), os.cpu_count() or 1
    busy = total * rate / 1000 / cores
    return (
        f"{system.name}: nats-server(s) {_cpu_ms(system, 'nats-server'):.2f} ms of CPU per "
        f"job, {total:.1f} ms in all; at {rate:.1f} jobs/s that is {busy:.0%} of the {cores} "
        f"cores (at most {cores * 1000 / total:.0f} jobs/s with every core busy)"
    )


def _analysis(results: Results, sizes: Sizes) -> list[str]:
    single, cluster, *relaxed = results.systems
    rate = {s.name: statistics.median(_rates(s, sizes)) for s in results.systems}
    p99 = {s.name: percentile(_latencies_ms(s), 99) for s in results.systems}
    assert single.echo is not None  # measured by measure_rounds
    jobs = sizes.jobs * sizes.rounds
    lines = [
        "## Analysis",
        "",
        f"- **R3 runs at {ratio(rate[cluster.name], rate[single.name]):.2f}× one node's "
        f"jobs/s** ({rate[cluster.name]:.1f} against {rate[single.name]:.1f}; submit p99 "
        f"{p99[cluster.name]:.1f} ms against {p99[single.name]:.1f} ms). An R3 publish is "
        "acknowledged once a quorum (the leader and one follower) has stored it: a "
        "replication round trip per event (three a job: submitted, started, succeeded), "
        "and the executor consumer's ack is replicated too (a durable consumer on an R3 "
        "stream is R3); with `sync_interval: always` each node fsyncs before it counts.",
        "- **CPU.** "
        + "; ".join(_cpu_line(s, rate[s.name]) for s in results.systems)
        + ". Here the three nodes share these cores and this disk with every component and "
        "the clients; on three machines each node has its own, and the round trip crosses "
        "the network instead of loopback.",
    ]
    for other in relaxed:
        lines.append(
            f"- **Relaxing fsync on the cluster** (`sync_interval: 2m`): {rate[other.name]:.1f} "
            f"jobs/s, {ratio(rate[other.name], rate[cluster.name]):.2f}× the R3 cluster that "
            "syncs every write."
        )
    lines.append(
        f"- **Sizing.** A no-op job adds {single.echo.messages / jobs:.1f} events and "
        f"{single.echo.bytes / jobs:,.0f} bytes to the stream; the stream's counts are the "
        "same on R1 and R3, and each of the three nodes keeps a full copy on its own disk "
        "(the per-node columns)."
    )
    return lines


def _relaxed_clause(results: Results) -> str:
    if len(results.systems) > 2:
        return "; and, as a third row, the same cluster with NATS's default 2-minute fsync"
    return " (the third row of a full run, the cluster with a 2-minute fsync, is off in smoke mode)"


def report(results: Results, sizes: Sizes, mode: str) -> str:
    lines = [
        f"# Beyond one machine: one nats-server against a three-node R3 cluster — "
        f"{datetime.date.today().isoformat()}",
        "",
        f"Mode: **{mode}** (`python -m bench.cluster`). {_machine()} 1-minute load average "
        f"{results.load_at_start:.1f} at the start, "
        f"{Summary.of(results.loads).fmt(1)} (min / median / max) after the rounds.",
        "",
        "Three systems run at once on loopback, each with one gateway, one executor and one "
        "projector (SQLite view), each component as its own NATS user: one embedded "
        "nats-server (R1); a three-node embedded JetStream cluster, stream and buckets "
        "provisioned R3 and components run with `JOBSTREAM_REPLICAS=3`"
        + _relaxed_clause(results)
        + ". The single node and the R3 cluster keep the embedded default, "
        "`sync_interval: always` (an fsync on every write, on every node).",
        "",
        f"## 1. Async no-op jobs end to end ({sizes.jobs} jobs, {sizes.clients} clients, "
        f"{sizes.rounds} rounds)",
        "",
        "Each client submits `echo` (a one-character message, no pause) with "
        "`Prefer: respond-async` and polls until successful. Rounds go to the systems in "
        "turn, who goes first rotating. Ratios are of the medians; the per-round ratio is "
        "each round's jobs/s over the single node's in the same round. p50 and p99 are over "
        "every submission of every round; CPU is each group's user + system time (psutil), "
        "median over the rounds.",
        "",
        *_throughput_table(results.systems, sizes),
        "",
        "## 2. Sizing: what the stream and each node's disk hold",
        "",
        "From the stream's own counts (stream_info) before and after: the timed echo rounds "
        f"({sizes.jobs * sizes.rounds} jobs a system), {sizes.progress_jobs} `count` jobs "
        "(progress published at most every `JOBSTREAM_PROGRESS_INTERVAL`, 0.5 s, plus once "
        "before the final event, so a longer job has more) and one ingest. Disk is the "
        "allocated size of each node's JOBSTREAM directory (file blocks; buckets and "
        "consumers not included); NATS writes in blocks, so short runs round it up.",
        "",
        *_sizing_table(results, sizes),
        "",
        _ingest_line(results.ingest),
        "",
        *_analysis(results, sizes),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: proves it runs")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--clients", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--analysis", type=Path, help="Markdown to append after the analysis")
    args = parser.parse_args(argv)
    base = SMOKE if args.smoke else FULL
    sizes = Sizes(
        args.jobs or base.jobs,
        args.clients or base.clients,
        args.rounds or base.rounds,
        base.progress_jobs,
        base.periods,
        base.relaxed,
    )
    with tempfile.TemporaryDirectory(prefix="jobstream-bench-cluster-") as tmp:
        results = run(Path(tmp), sizes)
    text = report(results, sizes, "smoke" if args.smoke else "full")
    if args.analysis:
        text += "\n" + args.analysis.read_text()
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.date.today().isoformat()}-cluster{'-smoke' if args.smoke else ''}.md"
    (args.out / name).write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
