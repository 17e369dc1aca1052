"""Provenance and inputs of jobs and datasets, served in-process from a real stream."""

import uuid
from collections.abc import AsyncIterator

import pytest

from jobstream_contracts.access import Role
from jobstream_contracts.events import DatasetCommitted, JobSubmitted, SnapshotRef

from ..support.inprocess import BASE_URL, Gateway, keyed_identity, serving, view_engine
from .ogc import exception_of

SECRET = "hunter2"


def committed(job_id: str, dataset_id: str, snapshot: str, source=None) -> DatasetCommitted:
    return DatasetCommitted(
        job_id=job_id,
        process_id="resample" if source else "ingest",
        dataset_id=dataset_id,
        store=f"memory://{dataset_id}",
        snapshot_id=snapshot,
        first="2026-01-01",
        last="2026-01-03",
        count=3,
        coverage=[("2026-01-01", "2026-01-03")],
        stored=3,
        process_version="1.0.0",
        source=source,
    )


@pytest.fixture
async def keyed(settings, journal, tmp_path) -> AsyncIterator[tuple[Gateway, dict]]:
    identity, keys = keyed_identity(
        {"alice": Role.SUBMITTER, "bob": Role.SUBMITTER, "auditor": Role.AUDITOR}
    )
    with_keys = settings.model_copy(update={"auth": "apikey"})
    async with serving(with_keys, journal, view_engine(tmp_path), identity) as gateway:
        yield gateway, {name: {"Authorization": f"Bearer {key}"} for name, key in keys.items()}


async def test_a_submission_records_the_version_its_process_is_described_at(gateway):
    version = (await gateway.http.get("/processes/echo")).json()["version"]
    job_id = await gateway.submit("echo", {"message": "hi"})
    submitted = (await gateway.journal.read(job_id, limit=1))[0].event
    assert isinstance(submitted, JobSubmitted) and submitted.process_version == version


async def test_a_jobs_prov_names_the_job_its_process_version_and_owner(gateway):
    version = (await gateway.http.get("/processes/echo")).json()["version"]
    job_id = await gateway.submit("echo", {"message": "hi"})
    await gateway.run(job_id, {"echo": "hi"})
    answer = await gateway.http.get(f"/jobs/{job_id}/prov")
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["prefix"]["job"] == f"{BASE_URL}/jobs/"
    job = document["activity"][f"job:{job_id}"]
    assert job["jobstream:status"] == "successful" and "prov:startTime" in job
    plan = f"process:echo/versions/{version}"
    assert document["entity"][plan]["prov:type"]["$"] == "prov:Plan"
    associations = list(document["wasAssociatedWith"].values())
    assert {a["prov:agent"] for a in associations} >= {"executor:test"}
    assert {a["prov:plan"] for a in associations} == {plan}


async def test_a_data_jobs_prov_names_what_it_read_and_committed(gateway):
    job_id = f"resample-{uuid.uuid4().hex[:8]}"
    source = SnapshotRef(dataset_id="daily", snapshot_id="S1")
    await gateway.append(
        JobSubmitted(job_id=job_id, process_id="resample", process_version="1.0.0"),
        committed(job_id, "monthly", "M1", source),
    )
    document = (await gateway.http.get(f"/jobs/{job_id}/prov")).json()
    assert list(document["used"].values()) == [
        {"prov:activity": f"job:{job_id}", "prov:entity": "dataset:daily/snapshots/S1"}
    ]
    generated = list(document["wasGeneratedBy"].values())
    assert [g["prov:entity"] for g in generated] == ["dataset:monthly/snapshots/M1"]


async def test_the_inputs_are_those_submitted_with_url_secrets_stripped(gateway):
    message = f"fetch https://reader:{SECRET}@data.example/files?token={SECRET}"
    job_id = await gateway.submit("echo", {"message": message})
    answer = await gateway.http.get(f"/jobs/{job_id}/inputs")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["inputs"] == {"message": "fetch https://data.example/files"}
    assert SECRET not in answer.text


async def test_an_unknown_job_has_no_prov_or_inputs(gateway):
    for resource in ("prov", "inputs"):
        assert exception_of(await gateway.http.get(f"/jobs/nothing/{resource}"), 404)


async def test_a_jobs_prov_and_inputs_are_for_whoever_may_read_it(keyed):
    gateway, keys = keyed
    answer = await gateway.http.post(
        "/processes/echo/execution",
        json={"inputs": {"message": "mine"}},
        headers={"Prefer": "respond-async", **keys["alice"]},
    )
    job_id = answer.json()["jobID"]
    for resource in ("prov", "inputs"):
        url = f"/jobs/{job_id}/{resource}"
        assert (await gateway.http.get(url, headers=keys["alice"])).status_code == 200
        assert (await gateway.http.get(url, headers=keys["auditor"])).status_code == 200
        assert exception_of(await gateway.http.get(url, headers=keys["bob"]), 404)
    document = (await gateway.http.get(f"/jobs/{job_id}/prov", headers=keys["alice"])).json()
    assert document["agent"]["principal:key:alice"]["prov:type"]["$"] == "prov:Person"


async def test_a_datasets_prov_follows_its_lineage_to_the_source(gateway):
    tag = uuid.uuid4().hex[:8]
    daily, monthly = f"daily-{tag}", f"monthly-{tag}"
    ingest, resample = f"ingest-{tag}", f"resample-{tag}"
    await gateway.append(
        JobSubmitted(job_id=ingest, process_id="ingest"),
        committed(ingest, daily, "S1"),
        JobSubmitted(job_id=resample, process_id="resample"),
        committed(resample, monthly, "M1", SnapshotRef(dataset_id=daily, snapshot_id="S1")),
    )
    await gateway.project()
    answer = await gateway.http.get(f"/datasets/{monthly}/prov")
    assert answer.status_code == 200, answer.text
    document = answer.json()
    made, read = f"dataset:{monthly}/snapshots/M1", f"dataset:{daily}/snapshots/S1"
    assert list(document["wasDerivedFrom"].values()) == [
        {"prov:generatedEntity": made, "prov:usedEntity": read, "prov:activity": f"job:{resample}"}
    ]
    generations = {
        (g["prov:entity"], g["prov:activity"]) for g in document["wasGeneratedBy"].values()
    }
    assert generations == {(made, f"job:{resample}"), (read, f"job:{ingest}")}


async def test_an_unwritten_dataset_has_no_prov(gateway):
    assert exception_of(await gateway.http.get("/datasets/nothing/prov"), 404)
