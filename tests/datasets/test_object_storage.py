"""Datasets on object storage: a real S3 API on loopback (moto's server), and URL parsing.

The data processes run in this process on the bucket, and on a stack whose executors each
have their own data directory, as on separate hosts: all they share is the stream and the
bucket. What they write is compared, value for value, with the same work on local files or
with an uninterrupted ingest.
"""

import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from jobstream_datasets.access import open_dataset
from jobstream_datasets.ingest import ingest_periods
from jobstream_datasets.limits import Limits, plan_ingest
from jobstream_datasets.locations import ObjectLocation, parse_location, storage_for
from jobstream_datasets.plugin import plugin_for
from jobstream_datasets.processes import Datasets, estimate, ingest, resample, sync
from jobstream_datasets.store import DatasetStore
from jobstream_datasets.templates import DatasetTemplate, load_template, load_templates
from jobstream_executor.testing import JobEnvironment
from jobstream_infra.settings import DatasetSettings

from ..faults.conftest import final_events
from ..support.datasets import PLUGINS, data_stack, kill_executor_after_first_commit
from ..support.s3 import S3Server

BUCKET = "datasets"
ROOT = f"s3://{BUCKET}/jobstream"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """One moto S3 server with one bucket for the module (each test writes under a prefix of
    its own); this process reaches it through the AWS variables."""
    with S3Server(tmp_path_factory.mktemp("s3")) as server, pytest.MonkeyPatch.context() as env:
        server.bucket(BUCKET)
        for name, value in server.env.items():
            env.setenv(name, value)
        yield server


def s3_data_stack(make_stack, s3: S3Server, root: str, **settings):
    """A data stack (not started) whose datasets root is ``root`` in the bucket."""
    stack = data_stack(make_stack, datasets_root=root, progress_interval=0.1, **settings)
    stack.env.update(s3.env)
    return stack


def start_executor_on(stack, host: Path) -> None:
    """An executor with its own data directory, as on a host of its own."""
    stack.start_component("executor", data_dir=host)


def local_ingest(tmp_path, start: str, end: str) -> xr.Dataset:
    """The demo dataset ingested in this process into a local directory: the reference."""
    template = load_template(PLUGINS / "datasets" / "demo.yaml")
    store = DatasetStore(template, str(tmp_path / "local" / template.id))
    ingest_periods(
        store, plugin_for(template), plan_ingest(template, start, end), job=JobEnvironment()
    )
    session = store.repo.readonly_session(branch="main")
    return xr.open_zarr(session.store, consolidated=False).load()


def test_ingest_sync_resample_and_estimate_on_s3_equal_the_same_work_on_local_files(s3, tmp_path):
    # The data processes in this process, as an executor runs them (the test below runs them
    # on executors, on two hosts): what they write to the bucket is what is compared here.
    root = f"{ROOT}/in-process"
    datasets = Datasets(load_templates(PLUGINS), root, Limits(10_000, 10**8, 10**10), 5.0)
    ingested = JobEnvironment(job_id="ingest", process_id="ingest")
    ingested.run(partial(ingest, datasets), dataset_id="demo", start="2020-01-01", end="2020-01-20")
    synced = JobEnvironment(job_id="sync", process_id="sync")
    result = synced.run(partial(sync, datasets), dataset_id="demo", end="2020-02-29")
    assert result["status"] == "synced" and result["periods"]["fetched"] == 40, result
    # The sync asks for the derived dataset's recomputation; run it as its job would.
    [(process_id, inputs)] = synced.submitted
    assert process_id == "resample"
    JobEnvironment(job_id="derived", process_id="resample").run(
        partial(resample, datasets), **inputs
    )

    settings = DatasetSettings(datasets_root=root)
    on_s3 = open_dataset("demo", settings).load()
    local = local_ingest(tmp_path, "2020-01-01", "2020-02-29")
    assert int(on_s3.committed.sum()) == 60
    xr.testing.assert_equal(on_s3.t2m, local.t2m)
    monthly = open_dataset("demo-monthly", settings).load()
    expected = local.t2m.resample(time="MS").mean()
    np.testing.assert_allclose(monthly.t2m.values, expected.values, rtol=1e-6)

    # The estimate reads what is stored, and the throughput of earlier jobs, from the bucket.
    figures = estimate(datasets, "demo", "2020-02-21", "2020-03-05")
    assert (figures["stored"], figures["to_fetch"], figures["bytes"]) == (9, 5, 5 * 32)
    assert figures["throughput_periods_per_second"] > 0

    # Everything is in the bucket, under the datasets root.
    keys = s3.keys(BUCKET, "jobstream/in-process/")
    assert {key.split("/")[2] for key in keys} == {"demo", "demo-monthly"}


