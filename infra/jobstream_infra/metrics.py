"""Prometheus metrics: every name is defined here, once; the components record with one line.

Decisions:
- One registry per component (GATEWAY, EXECUTOR, PROJECTOR, NOTIFIER), each with the
  client's process, platform and GC collectors: a component exposes its own metrics only, not
  a zero projector lag on an executor.
- The gateway serves its registry on ``/metrics``; the others on ``JOBSTREAM_METRICS_PORT``
  (off by default), from the client's own HTTP server thread: a scrape never waits on the
  event loop, and the loop never renders text.
- Values that live on the server (consumer backlogs, the projector's lag) are sampled every
  ``SAMPLE_INTERVAL`` seconds while a metrics port is set, not on each scrape: a scrape
  thread cannot await NATS, and a sample costs one request per consumer.
- No ``_created`` series: they double the series count and no query here needs them.
- Labels are bounded: process ids, consumer names, dataset ids, route templates, status codes.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from time import perf_counter

import structlog
from nats.js import JetStreamContext
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.registry import Collector

from jobstream_contracts.subjects import STREAM

from .connection import stopped_within

log = structlog.get_logger(__name__)

disable_created_metrics()

# Seconds between samples of server-side values (consumer backlogs, projector lag).
SAMPLE_INTERVAL = 5.0
# From a status poll to a two-hour backfill.
JOB_DURATION_BUCKETS = (0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600)

# -- gateway -----------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "jobstream_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
    registry=None,
)
HTTP_LATENCY = Histogram(
    "jobstream_http_request_duration_seconds",
    "Seconds from a request's arrival to its response's start (an event stream's headers).",
    ["method", "route"],
    registry=None,
)
JOBS_SUBMITTED = Counter(
    "jobstream_jobs_submitted_total",
    "Jobs submitted through this gateway, by process.",
    ["process"],
    registry=None,
)
JOBS_DISMISSED = Counter(
    "jobstream_jobs_dismissed_total",
    "Jobs dismissed through this gateway, by process.",
    ["process"],
    registry=None,
)
SCHEDULE_FIRINGS = Counter(
    "jobstream_schedule_firings_total",
    "Schedule firings this gateway handled, by cause (clock, catch-up, manual, backfill, "
    "dataset-updated) and outcome (job, skipped).",
    ["cause", "outcome"],
    registry=None,
)
SCHEDULE_LATENESS = Histogram(
    "jobstream_schedule_firing_lateness_seconds",
    "Seconds from a clock firing's instant to this gateway handling it.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
    registry=None,
)

# -- executor ----------------------------------------------------------------------------
JOBS_STARTED = Counter(
    "jobstream_jobs_started_total",
    "Attempts started (JobStarted written), by process.",
    ["process"],
    registry=None,
)
JOBS_SUCCEEDED = Counter(
    "jobstream_jobs_succeeded_total", "Jobs succeeded, by process.", ["process"], registry=None
)
JOBS_FAILED = Counter(
    "jobstream_jobs_failed_total",
    "Jobs failed for good (JobFailed written), by process.",
    ["process"],
    registry=None,
)
JOBS_RETRIED = Counter(
    "jobstream_jobs_retried_total",
    "Failed attempts scheduled for a retry, by process.",
    ["process"],
    registry=None,
)
JOB_DURATION = Histogram(
    "jobstream_job_duration_seconds",
    "Seconds an attempt's process ran, whatever its outcome, by process.",
    ["process"],
    buckets=JOB_DURATION_BUCKETS,
    registry=None,
)
JOBS_RUNNING = Gauge(
    "jobstream_jobs_running", "Attempts running now, by process.", ["process"], registry=None
)
LEASE_WAIT_SECONDS = Counter(
    "jobstream_lease_wait_seconds_total",
    "Seconds jobs waited for a lease another job held (a dataset being written), by process.",
    ["process"],
    registry=None,
)
INGEST_PERIODS = Counter(
    "jobstream_ingest_periods_total",
    "Dataset periods committed, by dataset.",
    ["dataset"],
    registry=None,
)
INGEST_BYTES = Counter(
    "jobstream_ingest_bytes_total",
    "Bytes of values committed (uncompressed float32), by dataset.",
    ["dataset"],
    registry=None,
)

# -- durable consumers (executor, notifier) ----------------------------------------------
CONSUMER_PENDING = Gauge(
    "jobstream_consumer_pending_messages",
    "Messages not yet delivered to the durable consumer.",
    ["consumer"],
    registry=None,
)
CONSUMER_ACK_PENDING = Gauge(
    "jobstream_consumer_ack_pending_messages",
    "Messages delivered and not yet acknowledged (running, or waiting for a retry).",
    ["consumer"],
    registry=None,
)
CONSUMER_REDELIVERED = Gauge(
    "jobstream_consumer_redelivered_messages",
    "Unacknowledged messages delivered more than once.",
    ["consumer"],
    registry=None,
)

# -- projector ---------------------------------------------------------------------------
PROJECTOR_LAG = Gauge(
    "jobstream_projector_lag_events",
    "Events in the stream past the view's checkpoint.",
    registry=None,
)
PROJECTOR_PARKED = Gauge(
    "jobstream_projector_parked_events",
    "Events parked in the view because they could not be read or applied.",
    registry=None,
)
PROJECTOR_HELD = Gauge(
    "jobstream_projector_held_events",
    "Events held back from the view until an upgrade: written by a newer jobstream, or "
    "later events of the same job.",
    registry=None,
)
PROJECTOR_APPLIED = Counter(
    "jobstream_projector_events_applied_total",
    "Events folded into the view by this projector.",
    registry=None,
)

# -- every component that reads the stream -------------------------------------------------
EVENTS_OFF_SUBJECT = Counter(
    "jobstream_events_off_subject_total",
    "Events skipped, never applied, because their type, job or process disagrees with the "
    "subject they were stored on (written by someone allowed that subject, not that event).",
    registry=None,
)

# -- gateway: the queue, as the view holds it at each scrape -------------------------------
QUEUE_WAITING = Gauge(
    "jobstream_queue_waiting_jobs",
    "Jobs accepted and not started, by process (GET /queue).",
    ["process"],
    registry=None,
)
QUEUE_RUNNING = Gauge(
    "jobstream_queue_running_jobs",
    "Jobs running, by process, as the view holds them (GET /queue).",
    ["process"],
    registry=None,
)
QUEUE_OLDEST_WAITING = Gauge(
    "jobstream_queue_oldest_waiting_seconds",
    "How long the job waiting longest has waited, by process; absent when none waits.",
    ["process"],
    registry=None,
)
KEY_WAITING = Gauge(
    "jobstream_queue_key_waiting_jobs",
    "Jobs whose turn came, waiting for a slot of a concurrency key, by key (GET /queue).",
    ["key"],
    registry=None,
)
KEY_RUNNING = Gauge(
    "jobstream_queue_key_running_jobs",
    "Jobs holding a slot of a concurrency key, by key (GET /queue).",
    ["key"],
    registry=None,
)
KEY_LIMIT = Gauge(
    "jobstream_queue_key_limit",
    "The most jobs that may hold a concurrency key at once, for keys in use or waited for.",
    ["key"],
    registry=None,
)
QUEUE = (QUEUE_WAITING, QUEUE_RUNNING, QUEUE_OLDEST_WAITING, KEY_WAITING, KEY_RUNNING, KEY_LIMIT)

REGISTRY_LAG = Gauge(
    "jobstream_registry_lag",
    "Updates a gateway's watch of a bucket (API keys, processes, dataset templates) has not "
    "applied yet, by bucket, as of the last check: above 0 for long, revocations wait.",
    ["bucket"],
    registry=None,
)
REGISTRY_WATCH_RESTARTS = Counter(
    "jobstream_registry_watch_restarts_total",
    "Watches of a bucket started again because they ended, failed or stalled, by bucket.",
    ["bucket"],
    registry=None,
)

# -- notifier ----------------------------------------------------------------------------
CALLBACKS_DELIVERED = Counter(
    "jobstream_callbacks_delivered_total",
    "Callbacks answered 2xx, by kind (success, failed, in-progress, ...).",
    ["kind"],
    registry=None,
)
CALLBACKS_RETRIED = Counter(
    "jobstream_callbacks_retried_total",
    "Refused callback deliveries left for a later retry, by kind.",
    ["kind"],
    registry=None,
)
CALLBACKS_ABANDONED = Counter(
    "jobstream_callbacks_abandoned_total",
    "Callbacks given up on, by kind.",
    ["kind"],
    registry=None,
)


def _registry(*collectors: Collector) -> CollectorRegistry:
    registry = CollectorRegistry()
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR, *collectors):
        registry.register(collector)
    return registry


CONSUMERS = (CONSUMER_PENDING, CONSUMER_ACK_PENDING, CONSUMER_REDELIVERED)
GATEWAY = _registry(
    HTTP_REQUESTS,
    HTTP_LATENCY,
    JOBS_SUBMITTED,
    JOBS_DISMISSED,
    EVENTS_OFF_SUBJECT,
    REGISTRY_LAG,
    REGISTRY_WATCH_RESTARTS,
    SCHEDULE_FIRINGS,
    SCHEDULE_LATENESS,
    *QUEUE,
)
EXECUTOR = _registry(
    JOBS_STARTED,
    JOBS_SUCCEEDED,
    JOBS_FAILED,
    JOBS_RETRIED,
    JOB_DURATION,
    JOBS_RUNNING,
    LEASE_WAIT_SECONDS,
    INGEST_PERIODS,
    INGEST_BYTES,
    EVENTS_OFF_SUBJECT,
    *CONSUMERS,
)
PROJECTOR = _registry(
    PROJECTOR_LAG, PROJECTOR_PARKED, PROJECTOR_HELD, PROJECTOR_APPLIED, EVENTS_OFF_SUBJECT
)
NOTIFIER = _registry(
    CALLBACKS_DELIVERED, CALLBACKS_RETRIED, CALLBACKS_ABANDONED, EVENTS_OFF_SUBJECT, *CONSUMERS
)


def serve_metrics(registry: CollectorRegistry, host: str, port: int | None) -> None:
    """Serve ``registry`` as Prometheus text on ``host:port`` from a daemon thread; nothing
    when the port is None. A port in use fails here, loudly, before the component starts."""
    if port is None:
        return
    try:
        start_http_server(port, host, registry)
    except OSError as exc:
        raise SystemExit(
            f"cannot serve metrics on {host}:{port} (JOBSTREAM_METRICS_PORT): {exc}"
        ) from None
    log.info("metrics served", url=f"http://{host}:{port}/metrics")


@contextmanager
def job_running(process: str) -> Iterator[None]:
    """Around a process's run: counted as started and running, its duration observed."""
    JOBS_STARTED.labels(process).inc()
    running = JOBS_RUNNING.labels(process)
    running.inc()
    began = perf_counter()
    try:
        yield
    finally:
        running.dec()
        JOB_DURATION.labels(process).observe(perf_counter() - began)


