"""What authentication costs the gateway: CPU per request with JOBSTREAM_AUTH=none, apikey and
oidc, in the same run, on the same nats-server, view and executor.

    .venv/bin/python -m bench.auth [--smoke] [--requests 1000] [--rounds 7] [--out DIR]
                                   [--analysis FILE]

writes bench/results/<date>-auth.md (the figures, then the analysis) and prints it.

Decisions:
- CPU, not latency: the gateway process's user + system time (psutil) over a round of requests,
  divided by the requests. psutil counts in clock ticks (10 ms), so a full round costs each
  gateway seconds and a tick is under 10 µs per request.
- Each gateway reads a job its own caller submitted (a submitter with an API key or a token
  from a local issuer; the anonymous caller without auth), and lists the processes once every
  ten reads: the same answers, so the gateways differ only in finding out who is calling.
- One keep-alive client, loopback only. Requests go to the three gateways in turn, so each
  round's three figures come from the same seconds and load elsewhere on the machine hits all
  alike; the difference to `none` is the median of each round's difference.
- `Identity.principal` is timed in-process too (the same code, minus HTTP) as a cross-check.
"""

import argparse
import asyncio
import datetime
import os
import platform
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import psutil

from jobstream_gateway.identity import ApiKeys, Identity
from jobstream_gateway.oidc import OidcVerifier
from jobstream_infra.apikeys import api_key_bucket
from jobstream_infra.embedded import EmbeddedNats, free_port
from jobstream_infra.settings import AccessSettings
from tests.support.issuer import AUDIENCE, LocalIssuer
from tests.support.stack import Stack

from .stats import Summary, ratio

RESULTS = Path(__file__).parent / "results"
KINDS = ("none", "apikey", "oidc")
LIST_EVERY = 10  # one GET /processes after every ten GET /jobs/{id}


@dataclass
class Sizes:
    requests: int  # GET /jobs/{id} per gateway per round
    rounds: int
    calls: int  # Identity.principal calls per kind per round


FULL = Sizes(requests=1000, rounds=7, calls=2000)
SMOKE = Sizes(requests=20, rounds=1, calls=20)


@dataclass
class Gateway:
    kind: str
    url: str
    headers: dict[str, str]
    process: psutil.Process
    job_path: str = ""

    def cpu_seconds(self) -> float:
        return sum(self.process.cpu_times()[:2])


@dataclass
class Round:
    cpu_us: float  # gateway CPU per request
    wall_us: float  # client-observed time per request


# -- the stack ---------------------------------------------------------------------------
def _start_gateway(stack: Stack, kind: str, token: str | None, **settings: object) -> Gateway:
    port = stack.port if kind == "none" else free_port()
    process = stack.start_component("gateway", port=port, auth=kind, **settings)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Gateway(kind, f"http://127.0.0.1:{port}", headers, psutil.Process(process.pid))


