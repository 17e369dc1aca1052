"""`jobstream up`: an embedded nats-server and one process per component.

Components run as separate OS processes, exactly as they would be deployed, so what works
under `up` works split across machines. If one exits, everything stops: a half-running
service is worse than a clear failure. Each component connects as its own NATS user, given in
its environment; the stream is created or updated as the admin user before any starts. The
archiver (`jobstream archive --every`, the archiver user) is one of them when
JOBSTREAM_ARCHIVE_RETENTION is set; without a retention nothing is ever due, so it is not
started.

`up` holds its data folder (folder_lock) and finds its ports free before it starts anything,
and says "jobstream is up" only when the gateway it started answers (its pid in the health
answer), never another one on the same port.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import structlog

from jobstream_client.cli.exit_codes import TAKEN
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.embedded_cluster import EmbeddedCluster
from jobstream_infra.provisioning import provision
from jobstream_infra.settings import UpSettings

from .folder_lock import FolderTaken, ensure_free, holding

log = structlog.get_logger("jobstream.up")

# Started always, in this order; the gateway last, as its answer says all are up.
COMPONENTS = ("projector", "executor", "notifier", "gateway")
# The components that serve /metrics on a port of their own (the gateway serves it on its own).
METERED = ("projector", "executor", "notifier")
# Each component's command: `jobstream <name>`, with these arguments.
ARGUMENTS = {"archive": ["--every"]}


def components(settings: UpSettings) -> tuple[str, ...]:
    """COMPONENTS, and the archiver (before the gateway) when a retention makes jobs due."""
    if settings.archive_retention is None:
        return COMPONENTS
    *others, gateway = COMPONENTS
    return (*others, "archive", gateway)


def _wait_for_gateway(
    settings: UpSettings, children: list[subprocess.Popen], timeout: float
) -> bool:
    """Until the gateway started here (the last child) answers its health check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        if _health_pid(settings) == children[-1].pid:
            return True
        time.sleep(0.05)
    return False


def _health_pid(settings: UpSettings) -> int | None:
    """The pid of the gateway answering on the port, if one answers."""
    try:
        url = f"http://{settings.host}:{settings.port}/health"
        with urllib.request.urlopen(url, timeout=1) as response:
            return json.load(response).get("pid")
    except (OSError, ValueError):
        return None


def _stop(children: list[subprocess.Popen], timeout: float = 15.0) -> None:
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _embedded_server(settings: UpSettings) -> EmbeddedNats | EmbeddedCluster:
    if settings.embedded_nats_nodes > 1:
        return EmbeddedCluster(
            settings.embedded_nats_dir,
            size=settings.embedded_nats_nodes,
            sync_interval=settings.embedded_sync_interval,
            max_store=settings.embedded_max_store,
        )
    return EmbeddedNats(
        settings.embedded_nats_dir,
        port=settings.embedded_nats_port,
        sync_interval=settings.embedded_sync_interval,
        max_store=settings.embedded_max_store,
    )


def with_cluster_replicas(settings: UpSettings) -> UpSettings:
    """On an embedded cluster, replicas default to its node count: trying a cluster means
    trying replication."""
    if settings.nats_url or "replicas" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"replicas": settings.embedded_nats_nodes})


def _start_server(settings: UpSettings) -> EmbeddedNats | EmbeddedCluster:
    server = _embedded_server(settings).start()
    try:
        asyncio.run(provision(settings))
    except BaseException:
        server.stop()
        raise
    return server


def _component_env(
    env: dict[str, str], server: EmbeddedNats | EmbeddedCluster | None, name: str
) -> dict[str, str]:
    """The environment of one component: with the embedded server, its own NATS user."""
    if server is None:
        return env  # an external server: the credentials the settings give, if any
    return {**env, **server.credentials.env_for(name)}


def _metrics_env(settings: UpSettings, name: str) -> dict[str, str]:
    """Each metered component scrapes on its own port: METRICS_PORT, then the next ones, in
    the order the components start."""
    if settings.metrics_port is None or name not in METERED:
        return {}
    return {"JOBSTREAM_METRICS_PORT": str(settings.metrics_port + METERED.index(name))}


def run_all(settings: UpSettings) -> int:
    started = time.monotonic()
    settings = with_cluster_replicas(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with holding(settings.data_dir, f"http://{settings.host}:{settings.port}/"):
            _ensure_ports_free(settings)
            return _run(settings, started)
    except FolderTaken as exc:
        print(f"jobstream up: {exc}", file=sys.stderr, flush=True)
        return TAKEN


def _ensure_ports_free(settings: UpSettings) -> None:
    ensure_free(settings.host, settings.port, "the gateway's", "--port (JOBSTREAM_PORT)")
    if not settings.nats_url and settings.embedded_nats_port:
        ensure_free(
            "127.0.0.1", settings.embedded_nats_port, "NATS", "JOBSTREAM_EMBEDDED_NATS_PORT"
        )


def _run(settings: UpSettings, started: float) -> int:
    env = dict(os.environ)
    server = None
    if not settings.nats_url:
        server = _start_server(settings)
        env["JOBSTREAM_NATS_URL"] = server.address
        # The server's store cap is in no answer a client can ask for: tell the gateway.
        env.setdefault("JOBSTREAM_STORE_CAPACITY", settings.embedded_max_store)
    env["JOBSTREAM_REPLICAS"] = str(settings.replicas)
    env["JOBSTREAM_HOST"] = settings.host
    env["JOBSTREAM_PORT"] = str(settings.port)
    env["JOBSTREAM_INSECURE"] = str(settings.insecure).lower()

    stopping = False

    def on_signal(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    names = components(settings)
    children = [
        # A session of their own: a terminal's Ctrl-C reaches only this supervisor, which
        # then stops the components in order and the nats-server last.
        subprocess.Popen(
            [sys.executable, "-m", "jobstream", name, *ARGUMENTS.get(name, [])],
            env={**_component_env(env, server, name), **_metrics_env(settings, name)},
            start_new_session=True,
        )
        for name in names
    ]
    code = 0
    try:
        if _wait_for_gateway(settings, children, timeout=60):
            log.info(
                "jobstream is up",
                url=f"http://{settings.host}:{settings.port}/",
                nats=env["JOBSTREAM_NATS_URL"],
                view=settings.view_url,
                seconds=round(time.monotonic() - started, 2),
            )
        elif not stopping:
            log.error("jobstream did not come up")
            code = 1
        while not stopping and code == 0:
            for name, child in zip(names, children, strict=True):
                if child.poll() is not None:
                    log.error(
                        "component exited; stopping everything",
                        component=name,
                        returncode=child.returncode,
                    )
                    code = 1
            time.sleep(0.2)
    finally:
        _stop(children)
        if server is not None:
            server.stop()
        log.info("jobstream stopped")
    return code
