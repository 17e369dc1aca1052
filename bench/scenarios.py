"""The benchmark scenarios. Each returns plain data for the report; every figure comes with
the baseline measured in the same run."""

import asyncio
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import nats
import psutil
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from jobstream.supervisor import COMPONENTS
from jobstream_contracts.events import JobSubmitted
from jobstream_contracts.subjects import ALL_EVENTS, STREAM
from jobstream_datasets.periods import period_id
from jobstream_datasets.plugin import plugin_for
from jobstream_datasets.templates import load_template
from jobstream_infra.embedded import EmbeddedNats, free_port
from jobstream_infra.journal import publish_event
from jobstream_infra.settings import ProjectorSettings
from jobstream_projector.service import rebuild_view
from tests.support.stack import Stack

from . import peers
from .ingest_bare import vm_hwm_mib
from .load import Load, fill_stream, http_jobs
from .stats import Summary, percentile, ratio
from .systems import CELERY, CELERY_FRONT, JOBSTREAM, PYGEOAPI, RAW_FLOOR

ROOT = Path(__file__).resolve().parents[1]
PEERS_DIR = Path(peers.__file__).parent
BENCH_PROCESSES = '["jobstream_executor.builtin", "bench.processes"]'


def _stack(workdir: Path, nats_url: str, **settings) -> Stack:
    stack = Stack(workdir, nats_url, **settings)
    stack.env["JOBSTREAM_PROCESS_MODULES"] = BENCH_PROCESSES
    stack.env["JOBSTREAM_LOG_LEVEL"] = "warning"
    return stack


def _latency_row(name: str, runs: Sequence[tuple], jobs: int) -> dict:
    """`runs`: (seconds, submit latencies, …) of each round."""
    rates = [jobs / run[0] for run in runs]
    submit = [lat for run in runs for lat in run[1]]
    return {
        "system": name,
        "jobs_per_s": Summary.of(rates),
        "submit_p50_ms": percentile(submit, 50) * 1000,
        "submit_p99_ms": percentile(submit, 99) * 1000,
    }


# -- 1. async no-op jobs end to end ------------------------------------------------------------
def async_noop(work: Path, jobs: int, clients: int, rounds: int, with_peers: bool) -> dict:
    rows, notes = [], []
    with EmbeddedNats(work / "nats-s1") as server:
        # Every component jobstream up runs, the notifier included.
        stack = _stack(work / "s1", server.url).start(*COMPONENTS)
        try:
            parts = {name: psutil.Process(ps[0].pid) for name, ps in stack.processes.items()}
            assert server.process is not None  # started by the with
            parts["nats-server"] = psutil.Process(server.process.pid)
            before = _cpu_seconds(parts)
            runs = [no_op_jobs(stack.url, jobs, clients) for _ in range(rounds)]
            cpu_ms = _cpu_ms_per_job(parts, before, runs, jobs * rounds)
        finally:
            stack.close()
        rows.append({**_latency_row(JOBSTREAM, runs, jobs), "cpu_ms": cpu_ms})
        floor = [asyncio.run(_raw_floor(server.url, jobs, clients)) for _ in range(rounds)]
        rows.append(_latency_row(RAW_FLOOR, floor, jobs))
    if with_peers:
        for name, measure in (
            (PYGEOAPI, _pygeoapi_noop),
            (CELERY, _celery_noop),
            (CELERY_FRONT, _celery_front_noop),
        ):
            try:
                runs, cpu = measure(work, jobs, clients, rounds)
                rows.append({**_latency_row(name, runs, jobs), "cpu_ms": cpu})
            except peers.NotMeasured as exc:
                notes.append(f"{name}: not measured — {exc}")
    else:
        notes.append(
            "pygeoapi, Celery, Celery behind FastAPI: not measured — peers off "
            "(smoke mode or --no-peers)"
        )
    return {
        "rows": rows,
        "notes": notes,
        "jobs": jobs,
        "clients": clients,
        "rounds": rounds,
        "cores": os.cpu_count(),
    }


def no_op_jobs(url: str, jobs: int, clients: int, path: str = "/processes/echo/execution") -> Load:
    """`jobs` echo jobs from `clients` threads, each polling its job to success; ``path``:
    where a peer's job API takes them."""
    return http_jobs(
        url,
        jobs,
        clients,
        path,
        {"inputs": {"message": "x"}},
        lambda status: status.get("status") == "successful",
        lambda response: response.headers["Location"],
    )