def _wait_serving(http: httpx.Client, gateway: Gateway, timeout: float = 60) -> None:
    """Until the gateway lists the echo process to its caller, and refuses anyone else."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not gateway.process.is_running():
            raise RuntimeError(f"the {gateway.kind} gateway exited")
        try:
            listed = http.get(gateway.url + "/processes", headers=gateway.headers)
            if listed.status_code == 200 and "echo" in listed.text:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    else:
        raise TimeoutError(f"the {gateway.kind} gateway did not serve within {timeout}s")
    anonymous = http.get(gateway.url + "/processes").status_code
    if anonymous != (200 if gateway.kind == "none" else 401):
        raise RuntimeError(f"the {gateway.kind} gateway answered {anonymous} to no credential")


def _submit_and_finish(http: httpx.Client, gateway: Gateway, timeout: float = 60) -> None:
    submitted = http.post(
        gateway.url + "/processes/echo/execution",
        json={"inputs": {"message": "bench"}},
        headers={**gateway.headers, "Prefer": "respond-async"},
    )
    if submitted.status_code != 201:
        raise RuntimeError(f"{gateway.kind}: {submitted.status_code} {submitted.text[:300]}")
    gateway.job_path = f"/jobs/{submitted.json()['jobID']}"
    deadline = time.monotonic() + timeout
    # Finished, so its status document stays the same for the whole run.
    while _status(http, gateway) != "successful":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{gateway.kind}: the bench job did not finish")
        time.sleep(0.05)


def _status(http: httpx.Client, gateway: Gateway) -> str | None:
    return http.get(gateway.url + gateway.job_path, headers=gateway.headers).json().get("status")


# -- over HTTP -----------------------------------------------------------------------------
def _get(http: httpx.Client, gateway: Gateway, lists: bool) -> float:
    """One request (a process list, or the caller's job); the seconds it took."""
    path = "/processes" if lists else gateway.job_path
    began = time.perf_counter()
    answer = http.get(gateway.url + path, headers=gateway.headers)
    if answer.status_code != 200:
        raise RuntimeError(f"{gateway.kind} {path}: {answer.status_code} {answer.text[:300]}")
    return time.perf_counter() - began


def _round(http: httpx.Client, gateways: list[Gateway], requests: int) -> dict[str, Round]:
    """`requests` job reads and a tenth as many lists, to each gateway in turn."""
    tens, rest = divmod(requests, LIST_EVERY)
    plan = ([False] * LIST_EVERY + [True]) * tens + [False] * rest  # True: list the processes
    before = {g.kind: g.cpu_seconds() for g in gateways}
    waited = dict.fromkeys(before, 0.0)
    for lists in plan:
        for gateway in gateways:
            waited[gateway.kind] += _get(http, gateway, lists)
    return {
        g.kind: Round(
            (g.cpu_seconds() - before[g.kind]) * 1e6 / len(plan),
            waited[g.kind] * 1e6 / len(plan),
        )
        for g in gateways
    }


def measure_http(gateways: list[Gateway], sizes: Sizes) -> dict[str, list[Round]]:
    rounds: dict[str, list[Round]] = {g.kind: [] for g in gateways}
    with httpx.Client(timeout=30) as http:
        _round(http, gateways, max(LIST_EVERY, sizes.requests // 10))  # warm-up
        for index in range(sizes.rounds):
            shift = index % len(gateways)  # who goes first changes from round to round
            order = gateways[shift:] + gateways[:shift]
            for kind, figures in _round(http, order, sizes.requests).items():
                rounds[kind].append(figures)
    return rounds


# -- in process ----------------------------------------------------------------------------
async def _per_call_us(identity: Identity, authorization: str | None, calls: int) -> float:
    await identity.principal(authorization)  # warm: the OIDC discovery and key fetch
    began = time.thread_time()  # CPU, not wall: other processes' load does not count
    for _ in range(calls):
        await identity.principal(authorization)
    return (time.thread_time() - began) * 1e6 / calls


async def measure_in_process(
    nats_url: str, issuer_url: str, tokens: dict[str, str], sizes: Sizes
) -> dict[str, list[float]]:
    """µs per ``Identity.principal`` call for each kind, with the real key bucket and issuer."""
    nc = await nats.connect(nats_url)
    api_keys = ApiKeys()
    await api_keys.start(await api_key_bucket(nc.jetstream()))
    settings = AccessSettings(oidc_issuer=issuer_url, oidc_audience=AUDIENCE)
    identities = {
        "none": (Identity(), None),
        "apikey": (Identity(api_keys=api_keys), f"Bearer {tokens['apikey']}"),
        "oidc": (Identity(oidc=OidcVerifier(settings)), f"Bearer {tokens['oidc']}"),
    }
    timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
    try:
        for _ in range(sizes.rounds):
            for kind, (identity, authorization) in identities.items():
                timings[kind].append(await _per_call_us(identity, authorization, sizes.calls))
    finally:
        await api_keys.stop()
        await nc.close()
    return timings


# -- the run -------------------------------------------------------------------------------
def run(work: Path, sizes: Sizes) -> tuple[dict[str, list[Round]], dict[str, list[float]]]:
    with EmbeddedNats(work / "nats") as server, LocalIssuer() as issuer:
        stack = Stack(work / "stack", server.url, credentials=server.credentials)
        stack.env["JOBSTREAM_LOG_LEVEL"] = "warning"
        try:
            stack.start("projector", "executor")
            tokens = {
                "apikey": stack.new_key("bench", "submitter"),
                "oidc": issuer.mint("bench", ["submitter"], expires_in=6 * 3600),
            }
            gateways = [
                _start_gateway(stack, "none", None),
                _start_gateway(stack, "apikey", tokens["apikey"]),
                _start_gateway(
                    stack, "oidc", tokens["oidc"], oidc_issuer=issuer.url, oidc_audience=AUDIENCE
                ),
            ]
            with httpx.Client(timeout=30) as http:
                for gateway in gateways:
                    _wait_serving(http, gateway)
                    _submit_and_finish(http, gateway)
            over_http = measure_http(gateways, sizes)
        finally:
            stack.close()
        in_process = asyncio.run(measure_in_process(server.url, issuer.url, tokens, sizes))
    return over_http, in_process


# -- the report ----------------------------------------------------------------------------
def _paired_delta(rounds: dict[str, list[Round]], kind: str) -> Summary:
    """Each round's CPU per request minus `none`'s in the same round."""
    pairs = zip(rounds[kind], rounds["none"], strict=True)
    return Summary.of([mine.cpu_us - none.cpu_us for mine, none in pairs])


def report(
    rounds: dict[str, list[Round]], in_process: dict[str, list[float]], sizes: Sizes, mode: str
) -> str:
    none_cpu = statistics.median(r.cpu_us for r in rounds["none"])
    lines = [
        f"# Authentication's CPU per request — {datetime.date.today().isoformat()}",
        "",
        f"Mode: **{mode}** (`python -m bench.auth`). {_machine()}",
        "",
        f"Three gateways (`JOBSTREAM_AUTH` none, apikey, oidc against a local issuer) on one "
        f"nats-server, view and executor. Each round: {sizes.requests} `GET /jobs/{{id}}` of "
        f"the caller's own job plus {sizes.requests // LIST_EVERY} `GET /processes` per "
        f"gateway, one keep-alive client on loopback, gateways interleaved; "
        f"{sizes.rounds} rounds. CPU is the gateway process's user + system time (psutil). "
        "Figures are min / median / max over the rounds; Δ is the median of each round's "
        "difference to `none`.",
        "",
        "| auth | gateway CPU µs/request | Δ vs none µs | ratio to none | wall µs/request |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for kind in KINDS:
        cpu = Summary.of([r.cpu_us for r in rounds[kind]])
        delta = "—" if kind == "none" else _signed(_paired_delta(rounds, kind))
        wall = statistics.median(r.wall_us for r in rounds[kind])
        lines.append(
            f"| {kind} | {cpu.fmt(0)} | {delta} | {ratio(cpu.median, none_cpu):.2f} | {wall:.0f} |"
        )
    lines += ["", _in_process_line(in_process, sizes)]
    return "\n".join(lines) + "\n"


def _signed(summary: Summary) -> str:
    return f"{summary.min:+.0f} / **{summary.median:+.0f}** / {summary.max:+.0f}"


def _in_process_line(in_process: dict[str, list[float]], sizes: Sizes) -> str:
    figures = ", ".join(f"{kind} {Summary.of(in_process[kind]).fmt(1)}" for kind in KINDS)
    return (
        f"`Identity.principal` in-process, µs per call ({sizes.calls} calls a round, "
        f"min / median / max): {figures}."
    )


def _machine() -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; 1-minute load average {os.getloadavg()[0]:.1f} at the "
        f"end (other work shared the machine). Commit `{commit or 'unknown'}` plus the "
        "working tree."
    )


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.auth")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: proves it runs")
    parser.add_argument("--requests", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--analysis", type=Path, help="Markdown to append as the analysis")
    args = parser.parse_args(argv)
    base = SMOKE if args.smoke else FULL
    sizes = Sizes(args.requests or base.requests, args.rounds or base.rounds, base.calls)
    with tempfile.TemporaryDirectory(prefix="jobstream-bench-auth-") as tmp:
        rounds, in_process = run(Path(tmp), sizes)
    text = report(rounds, in_process, sizes, "smoke" if args.smoke else "full")
    if args.analysis:
        text += "\n" + args.analysis.read_text()
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.date.today().isoformat() + ("-smoke" if args.smoke else "")
    (args.out / f"{stamp}-auth.md").write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
