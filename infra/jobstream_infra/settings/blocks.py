"""Blocks of settings that more than one component reads; each component's class
(components.py) inherits the blocks it needs, so their attributes keep their names."""

import os
import ssl
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from ..nats_tls import UnusableTls, tls_context
from .base import CaseInsensitive, CommaSeparated, JobstreamSettings, JsonStrings

AuthMethod = Literal["none", "apikey", "oidc"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]
LogFormat = Literal["console", "json"]


class NatsSettings(JobstreamSettings):
    """Where the nats-server is, as whom to connect, and how many replicas to keep."""

    nats_url: str | None = Field(
        default=None,
        description="The nats-server's URL, or several, comma-separated "
        "(`nats://n1:4222,nats://n2:4222,nats://n3:4222`): the components connect to "
        "whichever answers and move to another when it is lost. Unset: `jobstream up` "
        "starts an embedded nats-server; the single components require it.",
    )
    nats_user: str | None = Field(
        default=None,
        description="This component's NATS user, for a server with users (README, "
        "Security). Unset: the embedded server's generated credentials "
        "(`<data_dir>/nats/credentials.json`) when connecting to it, else none.",
    )
    nats_password: SecretStr | None = Field(
        default=None, description="The password of `NATS_USER`."
    )
    nats_credentials_dir: Path | None = Field(
        default=None,
        description="A folder of NATS credentials files, one per NATS user, named by it: "
        "`<user>.creds` (a user JWT and its seed, for a server in operator mode) or "
        "`<user>.nk` (an NKEY seed). Each component reads its own user's file (`gateway`, "
        "`executor`, `projector`, `notifier`, `archiver` for `archive`; `admin` for `apikey` "
        "and provisioning; `events export` the projector's). Not with `NATS_USER`.",
    )
    nats_tls_ca_file: Path | None = Field(
        default=None,
        description="PEM certificates of the authorities that sign the nats-server's "
        "certificate: the server is verified against these, not the system's. A server "
        "that requires TLS (a `tls` block; `tls://` URLs) is always verified.",
    )
    nats_tls_cert_file: Path | None = Field(
        default=None,
        description="The PEM certificate (chain) this component shows the nats-server, for "
        "a server that verifies clients (`verify: true`). With `NATS_TLS_KEY_FILE`.",
    )
    nats_tls_key_file: Path | None = Field(
        default=None, description="The private key of `NATS_TLS_CERT_FILE` (PEM)."
    )
    nats_tls_server_name: str | None = Field(
        default=None,
        description="The name the nats-server's certificate must hold, when the URL's host "
        "is not one of its names (an IP address, a tunnel). Unset: the URL's host.",
    )
    replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Replicas of the stream and the KV buckets (durable consumers follow "
        "the stream). Provisioning (`jobstream up`, or any start as the admin NATS user) "
        "creates them with it and raises an existing stream's and buckets' to it. At most "
        "the cluster's node count: 1 for a single server, 3 on a three-node cluster.",
    )

    nats_command_wait: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a command a person runs (`events export`, `apikey`, "
        "`projector rebuild`) waits for its nats-server before it ends with one line naming "
        "the address.",
    )

    @field_validator(
        "nats_tls_ca_file", "nats_tls_cert_file", "nats_tls_key_file", "nats_credentials_dir"
    )
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        if path is not None and not os.access(path, os.R_OK):
            reason = "it does not exist" if not path.exists() else "permission denied"
            raise ValueError(f"cannot read it: {reason}")
        return path

    @model_validator(mode="after")
    def _nats_security_is_usable(self) -> "NatsSettings":
        if (self.nats_tls_cert_file is None) != (self.nats_tls_key_file is None):
            raise ValueError(
                "JOBSTREAM_NATS_TLS_CERT_FILE and JOBSTREAM_NATS_TLS_KEY_FILE go together: a "
                "client certificate and its key"
            )
        if self.nats_user and self.nats_credentials_dir:
            raise ValueError(
                "JOBSTREAM_NATS_USER (a password) and JOBSTREAM_NATS_CREDENTIALS_DIR (a key "
                "file per user) are two ways to log in: give one"
            )
        try:
            _ = self.nats_tls  # made now, so a bad file ends the start with its variable
        except UnusableTls as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def nats_tls(self) -> ssl.SSLContext | None:
        """The TLS context of the files given; None: nats-py's default, if the server
        asks for TLS."""
        if self.nats_tls_ca_file is None and self.nats_tls_cert_file is None:
            return None
        return tls_context(self.nats_tls_ca_file, self.nats_tls_cert_file, self.nats_tls_key_file)

    @property
    def embedded_nats_dir(self) -> Path:
        """Where the embedded nats-server keeps its store, configuration and credentials."""
        return self.data_dir / "nats"


