"""One settings class per command: each reads only the variables its component uses, so a
value for another component can neither stop it nor go unnoticed (environment.py)."""

from pydantic import Field, model_validator

from .base import JsonLimits, JsonSeconds, JsonStrings
from .blocks import (
    STORE_SIZE_PATTERN,
    AccessSettings,
    AddressSettings,
    ArchiveSettings,
    CallbackNetworkSettings,
    DatasetSettings,
    EmbeddedNatsSettings,
    EstimateSettings,
    NatsSettings,
    ObservabilitySettings,
    PlanLimitSettings,
    PluginSettings,
    ViewSettings,
)


class GatewaySettings(
    NatsSettings,
    ObservabilitySettings,
    ViewSettings,
    AddressSettings,
    AccessSettings,
    EstimateSettings,
    CallbackNetworkSettings,
    PluginSettings,
    ArchiveSettings,
):
    """`jobstream gateway`: the HTTP API and the pages."""

    max_jobs_per_caller: int = Field(
        default=100,
        ge=1,
        description="Queued plus running jobs of one authenticated caller; past it, 429 "
        "with `Retry-After`.",
    )
    max_stored_bytes_per_caller: int = Field(
        default=1_073_741_824,
        ge=1024,
        description="Bytes of events (inputs, results, progress, callbacks) the jobs one "
        "authenticated caller submitted in the last `STORED_BYTES_WINDOW` may hold in the "
        "stream; past it, 429 with `Retry-After` and the figures.",
    )
    stored_bytes_window: float = Field(
        default=86_400.0,
        gt=0,
        description="Seconds over which a caller's stored bytes are counted.",
    )
    store_capacity: str | None = Field(
        default=None,
        pattern=STORE_SIZE_PATTERN,
        description="The event store's size (nats-server units: 512M, 10G) where the NATS "
        "account sets no JetStream storage limit; `jobstream up` sets it to "
        "`EMBEDDED_MAX_STORE`. Unset, with no account limit: no reserve is kept.",
    )
    store_reserve: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description="Share of the store kept from submissions, except an operator's or an "
        "admin's: room for running jobs' outcomes, dismissals and operators' work when the "
        "store fills. A submission that would reach into it gets 503 with `Retry-After`.",
    )
    fair_backlog: int = Field(
        default=1,
        ge=0,
        description="A caller's asynchronous job that finds this many of the caller's jobs of "
        "its process waiting goes one lane lower (normal to low), behind other callers' "
        "jobs: one caller's backlog does not hold up another's. 0: lanes as asked.",
    )
    sync_timeout: float = Field(
        default=60.0,
        gt=0,
        description="A synchronous execute waits this many seconds for the job to end, "
        "then answers 201 with the job, like an asynchronous one.",
    )
    max_request_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Request bodies over this many bytes are refused with 413 while they "
        "stream in, never buffered; an event must fit in a NATS message anyway (1 MiB by "
        "default).",
    )
    plan_check_budget: float = Field(
        default=3.0,
        gt=0,
        description="Seconds the size check before an execute may take; past it, 503 with "
        "`Retry-After`, never an unchecked job.",
    )
    max_event_streams: int = Field(
        default=200,
        ge=1,
        description="Server-sent event streams one gateway keeps open at once; past it, 503 "
        "with `Retry-After`.",
    )
    max_event_streams_per_caller: int = Field(
        default=20,
        ge=1,
        description="Event streams one authenticated caller keeps open on one gateway; past "
        "it, 429 with `Retry-After`, while other callers still open theirs.",
    )
    max_long_polls: int = Field(
        default=200,
        ge=1,
        description="Requests one gateway holds open waiting for a job (`Prefer: wait` status "
        "reads and synchronous executions); past it, 503 with `Retry-After`.",
    )
    max_long_polls_per_caller: int = Field(
        default=20,
        ge=1,
        description="Long-polls and synchronous executions one authenticated caller holds "
        "open on one gateway; past it, 429 with `Retry-After` (nothing is submitted).",
    )
    stream_keepalive: float = Field(
        default=15.0,
        gt=0,
        description="Seconds between keep-alive comments on a quiet event stream, so "
        "proxies keep it open.",
    )
    allowed_hosts: JsonStrings = Field(
        default=[],
        description="Host names (and addresses) requests may name in their `Host` header "
        "besides the bound `HOST`, `localhost`, `127.0.0.1`, `[::1]` and `PUBLIC_URL`'s "
        "host (JSON); `*.example.org` for a domain's names, `*` for any. Other requests are "
        "refused with 400, so a web page cannot rebind its name to the gateway.",
    )


