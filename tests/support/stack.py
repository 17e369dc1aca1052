"""Real jobstream components as OS processes against a real nats-server, for the tests."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from jobstream_contracts.events import Event, decode_event
from jobstream_contracts.subjects import ALL_EVENTS, STREAM
from jobstream_infra.embedded import PLACEMENTS, EmbeddedNats, free_port
from jobstream_infra.nats_credentials import NatsCredentials

from .waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
FINAL = ("successful", "failed", "dismissed")
TEST_PROCESSES = ["jobstream_executor.builtin", "tests.support.processes"]


class ComponentExited(Exception):
    """A component a test waits on exited: no point waiting any longer."""


class Stack:
    """Components on the nats-server at ``nats_url``, where the test side reads the stream.

    With ``credentials`` (an embedded server's), each component connects as its own NATS user,
    as under `jobstream up`; without, as whoever ``nats_url`` names.
    """

    def __init__(
        self,
        workdir: Path,
        nats_url: str,
        database_url: str | None = None,
        credentials: NatsCredentials | None = None,
        **settings: object,
    ) -> None:
        self.workdir = workdir
        self.nats_url = nats_url
        self.credentials = credentials
        self.port = free_port()
        self.database_url = database_url or f"sqlite:///{workdir / 'view.sqlite'}"
        self.env = {
            **os.environ,
            # The repository's, after any the caller set (bench.guard's slowed copy).
            "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)])),
            "JOBSTREAM_NATS_URL": nats_url,
            "JOBSTREAM_DATABASE_URL": self.database_url,
            "JOBSTREAM_DATA_DIR": str(workdir / "data"),
            "JOBSTREAM_PORT": str(self.port),
            "JOBSTREAM_PROCESS_MODULES": json.dumps(TEST_PROCESSES),
            "JOBSTREAM_LOG_LEVEL": "info",
            **{f"JOBSTREAM_{k.upper()}": str(v) for k, v in settings.items()},
        }
        self.processes: dict[str, list[subprocess.Popen]] = {}
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = httpx.Client(base_url=self.url, timeout=30)
        # Gateways started again on a fresh port, their first port taken (_gateway_moved).
        self._moves = 0

    # -- components --------------------------------------------------------------------
    def start(self, *names: str, wait: bool = True) -> "Stack":
        for name in names or ("projector", "executor", "gateway"):
            self.start_component(name)
        if wait and (not names or "gateway" in names):
            self.wait_ready()
        return self

    def start_component(self, name: str, **settings: object) -> subprocess.Popen:
        index = len(self.processes.get(name, []))
        env = {**self.env, **(self.credentials.env_for(name) if self.credentials else {})}
        env.update({f"JOBSTREAM_{k.upper()}": str(v) for k, v in settings.items()})
        with open(self.logs / f"{name}-{index}.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "jobstream", name],
                env=env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.setdefault(name, []).append(process)
        return process

    def stop(self, *names: str, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        # By default every component started, the gateway first, as jobstream up stops them.
        for name in names or sorted(self.processes, key=lambda n: n != "gateway"):
            for process in self.processes.pop(name, []):
                if process.poll() is None:
                    process.send_signal(sig)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def kill_one(self, name: str, index: int = 0) -> subprocess.Popen:
        """SIGKILL one running component process and forget it."""
        process = self.processes[name].pop(index)
        process.kill()
        process.wait()
        return process

    def close(self) -> None:
        self.stop()
        self.http.close()

    def log(self, name: str) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.logs.glob(f"{name}-*.log"))
        )

    def wait_ready(
        self, processes: tuple[str, ...] = ("echo", "count"), timeout: float = 60
    ) -> None:
        """Until the gateway lists ``processes``; fails at once should a component exit."""

        def serving() -> bool:
            if self._gateway_moved():
                return False
            for name, started in self.processes.items():
                for process in started:
                    if process.poll() is not None:
                        raise ComponentExited(f"{name} exited:\n{self.log(name)}")
            listed = self.http.get("/processes", params={"limit": 1000})
            ids = {p["id"] for p in listed.json()["processes"]} if listed.is_success else set()
            return set(processes) <= ids

        eventually(
            serving, timeout, lambda: f"the gateway's processes; its log:\n{self.log('gateway')}"
        )

    def _gateway_moved(self) -> bool:
        """Start the stack's gateway again on a fresh port if it exited because another
        process bound its port between free_port and the gateway's own bind (seen once in
        CI, two xdist workers drawing one port): a race of the test's, not the gateway's."""
        gateways = self.processes.get("gateway", [])
        if len(gateways) != 1 or gateways[0].poll() is None or self._moves >= PLACEMENTS:
            return False
        if "address already in use" not in self.log("gateway"):
            return False
        gateways.clear()
        self._moves += 1
        self.port = free_port()
        self.env["JOBSTREAM_PORT"] = str(self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.http.base_url = httpx.URL(self.url)
        self.start_component("gateway")
        return True

    # -- API keys ------------------------------------------------------------------------
    def apikey(self, *args: str) -> subprocess.CompletedProcess:
        """`jobstream apikey …` as an admin runs it, against this stack's server."""
        return subprocess.run(
            [sys.executable, "-m", "jobstream", "apikey", *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def new_key(self, name: str, role: str) -> str:
        """A new API key, as `jobstream apikey create` prints it."""
        made = self.apikey("create", "--name", name, "--role", role)
        if made.returncode != 0:
            raise RuntimeError(f"jobstream apikey create failed: {made.stderr[-2000:]}")
        return made.stdout.strip()

    # -- jobs ----------------------------------------------------------------------------
    def submit(self, process: str, inputs: dict, **body: object) -> str:
        response = self.http.post(
            f"/processes/{process}/execution",
            json={"inputs": inputs, **body},
            headers={"Prefer": "respond-async"},
        )
        assert response.status_code == 201, response.text
        return response.json()["jobID"]

    def wait_job(self, job_id: str, statuses=FINAL, timeout: float = 30) -> dict:
        def status() -> dict | None:
            answer = self.http.get(f"/jobs/{job_id}").json()
            return answer if answer.get("status") in statuses else None

        def why() -> str:
            history = [(type(e).__name__, getattr(e, "message", None)) for e in self.events(job_id)]
            return f"job {job_id} {statuses}\nin the stream: {history}\n{self.executor_stacks()}"

        return eventually(status, timeout, why, interval=0.02)

    def executor_stacks(self) -> str:
        """The tail of each running executor's log after it printed its threads' stacks."""
        running = [p for p in self.processes.get("executor", []) if p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGUSR1)
        time.sleep(1.0)
        return "\n".join(
            f"--- executor log (tail) ---\n{p.read_text(errors='replace')[-12000:]}"
            for p in sorted(self.logs.glob("executor-*.log"))
        )

    def wait_view(self, job_id: str, statuses=FINAL, timeout: float = 30) -> dict:
        """Like wait_job, but through the job list, which only the view answers."""

        def listed() -> dict | None:
            jobs = self.http.get("/jobs", params={"limit": 1000}).json()["jobs"]
            return next((j for j in jobs if j["jobID"] == job_id and j["status"] in statuses), None)

        return eventually(listed, timeout, f"job {job_id} {statuses} in the view")

    # -- the stream ----------------------------------------------------------------------
    def events(self, job_id: str | None = None) -> list[Event]:
        return asyncio.run(stream_events(self.nats_url, job_id))


@contextmanager
def own_server_stack(workdir: Path, **settings: object) -> Iterator[Stack]:
    """A stack (not started) on a nats-server of its own, for a fixture shared by a module:
    everything is stopped when the module is done."""
    with EmbeddedNats(workdir / "nats") as server:
        # Positional, so that no setting can land on database_url or credentials.
        stack = Stack(workdir, server.url, None, server.credentials, **settings)
        try:
            yield stack
        finally:
            stack.close()


@contextmanager
def keyed_stack(workdir: Path, **settings: object) -> Iterator[tuple["Stack", str]]:
    """A started stack with API keys on (its own embedded nats-server) and the key of an admin
    named ``admin``, which the stack's own HTTP client sends."""
    with EmbeddedNats(workdir / "nats") as server:
        # Positional, so that no setting can land on database_url or credentials.
        stack = Stack(workdir, server.url, None, server.credentials, auth="apikey", **settings)
        stack.start(wait=False)
        try:
            key = stack.new_key("admin", "admin")
            stack.http.headers["Authorization"] = f"Bearer {key}"
            yield stack, key
        finally:
            stack.close()


def runs_an_echo_job(stack: Stack, message: str) -> None:
    """Start the whole stack, see an echo job through to success, stop it: a deployment's
    settings (TLS, NKEYs, creds…) proved end to end."""
    try:
        stack.start()
        job_id = stack.submit("echo", {"message": message})
        assert stack.wait_job(job_id)["status"] == "successful"
    finally:
        stack.close()


def wait_gateway(url: str, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Until the gateway at ``url`` answers /health; fails at once should ``process`` exit."""
    wait_serving(f"{url}/health", process, timeout)


def wait_serving(url: str, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Until ``url`` answers 200; fails at once should ``process`` (serving it) exit."""

    def answers() -> bool:
        if process is not None and process.poll() is not None:
            raise ComponentExited(f"what serves {url} exited")
        return httpx.get(url, timeout=1).status_code == 200

    eventually(answers, timeout, f"an answer from {url}")


async def stream_events(nats_url: str, job_id: str | None = None) -> list[Event]:
    """Every event in the stream (or of one job), read with a throwaway consumer."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    from nats.js.errors import ServiceUnavailableError

    from jobstream_contracts.subjects import job_filter

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM)
        subject = job_filter(job_id) if job_id else ALL_EVENTS
        sub = await js.pull_subscribe(
            subject,
            stream=STREAM,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
        )
        events, seen, unavailable = [], 0, 0
        while seen < info.state.last_seq:
            try:
                msgs = await sub.fetch(1000, timeout=1)
            except TimeoutError:
                break
            except ServiceUnavailableError:
                # A cluster under load may answer 503 while the new consumer settles.
                unavailable += 1
                assert unavailable < 50, "the stream kept answering 503"
                await asyncio.sleep(0.2)
                continue
            for msg in msgs:
                seen = msg.metadata.sequence.stream
                events.append(decode_event(msg.data, msg.subject))
            if msgs and msgs[-1].metadata.num_pending == 0:
                break
        await sub.unsubscribe()
        return events
    finally:
        await nc.close()