class ObservabilitySettings(JobstreamSettings):
    """What a component logs, and where it serves its metrics."""

    log_level: Annotated[LogLevel, CaseInsensitive] = Field(
        default="info", description="The least severe log lines written."
    )
    log_format: LogFormat = Field(
        default="console",
        description="`json`: every line of every component is one JSON object (uvicorn's, "
        "nats-py's and warnings included); an executor's lines about a job carry `job_id`, "
        "`process_id` and `attempt`. `console`: lines for people.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Executors, projectors and notifiers serve Prometheus text on "
        "`http://<HOST>:<METRICS_PORT>/metrics` (under `jobstream up`: this port and the "
        "next two). Unset: not served. The gateway serves `/metrics` on its own port.",
    )


class ViewSettings(JobstreamSettings):
    """The SQL view the projector writes and the gateway reads."""

    database_url: str | None = Field(
        default=None,
        description="Any SQLAlchemy URL, e.g. `postgresql+psycopg://user@host/db`. Unset: "
        "`sqlite:///<data_dir>/view.sqlite`. A server that does not accept a connection in "
        "5 s fails it (`?connect_timeout=N` in the URL sets another bound).",
    )

    @cached_property
    def view_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'view.sqlite').resolve()}"


class AddressSettings(JobstreamSettings):
    """Where clients reach the gateway: its port, and the URL links are made of."""

    port: int = Field(
        default=8000, ge=1, le=65535, description="The gateway's port (also `--port`)."
    )
    public_url: str | None = Field(
        default=None,
        description="The URL clients reach the gateway at, for links (in responses and "
        "callbacks), behind a proxy. Unset: `http://<HOST>:<PORT>`.",
    )

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class AccessSettings(JobstreamSettings):
    """How callers prove who they are (README, Security)."""

    auth: Annotated[frozenset[AuthMethod], NoDecode, CommaSeparated] = Field(
        default=frozenset({"none"}),
        description="How callers prove who they are: `none`, `apikey`, `oidc` or "
        "`apikey,oidc`. With `none` the gateway serves only on a loopback address unless "
        "`INSECURE` is given.",
    )
    insecure: bool = Field(
        default=False,
        description="With `AUTH=none`, serve on an address other machines can reach anyway: "
        "whoever reaches it may do anything (also `--insecure`).",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="With `AUTH=oidc`: bearer JWTs are signed by this issuer (its discovery "
        "document names the JWKS).",
    )
    oidc_audience: str | None = Field(
        default=None, description="With `AUTH=oidc`: the audience bearer JWTs must name."
    )
    oidc_roles_claim: str = Field(
        default="roles",
        description="The claim holding a token's roles; a dotted path such as "
        "`realm_access.roles`.",
    )
    oidc_client_id: str | None = Field(
        default=None,
        description="With `AUTH=oidc`: the pages' client at the issuer; people then sign in "
        "there (authorization code with PKCE).",
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None,
        description="The secret of a confidential `OIDC_CLIENT_ID`; unset: a public client.",
    )
    oidc_scopes: str = Field(
        default="openid", description="The scopes the pages' sign-in asks the issuer for."
    )

    @model_validator(mode="after")
    def _auth_is_complete(self) -> "AccessSettings":
        if not self.auth or ("none" in self.auth and len(self.auth) > 1):
            raise ValueError("JOBSTREAM_AUTH: give none, apikey, oidc or apikey,oidc")
        if "oidc" in self.auth and not (self.oidc_issuer and self.oidc_audience):
            raise ValueError(
                "JOBSTREAM_AUTH=oidc needs JOBSTREAM_OIDC_ISSUER and JOBSTREAM_OIDC_AUDIENCE"
            )
        if self.oidc_client_id and "oidc" not in self.auth:
            raise ValueError(
                "JOBSTREAM_OIDC_CLIENT_ID signs people in through OIDC: it needs "
                "JOBSTREAM_AUTH=oidc"
            )
        return self

    @property
    def auth_methods(self) -> frozenset[str]:
        return frozenset(self.auth)

    @property
    def signs_in_through_oidc(self) -> bool:
        """Whether people sign in at the OIDC issuer (not only with a pasted token)."""
        return bool(self.oidc_client_id) and "oidc" in self.auth

    @property
    def authenticates(self) -> bool:
        """Whether callers must prove who they are."""
        return self.auth != {"none"}


class PluginSettings(JobstreamSettings):
    """The operator's folder of YAML files: executors read its templates and processes,
    gateways its schedules."""

    plugins_dir: Path | None = Field(
        default=None,
        description="User dataset templates (`datasets/*.yaml`, replacing built-ins of their "
        "id), YAML processes (`processes/*.yaml`) and schedules (`schedules/*.yaml`, read by "
        "the gateway at start).",
    )