def _cpu_seconds(processes: Mapping[str, psutil.Process | None]) -> dict[str, float]:
    """User + system CPU seconds each process and its live children have used so far."""

    def used(process: psutil.Process) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in [process, *process.children(recursive=True)])

    return {name: used(p) for name, p in processes.items() if p is not None}


def _cpu_ms_per_job(
    processes: dict, before: dict[str, float], runs: list, jobs: int
) -> dict[str, float]:
    """CPU ms per job of each process since `before`, and of the HTTP clients of `runs`."""
    spent = _cpu_seconds(processes)
    cpu = {name: (spent[name] - before[name]) * 1000 / jobs for name in spent}
    cpu["bench clients"] = sum(run.client_cpu_seconds for run in runs) * 1000 / jobs
    return cpu


async def _raw_floor(nats_url: str, jobs: int, clients: int) -> tuple[float, list[float]]:
    """publish submit -> a pull consumer takes it -> publish completed -> observed."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    stream = f"FLOOR{time.monotonic_ns()}"
    await js.add_stream(name=stream, subjects=[f"{stream}.>"])
    sub = await js.pull_subscribe(f"{stream}.submit", durable="worker", stream=stream)
    done = asyncio.Event()
    observed = 0

    async def on_completed(_msg) -> None:
        nonlocal observed
        observed += 1
        if observed == jobs:
            done.set()

    await nc.subscribe(f"{stream}.completed", cb=on_completed)

    async def worker() -> None:
        while not done.is_set():
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except TimeoutError:
                continue
            for msg in msgs:
                await js.publish(f"{stream}.completed", msg.data)
                await msg.ack()

    latencies: list[float] = []

    async def client(count: int) -> None:
        for _ in range(count):
            began = time.perf_counter()
            await js.publish(f"{stream}.submit", b"x")
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    work = asyncio.create_task(worker())
    await asyncio.gather(*(client(jobs // clients + (i < jobs % clients)) for i in range(clients)))
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - began
    work.cancel()
    await js.delete_stream(stream)
    await nc.close()
    return elapsed, latencies


class _Pygeoapi:
    def __init__(self, work: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(dir=work))
        self.port = free_port()
        self.db = self.dir / "jobs.db"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "_Pygeoapi":
        python = peers.ensure_peer_venv()
        template = (PEERS_DIR / "pygeoapi-config.yml").read_text()
        config = self.dir / "config.yml"
        config.write_text(
            template.replace("${PYGEOAPI_PORT}", str(self.port)).replace(
                "${PYGEOAPI_DB}", str(self.db)
            )
        )
        openapi = self.dir / "openapi.yml"
        subprocess.run(
            [
                str(python.parent / "pygeoapi"),
                "openapi",
                "generate",
                str(config),
                "--output-file",
                str(openapi),
            ],
            check=True,
            capture_output=True,
        )
        env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        self.process = subprocess.Popen(
            [
                str(python),
                "-m",
                "uvicorn",
                "pygeoapi.starlette_app:APP",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_serving(self.process, f"{self.url}/processes?f=json", "pygeoapi")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(20)


def _pygeoapi_noop(work: Path, jobs: int, clients: int, rounds: int):
    server = _Pygeoapi(work).start()
    try:
        assert server.process is not None  # start() returns it running
        parts = {"pygeoapi": psutil.Process(server.process.pid)}
        before = _cpu_seconds(parts)
        runs = [
            http_jobs(
                server.url,
                jobs,
                clients,
                "/processes/hello-world/execution",
                {"inputs": {"name": "x"}},
                lambda s: s.get("status") == "successful",
                lambda r: r.headers["Location"] + "?f=json",
            )
            for _ in range(rounds)
        ]
        return runs, _cpu_ms_per_job(parts, before, runs, jobs * rounds)
    finally:
        server.stop()


def _wait_serving(
    process: subprocess.Popen, url: str, what: str, log: Path | None = None, timeout: float = 60
) -> None:
    """Poll `url` until it answers 200; NotMeasured, with the tail of `log`, when `process`
    exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    tail = f": {log.read_text().strip()[-400:]}" if log else ""
    raise peers.NotMeasured(f"{what} did not start{tail}")


