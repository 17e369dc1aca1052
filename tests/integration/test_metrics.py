"""Prometheus metrics: each component's /metrics parses with the client's own parser, and its
counters move by what the jobs did, by process."""

import socket
import subprocess
from collections.abc import Callable

import httpx
import xarray as xr
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from jobstream_contracts.subjects import NOTIFIER_CONSUMER, executor_consumer
from jobstream_executor.testing import JobEnvironment
from jobstream_infra.embedded import free_port
from jobstream_infra.metrics import EXECUTOR, SAMPLE_INTERVAL

from ..support.receiver import Receiver
from ..support.stack import wait_gateway
from ..support.up import kill, start_up, wait_for_processes
from ..support.waiting import eventually

Samples = dict[tuple[str, frozenset], float]


def scrape(url: str, headers: dict[str, str] | None = None) -> Samples:
    """Every sample of a /metrics answer, keyed by name and labels."""
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parsed(response.text)


def parsed(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def has(samples: Samples, name: str, **labels: str) -> bool:
    return (name, frozenset(labels.items())) in samples


def scraped_until(read: Callable[[], Samples], holds: Callable[[Samples], bool]) -> Samples:
    """Scrape until ``holds``: sampled values appear within a few sample intervals."""
    last: list[Samples] = [{}]

    def look() -> Samples | None:
        last[0] = read()
        return last[0] if holds(last[0]) else None

    return eventually(look, 4 * SAMPLE_INTERVAL, lambda: f"the samples to hold: {last[0]}", 0.2)


def test_each_components_metrics_parse_and_move_as_jobs_run(make_stack):
    ports = {name: free_port() for name in ("executor", "projector", "notifier")}
    stack = make_stack(callback_allowed_networks='["127.0.0.1/32"]', progress_interval=0.1)
    for name, port in ports.items():
        stack.start_component(name, metrics_port=port)
    stack.start("gateway")
    stack.wait_ready(("echo", "count", "fail"))
    url = {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items()}
    before = scrape(f"{stack.url}/metrics")
    assert value(before, "jobstream_jobs_submitted_total", process="echo") == 0
    receiver = Receiver().start()
    try:
        ids = [stack.submit("echo", {"message": str(i)}) for i in range(3)]
        ids.append(
            stack.submit(
                "echo", {"message": "call"}, subscriber=dict(successUri=receiver.url("/done"))
            )
        )
        ids += [stack.submit("count", {"n": 3, "interval": 0.05}) for _ in range(2)]
        ids.append(stack.submit("fail", {"message": "no"}))
        dismissed = stack.submit("count", {"n": 600, "interval": 0.1})
        stack.wait_job(dismissed, statuses=("running",))
        assert stack.http.delete(f"/jobs/{dismissed}").status_code == 200
        for job_id in [*ids, dismissed]:
            stack.wait_job(job_id)
        receiver.wait_for("/done")
        _gateway_counted(scrape(f"{stack.url}/metrics"), [*ids, dismissed])
        _executor_counted(lambda: scrape(url["executor"]))
        _projector_counted(lambda: scrape(url["projector"]))
        _notifier_counted(lambda: scrape(url["notifier"]))
    finally:
        receiver.stop()


def _gateway_counted(samples: Samples, ids: list[str]) -> None:
    submitted = {
        process: value(samples, "jobstream_jobs_submitted_total", process=process)
        for process in ("echo", "count", "fail")
    }
    assert submitted == {"echo": 4, "count": 3, "fail": 1}
    assert value(samples, "jobstream_jobs_dismissed_total", process="count") == 1
    execute = dict(method="POST", route="/processes/{process_id}/execution", status="201")
    assert value(samples, "jobstream_http_requests_total", **execute) == 8
    latency = dict(method="POST", route="/processes/{process_id}/execution")
    assert value(samples, "jobstream_http_request_duration_seconds_count", **latency) == 8
    assert (
        value(
            samples,
            "jobstream_http_requests_total",
            method="GET",
            route="/jobs/{job_id}",
            status="200",
        )
        > 0
    )
    # Route templates only: no job id ever becomes a label value.
    routes = {dict(labels).get("route", "") for _, labels in samples}
    assert not any(job_id in route for route in routes for job_id in ids), routes


def _executor_counted(read: Callable[[], Samples]) -> None:
    pending = dict(consumer=executor_consumer("echo"))
    # The dismissed job stops at its next progress report.
    samples = scraped_until(
        read,
        lambda s: (
            has(s, "jobstream_consumer_pending_messages", **pending)
            and value(s, "jobstream_jobs_running", process="count") == 0
        ),
    )
    assert value(samples, "jobstream_consumer_redelivered_messages", **pending) == 0
    counts = {
        metric: value(samples, f"jobstream_jobs_{metric}_total", process="echo")
        for metric in ("started", "succeeded", "failed", "retried")
    }
    assert counts == {"started": 4, "succeeded": 4, "failed": 0, "retried": 0}
    fail = {
        metric: value(samples, f"jobstream_jobs_{metric}_total", process="fail")
        for metric in ("started", "succeeded", "failed", "retried")
    }
    # Three attempts (QUICK_RETRIES): two retried, the last one failed for good.
    assert fail == {"started": 3, "succeeded": 0, "failed": 1, "retried": 2}
    # The dismissed attempt started and ran, and neither succeeded nor failed.
    assert value(samples, "jobstream_jobs_started_total", process="count") == 3
    assert value(samples, "jobstream_jobs_succeeded_total", process="count") == 2
    assert value(samples, "jobstream_job_duration_seconds_count", process="count") == 3
    assert value(samples, "jobstream_job_duration_seconds_sum", process="count") >= 2 * 0.15


def _projector_counted(read: Callable[[], Samples]) -> None:
    # Sampled: a first value with the first sample, 0 once the view has caught up.
    samples = scraped_until(read, lambda s: value(s, "jobstream_projector_lag_events") == 0)
    # At least a submission, a start and an end for each of the nine jobs.
    assert value(samples, "jobstream_projector_events_applied_total") >= 9 * 3
    assert value(samples, "jobstream_projector_parked_events") == 0
    assert value(samples, "jobstream_projector_held_events") == 0


def _notifier_counted(read: Callable[[], Samples]) -> None:
    samples = scraped_until(
        read, lambda s: value(s, "jobstream_callbacks_delivered_total", kind="success") == 1
    )
    assert value(samples, "jobstream_callbacks_abandoned_total", kind="success") == 0
    pending = dict(consumer=NOTIFIER_CONSUMER)
    assert has(samples, "jobstream_consumer_pending_messages", **pending)


def test_gateway_metrics_need_a_caller_who_sees_everything(make_stack):
    stack = make_stack(auth="apikey").start("gateway", wait=False)
    wait_gateway(stack.url, stack.processes["gateway"][0])
    assert httpx.get(f"{stack.url}/metrics").status_code == 401
    submitter = stack.new_key("someone", "submitter")
    auditor = stack.new_key("prometheus", "auditor")
    bearer = {"Authorization": f"Bearer {submitter}"}
    assert httpx.get(f"{stack.url}/metrics", headers=bearer).status_code == 403
    samples = scrape(f"{stack.url}/metrics", {"Authorization": f"Bearer {auditor}"})
    refused = dict(method="GET", route="/metrics", status="401")
    assert value(samples, "jobstream_http_requests_total", **refused) == 1
    # The API document is built at its first request: seconds on a loaded machine.
    document = httpx.get(f"{stack.url}/api", timeout=60).json()
    assert "/metrics" not in document["paths"]


def test_an_ingest_counts_the_periods_and_bytes_it_commits(tmp_path):
    # In this process: the commits run where the ingest runs (an executor's thread).
    from jobstream_datasets.ingest import ingest_periods
    from jobstream_datasets.limits import plan_ingest
    from jobstream_datasets.plugin import plugin_for
    from jobstream_datasets.store import DatasetStore
    from jobstream_datasets.templates import DatasetTemplate

    template = DatasetTemplate.model_validate(
        {
            "id": "metered",
            "name": "Metered",
            "variable": "t2m",
            "units": "K",
            "period_type": "daily",
            "extent": {"bbox": [4.0, 57.0, 6.0, 58.0], "start": "2020-01-01"},
            "source": {"plugin": "synthetic", "params": {"resolution": 0.5, "seed": 7}},
        }
    )
    store = DatasetStore(template, str(tmp_path / "metered"))
    before = parsed(generate_latest(EXECUTOR).decode())
    ingest_periods(
        store,
        plugin_for(template),
        plan_ingest(template, "2020-01-01", "2020-01-10"),
        job=JobEnvironment(),
    )
    after = parsed(generate_latest(EXECUTOR).decode())
    session = store.repo.readonly_session(branch="main")
    cells = xr.open_zarr(session.store, consolidated=False).t2m.isel(time=0).size
    moved = {
        name: value(after, name, dataset="metered") - value(before, name, dataset="metered")
        for name in ("jobstream_ingest_periods_total", "jobstream_ingest_bytes_total")
    }
    assert moved == {
        "jobstream_ingest_periods_total": 10,
        "jobstream_ingest_bytes_total": 10 * cells * 4,
    }


def _three_free_ports() -> int:
    """A port whose next two are free as well (the components of `jobstream up` take them)."""
    for _ in range(50):
        base = free_port()
        try:
            for offset in (1, 2):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
    raise RuntimeError("no three consecutive free ports")


def test_up_gives_each_component_its_own_metrics_port(tmp_path):
    port, metrics_port = free_port(), _three_free_ports()
    up = start_up(tmp_path, port, subprocess.DEVNULL, JOBSTREAM_METRICS_PORT=str(metrics_port))
    try:
        wait_for_processes(f"http://127.0.0.1:{port}")
        for offset, component in enumerate(("projector", "executor", "notifier")):
            samples = scrape(f"http://127.0.0.1:{metrics_port + offset}/metrics")
            assert any(name.startswith("jobstream_") for name, _ in samples), component
        assert scrape(f"http://127.0.0.1:{port}/metrics")
        assert up.poll() is None
    finally:
        kill(up)
