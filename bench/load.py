"""Driving load: HTTP clients that submit async jobs and wait for them, and bulk stream fills."""

import asyncio
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

import httpx
import nats

from jobstream_contracts.events import JobStarted, JobSubmitted, JobSucceeded
from jobstream_infra.journal import publish_event
from jobstream_infra.provisioning import ensure_stream


def http_jobs(
    base_url: str,
    jobs: int,
    clients: int,
    path: str,
    body: dict,
    is_done: Callable[[dict], bool],
    status_url: Callable[[httpx.Response], str],
    poll: float = 0.005,
) -> "Load":
    """Submit `jobs` async jobs from `clients` threads, each waiting for its job to finish."""
    latencies: list[float] = []
    errors: list[str] = []
    cpu = [0.0]
    lock = threading.Lock()

    def client(count: int) -> None:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            began_cpu = time.thread_time()  # the load itself, not the client's set-up
            for _ in range(count):
                began = time.perf_counter()
                response = http.post(path, json=body, headers={"Prefer": "respond-async"})
                submitted = time.perf_counter() - began
                if response.status_code != 201:
                    errors.append(f"{response.status_code} {response.text[:200]}")
                    return
                url = status_url(response)
                while not is_done(http.get(url).json()):
                    time.sleep(poll)
                with lock:
                    latencies.append(submitted)
            with lock:
                cpu[0] += time.thread_time() - began_cpu

    shares = [jobs // clients + (1 if i < jobs % clients else 0) for i in range(clients)]
    threads = [threading.Thread(target=client, args=(n,)) for n in shares if n]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"submissions failed: {errors[:3]}")
    return Load(time.perf_counter() - began, latencies, cpu[0])


class Load(NamedTuple):
    seconds: float
    submit_latencies: list[float]
    client_cpu_seconds: float


async def fill_stream(
    nats_url: str, jobs: int, process_id: str = "echo", in_flight: int = 256
) -> int:
    """Publish `jobs` finished jobs (submitted, started, succeeded) straight to the stream."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js)
    events = []
    for i in range(jobs):
        job_id = f"bench-{i:07d}"
        events += [
            JobSubmitted(job_id=job_id, process_id=process_id, inputs={"message": str(i)}),
            JobStarted(job_id=job_id, process_id=process_id, executor="bench", attempt=1),
            JobSucceeded(job_id=job_id, process_id=process_id, results={"echo": str(i)}, attempt=1),
        ]
    for start in range(0, len(events), in_flight):
        await asyncio.gather(*(publish_event(js, e) for e in events[start : start + in_flight]))
    await nc.close()
    return len(events)
