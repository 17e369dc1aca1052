"""The one settings object. Every value can be set as ``JOBSTREAM_<NAME>`` in the environment."""

import ipaddress
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

AUTH_METHODS = frozenset({"none", "apikey", "oidc"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOBSTREAM_", frozen=True)

    data_dir: Path = Path("data")
    # None: `jobstream up` starts an embedded nats-server; the single components require it.
    nats_url: str | None = None
    # None: a SQLite file in the data dir.
    database_url: str | None = None

    host: str = "127.0.0.1"
    # How callers prove who they are: "none", "apikey", "oidc" or "apikey,oidc". With "none"
    # the gateway serves only on a loopback address unless `insecure` says that whoever can
    # reach the address may do anything (`--insecure`).
    auth: str = "none"
    insecure: bool = False
    # OIDC: bearer JWTs signed by this issuer (its discovery document names the JWKS), for
    # this audience; roles come from this claim (a dotted path such as "realm_access.roles").
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_roles_claim: str = "roles"
    # People sign in through the issuer (authorization code with PKCE) when this names the
    # gateway's client there; a confidential client also gives its secret.
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid"
    # A caller's queued plus running jobs; past it, 429 with Retry-After.
    max_jobs_per_caller: int = Field(default=100, ge=1)
    port: int = 8000
    # The URL clients reach the gateway at, for links; derived from host and port when unset.
    public_url: str | None = None

    executor_concurrency: int = Field(default=4, ge=1)
    # How long JetStream waits for an ack (or a heartbeat) before redelivering a job.
    ack_wait: float = Field(default=30.0, gt=0)
    # Progress events per running job are published at most this often; the last is never lost.
    progress_interval: float = Field(default=0.5, gt=0)
    # On SIGTERM an executor waits this long for running jobs to stop and be handed back.
    shutdown_grace: float = Field(default=10.0, ge=0)
    # A synchronous execute waits this long for the job to end, then answers like an async one.
    sync_timeout: float = Field(default=60.0, gt=0)
    # Request bodies over this many bytes are refused (413) while they stream in; an event
    # must fit in a NATS message anyway (1 MiB by default).
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    # Limits on the work one ingest or sync (or its estimate) plans. Over one, the request is
    # refused with 413 and the plan's figures before any job exists; an executor checks
    # again before a job runs. Periods from start to end (end clipped to the newest
    # available period):
    max_planned_periods: int = Field(default=100_000, ge=1)
    # Grid cells of one period: the bbox at the template's extent.resolution.
    max_planned_cells: int = Field(default=25_000_000, ge=1)
    # Periods x cells x 4 bytes: the float32 values written, uncompressed (100 GiB).
    max_planned_bytes: int = Field(default=100 * 2**30, ge=1)
    # Seconds an estimate may work (HEAD requests to the source, the commit history) before
    # it stops and the client gets 503; the size check before an execute gets the second.
    estimate_budget: float = Field(default=10.0, gt=0)
    plan_check_budget: float = Field(default=3.0, gt=0)
    # Server-sent event streams one gateway keeps open at once; past it, 503 with Retry-After.
    max_event_streams: int = Field(default=200, ge=1)
    # A stream with nothing to say sends a comment this often, so proxies keep it open.
    stream_keepalive: float = Field(default=15.0, gt=0)
    # Modules whose PROCESSES list the executor serves; later ones override earlier ids.
    process_modules: list[str] = ["jobstream_executor.builtin", "jobstream_datasets.processes"]
    # User dataset templates in <plugins_dir>/datasets/*.yaml (replacing built-ins of their id).
    plugins_dir: Path | None = None
    # Where dataset repositories live: a path or an s3://, gs:// or az:// URL; one repository
    # per dataset under it. None: <data_dir>/datasets.
    datasets_root: str | None = None
    # A lease on a shared resource (a dataset being written) expires this long after its
    # holder last renewed it; holders renew every third of it.
    lease_ttl: float = Field(default=30.0, ge=1.0)
    # The active projector's lease on its view expires this long after it last confirmed it;
    # a standby polls every third of it, so it takes over within about 1.3 times this.
    projector_lease_ttl: float = Field(default=10.0, ge=0.5)
    projector_batch: int = Field(default=500, ge=1)
    # Seconds the live projector waits after a short batch, so the next holds more events
    # and costs one transaction for them all.
    projector_linger: float = Field(default=0.05, ge=0.0)
    # 0 for the embedded server: pick a free port at start.
    embedded_nats_port: int = 0
    # JetStream's fsync interval for the embedded server: "always" or a Go duration like "2m".
    embedded_sync_interval: str = "always"
    # -- Clustered NATS (README, Clustered NATS) ------------------------------------------
    # nats_url may name several servers, comma-separated. Replicas of the stream, the KV
    # buckets and (following the stream) the consumers; provisioning raises an existing
    # stream's to it. At most the cluster's node count, and 1 for a single server.
    replicas: int = Field(default=1, ge=1, le=5)
    # Nodes of the embedded server `jobstream up` starts (`--nats-cluster`): 3 for a JetStream
    # cluster on loopback, which then defaults the replicas to 3.
    embedded_nats_nodes: int = Field(default=1, ge=1, le=5)
    # -- NATS users (README, Security) ----------------------------------------------------
    # This component's NATS user and password, for a server with users. Unset: the embedded
    # server's generated credentials (<data_dir>/nats/credentials.json) when connecting to
    # it, else none.
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    # The embedded server's store takes no more writes past this size (nats-server units:
    # 512M, 10G): publishes are refused and the gateway answers 503, no acknowledged event lost.
    embedded_max_store: str = Field(default="10G", pattern=r"^[0-9]+[KMGT]?$")
    # Callbacks (OGC subscriber URIs). Hosts resolving to loopback, private, link-local or
    # other non-public addresses are refused unless inside one of these networks (CIDR).
    callback_allowed_networks: list[str] = []
    # "whsec_<base64>": deliveries carry a Standard Webhooks signature; None: unsigned.
    callback_secret: str | None = None
    callback_timeout: float = Field(default=10.0, gt=0)
    # Seconds before redelivering a refused callback: try n waits backoff[n - 1] (last repeats).
    callback_backoff: list[float] = Field(default=[2.0, 10.0, 60.0, 300.0, 900.0], min_length=1)
    callback_max_attempts: int = Field(default=8, ge=1)
    # At most one in-progress callback per job this often.
    callback_progress_interval: float = Field(default=5.0, ge=0)
    notifier_concurrency: int = Field(default=16, ge=1)
    # Executors, projectors and notifiers serve Prometheus text on this port (/metrics), on
    # `host`; None: not served. The gateway serves it on its own /metrics. Under `jobstream
    # up` the projector, executor and notifier take this port and the next two.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    log_level: str = "info"
    log_format: str = "console"

    @model_validator(mode="after")
    def _heartbeats_fit_in_ack_wait(self) -> "Settings":
        # The keepalive loop ticks every progress_interval; a tick longer than AckWait would
        # let JetStream redeliver live jobs.
        if self.progress_interval >= self.ack_wait / 2:
            raise ValueError(
                f"progress_interval ({self.progress_interval}) must be under half of "
                f"ack_wait ({self.ack_wait})"
            )
        return self

    @model_validator(mode="after")
    def _auth_is_complete(self) -> "Settings":
        unknown = self.auth_methods - AUTH_METHODS
        if unknown or ("none" in self.auth_methods and len(self.auth_methods) > 1):
            raise ValueError(f"auth is {self.auth!r}: give none, apikey, oidc or apikey,oidc")
        if "oidc" in self.auth_methods and not (self.oidc_issuer and self.oidc_audience):
            raise ValueError("auth oidc needs oidc_issuer and oidc_audience")
        if self.oidc_client_id and "oidc" not in self.auth_methods:
            raise ValueError("oidc_client_id signs people in through OIDC: it needs auth oidc")
        return self

    @property
    def auth_methods(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.auth.split(",") if part.strip())

    @property
    def signs_in_through_oidc(self) -> bool:
        """Whether people sign in at the OIDC issuer (not only with a pasted token)."""
        return bool(self.oidc_client_id) and "oidc" in self.auth_methods

    @property
    def authenticates(self) -> bool:
        """Whether callers must prove who they are."""
        return self.auth_methods != {"none"}

    @cached_property
    def view_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'view.sqlite').resolve()}"

    @property
    def datasets_location(self) -> str:
        return self.datasets_root or str((self.data_dir / "datasets").resolve())

    @property
    def loopback_only(self) -> bool:
        """Whether the gateway's address is reachable from this machine only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a host name: it may resolve to anything

    @property
    def embedded_nats_dir(self) -> Path:
        """Where the embedded nats-server keeps its store, configuration and credentials."""
        return self.data_dir / "nats"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