def test_an_ingest_into_s3_whose_executor_is_killed_resumes_on_another_host(
    make_stack, s3, tmp_path
):
    root = f"{ROOT}/on-executors"
    stack = s3_data_stack(make_stack, s3, root, ack_wait=2, lease_ttl=2)
    stack.start("projector", "gateway", wait=False)
    start_executor_on(stack, tmp_path / "host-a")
    stack.wait_ready(("ingest",))
    inputs = {"start": "2020-01-01", "end": "2020-03-10"}  # 70 periods, 14 commits
    job_id = stack.submit("ingest", {"dataset_id": "demo", **inputs})
    killed_at = kill_executor_after_first_commit(stack, job_id, 70)

    start_executor_on(stack, tmp_path / "host-b")
    status = stack.wait_job(job_id, timeout=90)
    assert (status["status"], status["attempt"]) == ("successful", 2), status
    assert final_events(stack.events(job_id))[job_id] == 1
    result = stack.http.get(f"/jobs/{job_id}/results").json()
    assert result["periods"]["skipped"] >= killed_at
    # Ended equal, value for value, to an uninterrupted ingest into another prefix.
    twin = stack.submit("ingest", {"dataset_id": "demo-twin", **inputs})
    assert stack.wait_job(twin, timeout=60)["status"] == "successful"
    resumed = open_dataset("demo", DatasetSettings(datasets_root=root)).load()
    uninterrupted = open_dataset("demo-twin", DatasetSettings(datasets_root=root)).load()
    np.testing.assert_array_equal(resumed.t2m.values, uninterrupted.t2m.values)
    np.testing.assert_array_equal(resumed.time.values, uninterrupted.time.values)
    assert int(resumed.committed.sum()) == 70

    # Through the gateway, the executor's estimate reads what is stored from the bucket.
    query = {"dataset_id": "demo", "start": "2020-03-06", "end": "2020-03-15"}
    figures = stack.http.get("/processes/ingest/estimate", params=query).json()
    assert (figures["stored"], figures["to_fetch"], figures["bytes"]) == (5, 5, 5 * 32)
    assert figures["throughput_periods_per_second"] > 0
    # Everything is in the bucket; nothing of the datasets is on the executors' hosts.
    keys = s3.keys(BUCKET, "jobstream/on-executors/")
    assert {key.split("/")[2] for key in keys} == {"demo", "demo-twin"}
    assert not any((tmp_path / host / "datasets").exists() for host in ("host-a", "host-b"))


def fast_template() -> DatasetTemplate:
    """A synthetic source with no download time, so the store's speed is what is measured."""
    return DatasetTemplate.model_validate(
        {
            "id": "fast",
            "name": "Fast",
            "variable": "t2m",
            "units": "K",
            "period_type": "daily",
            "extent": {"bbox": [0.0, 50.0, 4.0, 52.0], "start": "2020-01-01"},
            "source": {"plugin": "synthetic", "params": {"resolution": 0.01, "seed": 3}},
        }
    )


def timed_ingest(location: str) -> tuple[float, xr.Dataset]:
    """Periods per second of a 60-day ingest into ``location``, and what it stored."""
    template = fast_template()
    store = DatasetStore(template, location)
    began = time.perf_counter()
    result = ingest_periods(
        store,
        plugin_for(template),
        plan_ingest(template, "2020-01-01", "2020-02-29"),
        job=JobEnvironment(),
    )
    elapsed = time.perf_counter() - began
    assert result["periods"]["fetched"] == 60
    session = store.repo.readonly_session(branch="main")
    return 60 / elapsed, xr.open_zarr(session.store, consolidated=False).load()


def test_ingest_rate_on_s3_against_local_files(s3, tmp_path):
    local_rate, local = timed_ingest(str(tmp_path / "fast"))
    s3_rate, on_s3 = timed_ingest(f"{ROOT}/fast")
    xr.testing.assert_equal(on_s3, local)
    print(f"\ningest periods/s (400x200 float32 cells): local {local_rate:.1f}, S3 {s3_rate:.1f}")


@pytest.mark.parametrize(
    "url,expected",
    [
        ("s3://bucket/a/b", ObjectLocation("s3", "bucket", "a/b")),
        ("s3://bucket", ObjectLocation("s3", "bucket", "")),
        ("gs://bucket/prefix/", ObjectLocation("gs", "bucket", "prefix")),
        ("az://container/prefix", ObjectLocation("az", "container", "prefix")),
        ("az://container@account/a/b", ObjectLocation("az", "container", "a/b", "account")),
        ("azure://container@account/p", ObjectLocation("azure", "container", "p", "account")),
        (
            "abfs://container@account.dfs.core.windows.net/p",
            ObjectLocation("abfs", "container", "p", "account"),
        ),
        (
            "abfss://container@account.blob.core.windows.net/p",
            ObjectLocation("abfss", "container", "p", "account"),
        ),
        ("/srv/data/datasets", "/srv/data/datasets"),
        ("file:///srv/data/datasets", "/srv/data/datasets"),
    ],
)
def test_a_location_is_parsed_into_container_prefix_and_account(url, expected):
    assert parse_location(url) == expected


def test_an_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="no Icechunk storage for 'ftp://host/x'"):
        parse_location("ftp://host/x")


def test_an_azure_container_without_an_account_asks_for_one(monkeypatch):
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME", raising=False)
    with pytest.raises(ValueError, match="container@account"):
        storage_for("az://container/prefix")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "account")
    assert "account=account, container=container, prefix=prefix" in repr(
        storage_for("az://container/prefix")
    )