@contextmanager
def _celery_worker() -> Iterator[psutil.Process]:
    """A Celery worker of 4 prefork children on the peers' Redis; yields its main process."""
    if not peers.redis_reachable():
        raise peers.NotMeasured("no Redis server on 127.0.0.1:6379")
    python = peers.ensure_peer_venv()
    worker = subprocess.Popen(
        [
            str(python.parent / "celery"),
            "--workdir",
            str(PEERS_DIR),
            "-A",
            "celery_app",
            "worker",
            "--concurrency",
            "4",
            "--loglevel",
            "warning",
        ],
        env={**os.environ, "BENCH_REDIS_URL": peers.REDIS_URL},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2)  # the prefork pool's children are up before its CPU is counted
        yield psutil.Process(worker.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)


def _celery_noop(work: Path, jobs: int, clients: int, rounds: int):
    with _celery_worker() as worker:
        parts = {"celery worker": worker, "redis-server": peers.redis_process()}
        before = _cpu_seconds(parts)
        runs = []
        for _ in range(rounds):
            out = json.loads(peers.run_peer_script("celery_load.py", str(jobs), str(clients)))
            # The client's CPU over the timed load only, not its interpreter's start-up.
            runs.append(Load(out["seconds"], out["submit_latencies"], out["cpu_seconds"]))
        return runs, _cpu_ms_per_job(parts, before, runs, jobs * rounds)


@contextmanager
def _celery_front(work: Path) -> Iterator[tuple[str, psutil.Process]]:
    """bench/peers/celery_front.py on one uvicorn process; yields its URL and its process."""
    port, log = free_port(), work / "celery-front.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [
                str(peers.ensure_peer_venv()),
                "-m",
                "uvicorn",
                "celery_front:app",
                "--app-dir",
                str(PEERS_DIR),
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env={**os.environ, "BENCH_REDIS_URL": peers.REDIS_URL},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_serving(server, f"{url}/openapi.json", "uvicorn with celery_front", log)
        yield url, psutil.Process(server.pid)
    finally:
        server.terminate()
        server.wait(20)


def _celery_front_noop(work: Path, jobs: int, clients: int, rounds: int):
    """The same HTTP clients as jobstream's, against Celery behind FastAPI."""
    with _celery_worker() as worker, _celery_front(work) as (url, server):
        parts = {
            "uvicorn": server,
            "celery worker": worker,
            "redis-server": peers.redis_process(),
        }
        before = _cpu_seconds(parts)
        runs = [no_op_jobs(url, jobs, clients, "/jobs") for _ in range(rounds)]
        return runs, _cpu_ms_per_job(parts, before, runs, jobs * rounds)


# -- 2. latency with history -----------------------------------------------------------------
def history_scaling(work: Path, sizes: list[int], requests: int, with_peers: bool) -> dict:
    rows, notes = [], []
    for size in sizes:
        with EmbeddedNats(work / f"nats-s2-{size}", sync_interval="2m") as server:
            asyncio.run(fill_stream(server.url, size))
            stack = _stack(work / f"s2-{size}", server.url)
            settings = ProjectorSettings(nats_url=server.url, database_url=stack.database_url)
            asyncio.run(rebuild_view(settings))
            stack.start("gateway", wait=False)
            stack.wait_ready(processes=())
            try:
                rows.append(
                    {
                        "system": "jobstream",
                        "jobs": size,
                        **_get_latencies(
                            stack.http, "/jobs?limit=10", f"/jobs/bench-{size // 2:07d}", requests
                        ),
                    }
                )
            finally:
                stack.close()
    if with_peers:
        for size in [s for s in sizes if s <= 10_000]:
            try:
                rows.append(
                    {
                        "system": "pygeoapi + TinyDB",
                        "jobs": size,
                        **_pygeoapi_history(work, size, requests),
                    }
                )
            except peers.NotMeasured as exc:
                notes.append(f"pygeoapi: not measured — {exc}")
        if any(s > 10_000 for s in sizes):
            notes.append(
                "pygeoapi beyond 10k jobs: not measured — TinyDB reads and parses its "
                "whole JSON file on every request, so the 10k figure already shows the "
                "trend; 100k would take minutes per round"
            )
    return {"rows": rows, "notes": notes, "requests": requests}


def _get_latencies(http: httpx.Client, list_path: str, job_path: str, requests: int) -> dict:
    out = {}
    for key, path in (("list_ms", list_path), ("job_ms", job_path)):
        http.get(path).raise_for_status()  # warm
        samples = []
        for _ in range(requests):
            began = time.perf_counter()
            http.get(path).raise_for_status()
            samples.append((time.perf_counter() - began) * 1000)
        out[key] = Summary.of(samples)
    return out