class ExecutorSettings(
    NatsSettings,
    ObservabilitySettings,
    DatasetSettings,
    PlanLimitSettings,
    EstimateSettings,
    PluginSettings,
):
    """`jobstream executor`: runs the jobs of the processes it serves."""

    executor_concurrency: int = Field(
        default=4, ge=1, description="Jobs one executor runs at once."
    )
    # Short: a job whose executor died runs again within it. Heartbeats every third of it
    # keep live jobs, however long, from being redelivered.
    ack_wait: float = Field(
        default=6.0,
        gt=0,
        description="Seconds JetStream waits for an ack (or a heartbeat) before it "
        "redelivers a job: how soon a job whose executor died runs again.",
    )
    progress_interval: float = Field(
        default=0.5,
        gt=0,
        description="Progress events of one running job are published at most this often "
        "(seconds); the last is never lost. Under half of `ACK_WAIT`.",
    )
    shutdown_grace: float = Field(
        default=10.0,
        ge=0,
        description="On SIGTERM, seconds an executor waits for running jobs to stop and be "
        "handed back; past its maximum runtime, seconds a job gets to stop before it is "
        "failed.",
    )
    max_runtime: float = Field(
        default=86_400.0,
        gt=0,
        description="Seconds one attempt of a job may run unless its process declares its "
        "own `maxRuntime`: past it the job is asked to stop and fails (`MaxRuntimeExceeded`).",
    )
    concurrency: JsonLimits = Field(
        default={},
        description="Operators' concurrency limits (JSON): a key (`provider:cds`) or a "
        "process's key template (`dataset:{dataset_id}`) to the most jobs holding it at once, "
        "over what the processes declare. Give every executor the same.",
    )
    process_modules: JsonStrings = Field(
        default=["jobstream_executor.builtin", "jobstream_datasets.processes"],
        description="Modules whose `PROCESSES` list (or `processes(settings)`) an executor "
        "serves (JSON), besides the `jobstream.processes` entry points of installed packages; "
        "later ones override earlier ids, and these override the entry points'.",
    )
    lease_ttl: float = Field(
        default=6.0,
        ge=1.0,
        description="A lease on a shared resource (a dataset being written) expires this "
        "many seconds after its holder last renewed it; holders renew every third of it. "
        "A job redelivered after its executor died waits this long at most for its lease.",
    )

    @model_validator(mode="after")
    def _heartbeats_fit_in_ack_wait(self) -> "ExecutorSettings":
        # The keepalive loop ticks every progress_interval; a tick longer than AckWait would
        # let JetStream redeliver live jobs.
        if self.progress_interval >= self.ack_wait / 2:
            raise ValueError(
                f"JOBSTREAM_PROGRESS_INTERVAL ({self.progress_interval}) must be under half "
                f"of JOBSTREAM_ACK_WAIT ({self.ack_wait})"
            )
        return self


class ProjectorSettings(NatsSettings, ObservabilitySettings, ViewSettings, ArchiveSettings):
    """`jobstream projector`: folds the stream's events into the SQL view."""

    projector_lease_ttl: float = Field(
        default=10.0,
        ge=0.5,
        description="The active projector's lease on its view expires this many seconds "
        "after it last confirmed it; a standby looks every third of it, so it takes over "
        "within about 1.3 times this.",
    )
    projector_batch: int = Field(default=500, ge=1, description="Events folded per transaction.")
    projector_linger: float = Field(
        default=0.05,
        ge=0.0,
        description="Seconds the live projector waits after a short batch, so the next folds "
        "more events in one transaction (the job list may lag by about this much; "
        "`GET /jobs/{id}` never does).",
    )


class NotifierSettings(
    NatsSettings, ObservabilitySettings, AddressSettings, CallbackNetworkSettings
):
    """`jobstream notifier`: delivers callbacks (subscriber URIs of execute requests)."""

    callback_secret: str | None = Field(
        default=None,
        description="`whsec_<base64>`: deliveries carry a Standard Webhooks signature. "
        "Unset: unsigned.",
    )
    callback_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds one delivery may take in all: the lookup (5 s at most), the "
        "connection, the request and the answer's head (its body is never read). Past it the "
        "delivery is retried; the notifier's AckWait is twice this plus 5 s, so a delivery "
        "always ends before it could be redelivered.",
    )
    callback_backoff: JsonSeconds = Field(
        default=[2.0, 10.0, 60.0, 300.0, 900.0],
        min_length=1,
        description="Seconds before redelivering a refused callback (JSON): try n waits "
        "the n-th; the last repeats.",
    )
    callback_max_attempts: int = Field(
        default=8, ge=1, description="Deliveries of one callback before it is given up."
    )
    callback_progress_interval: float = Field(
        default=5.0, ge=0, description="At most one in-progress callback per job this often."
    )
    notifier_concurrency: int = Field(
        default=16, ge=1, description="Callbacks one notifier delivers at once."
    )


class UpSettings(
    EmbeddedNatsSettings,
    NatsSettings,
    ObservabilitySettings,
    ViewSettings,
    AddressSettings,
    AccessSettings,
    ArchiveSettings,
):
    """`jobstream up`: the embedded nats-server and one process per component, each of which
    reads its own settings from the same environment."""


class AdminSettings(NatsSettings, ObservabilitySettings, ArchiveSettings):
    """`jobstream events export` and `jobstream apikey`: a NATS connection and logging (and
    the archive, which an export reads where the stream was trimmed)."""


class ArchiverSettings(NatsSettings, ObservabilitySettings, ArchiveSettings):
    """`jobstream archive`: finished jobs' events to the archive, then out of the stream."""


# The settings each command builds; `jobstream config check COMMAND` checks these.
COMMAND_SETTINGS: dict[str, type[NatsSettings]] = {
    "up": UpSettings,
    "gateway": GatewaySettings,
    "executor": ExecutorSettings,
    "projector": ProjectorSettings,
    "notifier": NotifierSettings,
    "events": AdminSettings,
    "apikey": AdminSettings,
    "archive": ArchiverSettings,
}
