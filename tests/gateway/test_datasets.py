"""Datasets as the view stores them, and their quick-looks from the object store."""

import uuid
from collections.abc import AsyncIterator

import pytest
from nats.js.api import ObjectMeta

from jobstream_contracts.events import DatasetCommitted
from jobstream_contracts.subjects import QUICKLOOK_BUCKET
from jobstream_gateway.nats_parts import QuickLooks

from ..support.inprocess import BASE_URL, Gateway, serving, view_engine
from .ogc import exception_of

NO_SUCH_DATASET = "https://jobstream.dev/errors/no-such-dataset"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def committed(dataset_id: str, job_id: str) -> DatasetCommitted:
    return DatasetCommitted(
        job_id=job_id,
        process_id="ingest",
        dataset_id=dataset_id,
        store=f"memory://{dataset_id}",
        snapshot_id="snap-1",
        first="2026-01-01",
        last="2026-01-03",
        count=3,
        coverage=[("2026-01-01", "2026-01-03")],
        stored=3,
        process_version="1",
    )


@pytest.fixture
async def with_quicklooks(settings, journal, nats_connection, tmp_path) -> AsyncIterator[Gateway]:
    store = QuickLooks(nats_connection.jetstream())
    async with serving(settings, journal, view_engine(tmp_path), quicklooks=store) as gateway:
        yield gateway


async def test_a_stored_dataset_is_listed_and_described_with_its_jobs(gateway):
    dataset_id = f"ds-{uuid.uuid4().hex[:8]}"
    await gateway.append(committed(dataset_id, "job-a"))
    await gateway.project()
    listed = (await gateway.http.get("/datasets")).json()
    assert [record["id"] for record in listed["datasets"]] == [dataset_id]
    record = (await gateway.http.get(f"/datasets/{dataset_id}")).json()
    assert record["stored"]["periods"] == 3
    assert record["stored"]["coverage"] == [["2026-01-01", "2026-01-03"]]
    assert record["stored"]["snapshot_id"] == "snap-1"
    related = [link["href"] for link in record["links"] if link["rel"] == "related"]
    assert related == [f"{BASE_URL}/jobs/job-a"]


async def test_an_unknown_dataset_is_404(gateway):
    answer = await gateway.http.get("/datasets/nothing")
    assert exception_of(answer, 404)["type"] == NO_SUCH_DATASET


async def test_without_an_object_store_there_is_no_quicklook(gateway):
    for path in ("/datasets/any/quicklook", "/datasets/any/quicklook.png"):
        assert exception_of(await gateway.http.get(path), 404)["type"] == NO_SUCH_DATASET


async def test_a_quicklook_is_served_as_its_data_job_stored_it(with_quicklooks, nats_connection):
    dataset_id = f"ds-{uuid.uuid4().hex[:8]}"
    store = await nats_connection.jetstream().create_object_store(QUICKLOOK_BUCKET)
    await store.put(dataset_id, PNG, meta=ObjectMeta(name=dataset_id, description="2026-01-03"))
    described = (await with_quicklooks.http.get(f"/datasets/{dataset_id}/quicklook")).json()
    assert described["period"] == "2026-01-03" and described["bytes"] == len(PNG)
    href = described["links"][0]["href"]
    assert href == f"{BASE_URL}/datasets/{dataset_id}/quicklook.png"
    picture = await with_quicklooks.http.get(href)
    assert picture.status_code == 200 and picture.content == PNG
    assert picture.headers["content-type"] == "image/png"
    assert picture.headers["cache-control"] == "no-cache"
    missing = await with_quicklooks.http.get("/datasets/never-drawn/quicklook.png")
    assert exception_of(missing, 404)["type"] == NO_SUCH_DATASET