def _pygeoapi_history(work: Path, size: int, requests: int) -> dict:
    server = _Pygeoapi(work)
    docs = {
        str(i + 1): {
            "type": "process",
            "identifier": f"bench-{i:07d}",
            "process_id": "hello-world",
            "created": "2026-01-01T00:00:00.000000Z",
            "started": "2026-01-01T00:00:00.000000Z",
            "updated": "2026-01-01T00:00:01.000000Z",
            "finished": "2026-01-01T00:00:01.000000Z",
            "status": "successful",
            "location": None,
            "mimetype": "application/json",
            "message": "Job complete",
            "progress": 100,
        }
        for i in range(size)
    }
    server.db.write_text(json.dumps({"_default": docs}))
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            return _get_latencies(
                http, "/jobs?f=json&limit=10", f"/jobs/bench-{size // 2:07d}?f=json", requests
            )
    finally:
        server.stop()


# -- 3. projector rebuild --------------------------------------------------------------------
def rebuild(work: Path, jobs: int, rounds: int, postgres_url: str | None) -> dict:
    rows, notes = [], []
    with EmbeddedNats(work / "nats-s3", sync_interval="2m") as server:
        events = asyncio.run(fill_stream(server.url, jobs))
        raw = [events / asyncio.run(_read_all(server.url, events)) for _ in range(rounds)]
        rows.append({"reader": "ordered read, no work (baseline)", "events_per_s": Summary.of(raw)})
        targets = [("projector → SQLite", lambda r: f"sqlite:///{work / f's3-{r}.sqlite'}")]
        if postgres_url:
            targets.append(("projector → PostgreSQL", lambda r: postgres_url))
        else:
            notes.append("PostgreSQL: not measured — no database URL (--postgres-url)")
        for name, url_of in targets:
            rates = []
            for r in range(rounds):
                settings = ProjectorSettings(
                    nats_url=server.url, database_url=url_of(r), projector_batch=1000
                )
                began = time.perf_counter()
                asyncio.run(rebuild_view(settings))
                rates.append(events / (time.perf_counter() - began))
            rows.append({"reader": name, "events_per_s": Summary.of(rates)})
    return {"rows": rows, "notes": notes, "events": events}


async def _read_all(nats_url: str, events: int) -> float:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        ALL_EVENTS,
        stream=STREAM,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, mem_storage=True
        ),
    )
    began, seen = time.perf_counter(), 0
    while seen < events:
        seen += len(await sub.fetch(1000, timeout=5))
    elapsed = time.perf_counter() - began
    await sub.unsubscribe()
    await nc.close()
    return elapsed


# -- 4. executor concurrency -----------------------------------------------------------------
def concurrency(
    work: Path, levels: list[int], executors: list[int], seconds: float, jobs_per_slot: int
) -> dict:
    rows = []
    for count in executors:
        for level in levels:
            with EmbeddedNats(work / f"nats-s4-{count}-{level}") as server:
                stack = _stack(work / f"s4-{count}-{level}", server.url, executor_concurrency=level)
                stack.start("projector", "gateway", wait=False)
                for _ in range(count):
                    stack.start_component("executor")
                stack.wait_ready(processes=("sleep",))
                jobs = max(level * count * jobs_per_slot, 4)
                try:
                    elapsed = asyncio.run(_sleep_jobs(server.url, jobs, seconds))
                finally:
                    stack.close()
            ideal = level * count / seconds
            rows.append(
                {
                    "executors": count,
                    "concurrency": level,
                    "jobs": jobs,
                    "jobs_per_s": jobs / elapsed,
                    "ideal": ideal,
                    "of_ideal": jobs / elapsed / ideal,
                }
            )
    return {"rows": rows, "seconds": seconds}


async def _sleep_jobs(nats_url: str, jobs: int, seconds: float) -> float:
    """Submit straight to the stream (no HTTP in the way); time first submit to last success."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    finished = asyncio.Event()
    done: set[str] = set()

    async def on_success(msg) -> None:
        done.add(msg.subject)
        if len(done) == jobs:
            finished.set()

    await nc.subscribe("jobstream.jobs.sleep.*.succeeded", cb=on_success)
    began = time.perf_counter()
    await asyncio.gather(
        *(
            publish_event(
                js,
                JobSubmitted(job_id=f"sleep-{i}", process_id="sleep", inputs={"seconds": seconds}),
            )
            for i in range(jobs)
        )
    )
    await asyncio.wait_for(finished.wait(), 600)
    elapsed = time.perf_counter() - began
    await nc.close()
    return elapsed


# -- 5. ingest -------------------------------------------------------------------------------
INGEST_PROCESSES = '["jobstream_executor.builtin", "jobstream_datasets.processes"]'
# The bench dataset: the synthetic plugin (deterministic, no network, latency 0) at 0.05° over
# synthetic-daily's bbox: 120 x 160 cells of float32, 76,800 bytes a period.
INGEST_TEMPLATE = """\
id: {id}
name: Bench ingest ({id})
variable: t2m
units: K
period_type: daily
extent:
  bbox: [4.0, 57.0, 12.0, 63.0]
  start: "2020-01-01"
