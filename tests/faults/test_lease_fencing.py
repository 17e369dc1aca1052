"""One writer per dataset, fenced: a lease is confirmed on the bucket before every commit, and
the bucket's TTL follows the setting, whatever it was created with."""

import asyncio
import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor

import nats
import pytest
from nats.js.api import StorageType

from jobstream_contracts.events import JobSubmitted
from jobstream_contracts.subjects import LEASE_BUCKET
from jobstream_executor.bridge import Bridge
from jobstream_executor.running import RunningJob
from jobstream_executor.runtime import Runtime
from jobstream_infra.journal import JetStreamJournal
from jobstream_infra.leases import LeaseLost, Leases
from jobstream_infra.provisioning import ensure_lease_bucket
from jobstream_infra.settings import ExecutorSettings

from ..support.datasets import data_stack, repository


async def _lease_bucket(nats_url: str, ttl: float) -> float:
    """Create the lease bucket with ``ttl`` as an older executor would have; returns its TTL."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        kv = await js.create_key_value(
            bucket=LEASE_BUCKET, history=1, ttl=ttl, storage=StorageType.FILE
        )
        return (await kv.status()).ttl or 0.0
    finally:
        await nc.close()


def test_a_lease_bucket_created_with_another_ttl_takes_the_setting(nats_server):
    async def scenario() -> tuple[float, float]:
        created = await _lease_bucket(nats_server.url, 1.0)
        nc = await nats.connect(nats_server.url)
        try:
            kv = await ensure_lease_bucket(nc.jetstream(), 6.0)
            return created, (await kv.status()).ttl or 0.0
        finally:
            await nc.close()

    assert asyncio.run(scenario()) == (1.0, 6.0)


def test_two_data_jobs_with_a_lease_ttl_longer_than_the_buckets_never_interleave(
    make_stack, nats_server
):
    # The bucket expires a lease 1 s after its last renewal; executors renew every 3 s.
    asyncio.run(_lease_bucket(nats_server.url, 1.0))
    stack = data_stack(make_stack, lease_ttl=9, progress_interval=0.1)
    stack.start("projector", "gateway", wait=False)
    stack.start_component("executor")
    stack.start_component("executor")
    stack.wait_ready(("ingest",))
    # Each longer than a renewal period, so the first holder still writes when the lease
    # would have expired under it.
    ranges = [("2020-01-01", "2020-04-30"), ("2020-05-01", "2020-08-31")]
    jobs = [
        stack.submit("ingest", {"dataset_id": "demo", "start": start, "end": end})
        for start, end in ranges
    ]
    for job_id in jobs:
        assert stack.wait_job(job_id, timeout=90)["status"] == "successful"
    snapshots = reversed(list(repository(stack, "demo").ancestry(branch="main")))
    writers = [
        (s.metadata["job_id"], s.metadata["attempt"]) for s in snapshots if "job_id" in s.metadata
    ]
    # One unbroken run of commits per job, from its first attempt: each held the lease once,
    # to the end, and nobody committed while the other held it.
    holds = [writer for writer, _ in itertools.groupby(writers)]
    assert sorted(holds) == sorted((job_id, 1) for job_id in jobs), writers


def _bridge(nats_client, kv, lease_ttl: float) -> Bridge:
    """The JobContext side of one running job, as an executor builds it."""
    settings = ExecutorSettings(lease_ttl=lease_ttl)
    pool = ThreadPoolExecutor(1)
    journal = JetStreamJournal(nats_client, nats_client.jetstream())
    runtime = Runtime(
        settings, "test", journal, nats_client.max_payload, Leases(kv), pool, running={}
    )
    job = RunningJob("job-1", "ingest", attempt=1)
    submitted = JobSubmitted(job_id="job-1", process_id="ingest")

    async def write(_job, _event) -> bool:
        raise AssertionError("holding a lease writes no event")

    return Bridge(runtime, job, submitted, write)


async def test_a_writer_whose_lease_was_taken_stops_before_its_next_commit(nats_server):
    nc = await nats.connect(nats_server.url)
    kv = await ensure_lease_bucket(nc.jetstream(), 30.0)
    bridge = _bridge(nc, kv, lease_ttl=30.0)
    loop = asyncio.get_running_loop()

    def writer() -> None:
        with bridge.hold("dataset.demo") as lease:
            lease.check()
            # Expired and taken by another holder, long before this one's next renewal.
            thief = json.dumps({"job_id": "another"}).encode()
            asyncio.run_coroutine_threadsafe(kv.put("dataset.demo", thief), loop).result()
            with pytest.raises(LeaseLost):
                lease.check()

    try:
        await asyncio.to_thread(writer)
        assert json.loads((await kv.get("dataset.demo")).value or b"") == {"job_id": "another"}
    finally:
        await nc.close()


async def test_confirmations_and_renewals_of_one_lease_take_turns(nats_server):
    nc = await nats.connect(nats_server.url)
    kv = await ensure_lease_bucket(nc.jetstream(), 1.0)
    bridge = _bridge(nc, kv, lease_ttl=1.0)

    def writer() -> int:
        checks = 0
        with bridge.hold("dataset.demo") as lease:
            # Renewals every third of a second, checks back to back: they overlap often.
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                lease.check()
                checks += 1
        return checks

    try:
        assert await asyncio.to_thread(writer) > 100
    finally:
        await nc.close()