def ingest_committed(dataset: str, periods: int, nbytes: int) -> None:
    INGEST_PERIODS.labels(dataset).inc(periods)
    INGEST_BYTES.labels(dataset).inc(nbytes)


async def sample_consumers(js: JetStreamContext, durables: list[str]) -> None:
    for durable in durables:
        info = await js.consumer_info(STREAM, durable)
        CONSUMER_PENDING.labels(durable).set(info.num_pending or 0)
        CONSUMER_ACK_PENDING.labels(durable).set(info.num_ack_pending or 0)
        CONSUMER_REDELIVERED.labels(durable).set(info.num_redelivered or 0)


async def sample_every(sample: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Call ``sample`` now and every SAMPLE_INTERVAL seconds until ``stop``; a failed sample (NATS
    reconnecting) leaves the last values and is tried again at the next tick."""
    while True:
        try:
            await sample()
        except Exception as exc:  # noqa: BLE001 - metrics must never stop a component
            log.debug("metrics sample failed", error=repr(exc))
        if await stopped_within(stop, SAMPLE_INTERVAL):
            return


def start_sampling(
    metrics_port: int | None, sample: Callable[[], Awaitable[None]], stop: asyncio.Event
) -> asyncio.Task | None:
    """``sample_every`` as a task while metrics are served (a metrics port is set)."""
    if metrics_port is None:
        return None
    return asyncio.create_task(sample_every(sample, stop))