source:
  plugin: synthetic
  params: {{resolution: 0.05, seed: 42, latency: 0.0}}
  max_concurrency: {concurrency}
  commit_batch_size: {batch}
"""
INGEST_CONCURRENCY = 4
INGEST_BATCH = 10


class PeakRss:
    """Samples a process's RSS every `interval` seconds on a thread; `peak` is the largest."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.NoSuchProcess:
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def ingest(work: Path, periods: int, rounds: int) -> dict:
    """One `ingest` job of `periods` daily periods per round, against the bare loop."""
    plugins = work / "s5-plugins"
    (plugins / "datasets").mkdir(parents=True, exist_ok=True)
    ids = ["bench-ingest-warmup", *(f"bench-ingest-{r}" for r in range(rounds))]
    for dataset_id in ids:  # one dataset per round, so every round writes a fresh repository
        (plugins / "datasets" / f"{dataset_id}.yaml").write_text(
            INGEST_TEMPLATE.format(
                id=dataset_id, concurrency=INGEST_CONCURRENCY, batch=INGEST_BATCH
            )
        )
    template_file = plugins / "datasets" / f"{ids[1]}.yaml"
    template = load_template(template_file)
    assert template.source is not None  # INGEST_TEMPLATE has a source
    ny, nx = plugin_for(template).probe(template.extent.bbox, **template.source.params).shape
    period_bytes = ny * nx * 4
    kind = template.period_type
    start = period_id(template.origin, kind)
    end = period_id(template.origin + (periods - 1), kind)
    warm_end = period_id(template.origin + (min(periods, INGEST_BATCH + 2) - 1), kind)

    mine, executor_peaks, bare, bare_peaks, bare_hwm = [], [], [], [], []
    with EmbeddedNats(work / "nats-s5") as server:
        stack = _stack(work / "s5", server.url, plugins_dir=plugins)
        stack.env["JOBSTREAM_PROCESS_MODULES"] = INGEST_PROCESSES
        stack.start(wait=False)
        try:
            stack.wait_ready(processes=("ingest",))
            # Warm-up, not timed: the executor imports xarray, zarr and icechunk at its first
            # data job, as the bare loop's process does before its timer starts.
            _ingest_job(stack, ids[0], start, warm_end)
            executor = psutil.Process(stack.processes["executor"][0].pid)
            executor_idle = executor.memory_info().rss
            services = [psutil.Process(p.pid) for ps in stack.processes.values() for p in ps]
            assert server.process is not None  # started by the with
            services.append(psutil.Process(server.process.pid))
            idle_cpu = 0.0
            # The arms alternate round by round, so a drift of the machine's speed hits both.
            for r, dataset_id in enumerate(ids[1:]):
                with PeakRss(executor.pid) as rss:
                    mine.append(_ingest_job(stack, dataset_id, start, end))
                executor_peaks.append(rss.peak)
                cpu = sum(sum(p.cpu_times()[:2]) for p in services)
                seconds, peak, hwm = _bare_ingest(
                    work, template_file, r, start, end, warm_end, periods
                )
                idle_cpu += sum(sum(p.cpu_times()[:2]) for p in services) - cpu
                bare.append(seconds)
                bare_peaks.append(peak)
                bare_hwm.append(hwm)
            executor_hwm = vm_hwm_mib(executor.pid)
        finally:
            stack.close()

    def row(system: str, seconds: list[float], peak: float, note: str) -> dict:
        return {
            "system": system,
            "periods_per_s": Summary.of([periods / s for s in seconds]),
            "mb_per_s": Summary.of([periods * period_bytes / 1e6 / s for s in seconds]),
            "peak_rss_mib": peak / 2**20,
            "rss_note": note,
        }

    rows = [
        row(
            "jobstream (HTTP submit → executor → Icechunk)",
            mine,
            max(executor_peaks),
            f"executor; {executor_idle / 2**20:.0f} MiB idle after the warm-up, VmHWM "
            f"{executor_hwm:.0f} MiB since its start",
        ),
        row(
            "bare loop (xarray to_zarr + commit, own process)",
            bare,
            max(bare_peaks),
            f"whole process; VmHWM {max(bare_hwm):.0f} MiB",
        ),
    ]
    return {
        "rows": rows,
        "periods": periods,
        "rounds": rounds,
        "grid": (ny, nx),
        "period_bytes": period_bytes,
        "batch": INGEST_BATCH,
        "concurrency": INGEST_CONCURRENCY,
        "idle_cpu_s": idle_cpu / rounds,
        # Round by round (the arms run back to back): how much the machine's noise moves it.
        "paired_ratio": Summary.of([b / m for m, b in zip(mine, bare, strict=True)]),
        "ratio": ratio(rows[0]["periods_per_s"].median, rows[1]["periods_per_s"].median),
    }


