"""Reruns on the package's data stack: an ingest, a resample, more ingest, then a rerun of the
resample that equals the original value for value; and the reruns refused, saying why."""

import asyncio
from datetime import UTC, datetime

import nats
import xarray as xr

from jobstream_contracts.events import Event, JobSubmitted, JobSucceeded
from jobstream_contracts.ogc import ExceptionType
from jobstream_contracts.subjects import STREAM

from ..support.datasets import repository

NOT_REPRODUCIBLE = ExceptionType.NOT_REPRODUCIBLE.value


def succeeded(stack, process: str, inputs: dict) -> str:
    job_id = stack.submit(process, inputs)
    assert stack.wait_job(job_id, timeout=60)["status"] == "successful"
    return job_id


def ingested(stack, dataset_id: str, start: str, end: str) -> str:
    return succeeded(stack, "ingest", {"dataset_id": dataset_id, "start": start, "end": end})


def resampled(stack, dataset_id: str) -> str:
    inputs = {"source_dataset_id": dataset_id, "frequency": "MS", "method": "mean"}
    return succeeded(stack, "resample", inputs)


def result(stack, job_id: str) -> dict:
    return stack.http.get(f"/jobs/{job_id}/results").json()


def snapshot(stack, dataset_id: str, snapshot_id: str) -> xr.Dataset:
    session = repository(stack, dataset_id).readonly_session(snapshot_id=snapshot_id)
    return xr.open_zarr(session.store, consolidated=False).load()


def refusal(stack, job_id: str, status: int = 409) -> str:
    response = stack.http.post(f"/jobs/{job_id}/rerun")
    assert response.status_code == status, response.text
    if status == 409:
        assert response.json()["type"] == NOT_REPRODUCIBLE
    return response.json()["detail"]


def test_a_rerun_after_more_ingest_equals_the_original_not_a_fresh_resample(shared_data_stack):
    stack = shared_data_stack
    ingested(stack, "reproduced", "2020-01-01", "2020-01-31")
    original = resampled(stack, "reproduced")
    ingested(stack, "reproduced", "2020-02-01", "2020-02-29")
    fresh = resampled(stack, "reproduced")

    response = stack.http.post(f"/jobs/{original}/rerun")
    assert response.status_code == 201, response.text
    rerun = response.json()["jobID"]
    assert response.headers["Location"].endswith(f"/jobs/{rerun}")
    assert stack.wait_job(rerun, timeout=60)["status"] == "successful"

    before, again, now = result(stack, original), result(stack, rerun), result(stack, fresh)
    assert again["source_snapshot_id"] == before["source_snapshot_id"]
    assert (again["first"], again["last"]) == (before["first"], before["last"]) == ("2020-01",) * 2
    assert again["branch"] == f"rerun-{rerun}"
    derived = "reproduced-mean-MS"
    reproduced = snapshot(stack, derived, again["snapshot_id"])
    xr.testing.assert_identical(reproduced, snapshot(stack, derived, before["snapshot_id"]))
    recomputed = snapshot(stack, derived, now["snapshot_id"])
    assert recomputed.sizes["time"] == 2 and reproduced.sizes["time"] == 1
    assert not recomputed.t2m.equals(reproduced.t2m)
    # The dataset is still what the fresh resample made of it.
    record = stack.http.get(f"/datasets/{derived}").json()
    assert record["stored"]["snapshot_id"] == now["snapshot_id"]
    assert record["derived"]["stale"] is False

    document = stack.http.get(f"/jobs/{rerun}/prov").json()
    activity = document["activity"][f"job:{rerun}"]
    assert activity["jobstream:rerunOf"]["$"] == f"job:{original}"
    read = f"dataset:reproduced/snapshots/{before['source_snapshot_id']}"
    assert {u["prov:entity"] for u in document["used"].values()} == {read}
    written = document["entity"][f"dataset:{derived}/snapshots/{again['snapshot_id']}"]
    assert written["jobstream:branch"] == f"rerun-{rerun}"


def test_a_rerun_whose_source_snapshot_was_expired_is_refused(shared_data_stack):
    stack = shared_data_stack
    ingested(stack, "expired", "2020-01-01", "2020-01-31")
    original = resampled(stack, "expired")
    ingested(stack, "expired", "2020-02-01", "2020-02-29")
    # What an operator reclaiming space does: every snapshot but the newest expired, and
    # collected. The one the resample read goes with them.
    source = repository(stack, "expired")
    now = datetime.now(UTC)
    source.expire_snapshots(older_than=now)
    source.garbage_collect(now)
    read = result(stack, original)["source_snapshot_id"]
    before = len(stack.events())
    assert f"snapshot {read} of dataset expired is no longer in its repository" in refusal(
        stack, original
    )
    assert len(stack.events()) == before


async def recorded(nats_url: str, *events: Event) -> None:
    nc = await nats.connect(nats_url)
    try:
        for event in events:
            await nc.jetstream().publish(event.subject, event.encode(), stream=STREAM)
    finally:
        await nc.close()


def test_reruns_that_could_not_reproduce_the_original_are_refused_saying_why(shared_data_stack):
    stack = shared_data_stack
    assert refusal(stack, "no-such-job", 404) == "no job with id 'no-such-job'"
    ingest = ingested(stack, "unrepeatable", "2020-01-01", "2020-01-02")
    assert "fetched dataset unrepeatable from outside" in refusal(stack, ingest)
    refused = stack.submit("refuse", {"message": "no"})
    assert stack.wait_job(refused, timeout=60)["status"] == "failed"
    assert f"job {refused} is failed: only a successful job" in refusal(stack, refused)

    # A job run by an older version of spin, as the record of a job from before an upgrade.
    current = stack.http.get("/processes/spin").json()["version"]
    older = JobSubmitted(
        job_id="spun-by-an-older-spin", process_id="spin", process_version="0.9", inputs={"n": 1}
    )
    done = JobSucceeded(job_id=older.job_id, process_id="spin")
    asyncio.run(recorded(stack.nats_url, older, done))
    assert refusal(stack, older.job_id) == (
        f"process spin is at version {current} now; job {older.job_id} ran version 0.9, "
        "and a rerun runs the same one"
    )