class EstimateSettings(JobstreamSettings):
    """How long an estimate may work: the gateway waits, the executor stops, this long."""

    estimate_budget: float = Field(
        default=10.0,
        gt=0,
        description="Seconds `GET /processes/{id}/estimate` may work (HEAD requests to the "
        "source, the commit history) before it stops and the client gets 503.",
    )


class CallbackNetworkSettings(JobstreamSettings):
    """Which non-public networks callbacks may reach: checked at execute and at delivery."""

    callback_allowed_networks: JsonStrings = Field(
        default=[],
        description="Callbacks (OGC subscriber URIs) to hosts resolving to loopback, private, "
        "link-local, multicast or any other special-purpose address (RFC 6890 and successors: "
        "shared, benchmark, documentation, NAT64, 6to4, Teredo; an IPv4-mapped address as its "
        "IPv4 address) are refused unless inside one of these networks (CIDR, JSON), e.g. "
        '`["10.0.0.0/8"]`.',
    )


class PlanLimitSettings(JobstreamSettings):
    """Limits on the work one ingest or sync (or its estimate) plans (README, Limits on
    planned work). Over one, the request is refused with 413 and the plan's figures before
    any job exists; an executor checks again before a job runs."""

    max_planned_periods: int = Field(
        default=100_000,
        ge=1,
        description="Periods from `start` to `end` (`end` clipped to the newest available period).",
    )
    max_planned_cells: int = Field(
        default=25_000_000,
        ge=1,
        description="Grid cells of one period: the `bbox` at the template's "
        "`extent.resolution` (a whole-extent CHIRPS day is 17.3 million).",
    )
    max_planned_bytes: int = Field(
        default=100 * 2**30,
        ge=1,
        description="Periods × cells × 4 bytes: the float32 values written, uncompressed "
        "(100 GiB).",
    )


class DatasetSettings(JobstreamSettings):
    """Where dataset repositories live: read by executors and `open_dataset`."""

    datasets_root: str | None = Field(
        default=None,
        description="A path or an `s3://`, `gs://`, `az://` / `abfs://` URL; one repository "
        "per dataset under it (endpoint, region, account and credentials from each cloud's "
        "standard environment variables; README, Datasets on object storage). Unset: "
        "`<data_dir>/datasets`.",
    )

    @property
    def datasets_location(self) -> str:
        return self.datasets_root or str((self.data_dir / "datasets").resolve())


class ArchiveSettings(JobstreamSettings):
    """Where finished jobs' events go once they are older than the retention, and how old
    that is: the archiver writes there, and every reader of a job's history reads it."""

    archive_url: str | None = Field(
        default=None,
        description="A folder or an fsspec URL (`s3://bucket/prefix`, `gs://`, `az://`): "
        "archive files of CloudEvents JSON lines, each with a manifest. Unset: "
        "`<data_dir>/archive`.",
    )
    archive_retention: float | None = Field(
        default=None,
        gt=0,
        description="Seconds after a job's final event before the archiver moves its events "
        "from the stream to the archive. Unset: nothing is archived or trimmed.",
    )
    archive_interval: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between the archiver's runs under `jobstream up` (and "
        "`jobstream archive --every`).",
    )
    archive_batch: int = Field(
        default=10_000,
        ge=1,
        description="The most jobs one archive file holds; a run writes as many files as "
        "the jobs due need.",
    )

    @property
    def archive_location(self) -> str:
        return self.archive_url or str((self.data_dir / "archive").resolve())


# A store's size as nats-server writes it: bytes, or K, M, G, T (powers of 1,024, as the
# server reads them).
STORE_SIZE_PATTERN = r"^[0-9]+[KMGT]?$"
_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def size_in_bytes(text: str) -> int:
    """A STORE_SIZE_PATTERN size in bytes."""
    if text[-1:] in _UNITS:
        return int(text[:-1]) * _UNITS[text[-1]]
    return int(text)


class EmbeddedNatsSettings(JobstreamSettings):
    """The nats-server `jobstream up` starts when `NATS_URL` is unset."""

    embedded_nats_port: int = Field(
        default=0, ge=0, le=65535, description="Its client port; 0: a free port at start."
    )
    embedded_sync_interval: str = Field(
        default="always",
        pattern=r"^(always|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$",
        description='JetStream\'s fsync interval: `always` or a Go duration such as "2m".',
    )
    embedded_nats_nodes: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Its nodes (also `--nats-cluster N`). Above 1, a JetStream cluster on "
        "loopback, and the replicas default to the node count.",
    )
    embedded_max_store: str = Field(
        default="10G",
        pattern=STORE_SIZE_PATTERN,
        description="Its JetStream store takes no more writes past this size (nats-server "
        "units: 512M, 10G): publishes are refused and the gateway answers 503, no "
        "acknowledged event lost.",
    )