def _ingest_job(
    stack: Stack, dataset_id: str, start: str, end: str, poll: float = 0.25, timeout: float = 900
) -> float:
    """Submit one ingest over HTTP (respond-async) and poll GET /jobs/{id} until successful.

    Returns the seconds from just before the POST to the job's `finished` time in that status
    document (when its JobSucceeded was recorded; same machine, same clock). So the figure
    does not depend on the poll interval, and the poll can be slow enough not to load the
    two cores the stack runs on (every 20 ms costs the gateway and this client about a fifth
    of a core)."""
    submitted = datetime.datetime.now(datetime.UTC)
    began = time.perf_counter()
    response = stack.http.post(
        "/processes/ingest/execution",
        json={"inputs": {"dataset_id": dataset_id, "start": start, "end": end}},
        headers={"Prefer": "respond-async"},
    )
    if response.status_code != 201:
        raise RuntimeError(f"ingest not accepted: {response.status_code} {response.text[:300]}")
    job_id = response.json()["jobID"]
    while True:
        time.sleep(poll)
        status = stack.http.get(f"/jobs/{job_id}").json()
        if status.get("status") == "successful":
            break
        if status.get("status") in ("failed", "dismissed") or time.perf_counter() - began > timeout:
            raise RuntimeError(f"ingest job {job_id}: {status}\n{stack.log('executor')[-3000:]}")
    fetched = stack.http.get(f"/jobs/{job_id}/results").json()["periods"]
    if fetched["fetched"] != fetched["requested"]:
        raise RuntimeError(f"ingest job {job_id} skipped periods: {fetched}")
    finished = datetime.datetime.fromisoformat(status["finished"].replace("Z", "+00:00"))
    return (finished - submitted).total_seconds()


def _bare_ingest(
    work: Path, template: Path, round_: int, start: str, end: str, warm_end: str, periods: int
) -> tuple[float, int, float]:
    """The bare loop in a process of its own: (loop seconds, sampled peak RSS, VmHWM MiB)."""
    command = [
        sys.executable,
        "-m",
        "bench.ingest_bare",
        str(template),
        str(work / f"s5-bare-{round_}"),
        start,
        end,
        "--warmup",
        str(work / f"s5-bare-warmup-{round_}"),
        "--warmup-end",
        warm_end,
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with PeakRss(process.pid) as rss:
        out, err = process.communicate(timeout=900)
    if process.returncode != 0:
        raise RuntimeError(f"bare ingest failed ({process.returncode}): {err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    if result["periods"] != periods:
        raise RuntimeError(f"bare ingest wrote {result['periods']} periods, not {periods}")
    return result["seconds"], rss.peak, result["vm_hwm_mib"]


# -- 6. memory -------------------------------------------------------------------------------
def memory(work: Path, checkpoints: list[int], clients: int) -> dict:
    rows = []
    with EmbeddedNats(work / "nats-s6") as server:
        stack = _stack(work / "s6", server.url).start()
        try:
            submitted = 0
            for target in checkpoints:
                http_jobs(
                    stack.url,
                    target - submitted,
                    clients,
                    "/processes/echo/execution",
                    {"inputs": {"message": "x"}},
                    lambda s: s.get("status") == "successful",
                    lambda r: r.headers["Location"],
                )
                submitted = target
                rss = {
                    name: psutil.Process(stack.processes[name][0].pid).memory_info().rss
                    for name in ("gateway", "executor", "projector")
                }
                rows.append({"jobs": target, **{k: v / 2**20 for k, v in rss.items()}})
        finally:
            stack.close()
    return {"rows": rows}
