"""Provenance documents folded from events alone: no broker, no view."""

from datetime import UTC, datetime, timedelta

from jobstream_contracts.events import (
    DatasetCommitted,
    ErrorInfo,
    FiringRef,
    JobFailed,
    JobProgressed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
    SnapshotRef,
)
from jobstream_contracts.provenance import dataset_provenance, job_provenance

BASE = "https://jobs.example"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def commit(job: str, dataset: str, snapshot: str, source: SnapshotRef | None = None, **extra):
    return DatasetCommitted(
        job_id=job,
        process_id="resample" if source else "ingest",
        dataset_id=dataset,
        store=f"/data/{dataset}",
        snapshot_id=snapshot,
        first="2020-01-01",
        last="2020-01-31",
        count=31,
        coverage=[("2020-01-01", "2020-01-31")],
        stored=31,
        process_version="1.0.0",
        source=source,
        time=extra.pop("time", at(5)),
        **extra,
    )


def resample_job(**submitted) -> list:
    source = SnapshotRef(dataset_id="daily", snapshot_id="S1")
    return [
        JobSubmitted(
            job_id="r1", process_id="resample", process_version="1.0.0", time=at(0), **submitted
        ),
        JobStarted(job_id="r1", process_id="resample", executor="ex-a", attempt=1, time=at(1)),
        JobProgressed(job_id="r1", process_id="resample", done=1, attempt=1, time=at(2)),
        commit("r1", "monthly", "M1", source, attempt=1),
        JobSucceeded(job_id="r1", process_id="resample", attempt=1, time=at(9)),
    ]


def relations(document: dict, kind: str) -> list[dict]:
    return list(document.get(kind, {}).values())


def test_the_job_is_an_activity_with_its_start_end_and_status():
    document = job_provenance(resample_job(owner="alice"), BASE)
    assert document["prefix"]["job"] == f"{BASE}/jobs/"
    job = document["activity"]["job:r1"]
    assert job["prov:startTime"] == at(1).isoformat()
    assert job["prov:endTime"] == at(9).isoformat()
    assert job["jobstream:status"] == "successful"
    assert job["jobstream:processVersion"] == "1.0.0"


def test_the_process_version_is_the_plan_of_every_association():
    document = job_provenance(resample_job(owner="alice"), BASE)
    plan = document["entity"]["process:resample/versions/1.0.0"]
    assert plan["prov:type"]["$"] == "prov:Plan"
    assert plan["jobstream:version"] == "1.0.0"
    associations = relations(document, "wasAssociatedWith")
    assert {a["prov:agent"] for a in associations} == {"principal:alice", "executor:ex-a"}
    assert {a["prov:plan"] for a in associations} == {"process:resample/versions/1.0.0"}
    assert document["agent"]["principal:alice"]["prov:type"]["$"] == "prov:Person"


def test_the_committed_snapshot_was_generated_by_the_job_from_the_source_it_used():
    document = job_provenance(resample_job(), BASE)
    made, read = "dataset:monthly/snapshots/M1", "dataset:daily/snapshots/S1"
    snapshot = document["entity"][made]
    assert (snapshot["jobstream:first"], snapshot["jobstream:last"]) == ("2020-01-01", "2020-01-31")
    assert relations(document, "wasGeneratedBy") == [
        {"prov:entity": made, "prov:activity": "job:r1", "prov:time": at(5).isoformat()}
    ]
    assert relations(document, "used") == [{"prov:activity": "job:r1", "prov:entity": read}]
    assert relations(document, "wasDerivedFrom") == [
        {"prov:generatedEntity": made, "prov:usedEntity": read, "prov:activity": "job:r1"}
    ]


def test_a_scheduled_job_was_started_by_its_firing_and_associated_with_its_schedule():
    firing = FiringRef(schedule_id="nightly", instant=at(-1), cause="catch-up")
    document = job_provenance(resample_job(owner="ops", fired_by=firing), BASE)
    trigger = f"schedule:nightly/firings/{at(-1).isoformat()}"
    assert document["entity"][trigger]["jobstream:cause"] == "catch-up"
    assert relations(document, "wasStartedBy") == [
        {"prov:activity": "job:r1", "prov:trigger": trigger, "prov:time": at(-1).isoformat()}
    ]
    agents = {a["prov:agent"] for a in relations(document, "wasAssociatedWith")}
    assert {"schedule:nightly", "principal:ops"} <= agents


def test_a_caused_job_was_started_by_the_job_that_submitted_it():
    document = job_provenance(resample_job(caused_by="s1"), BASE)
    assert relations(document, "wasStartedBy") == [
        {"prov:activity": "job:r1", "prov:starter": "job:s1", "prov:time": at(0).isoformat()}
    ]
    assert "job:s1" in document["agent"] and "job:s1" in document["activity"]


def test_a_job_from_before_versions_were_kept_takes_its_commits_version():
    events = [
        JobSubmitted(job_id="i1", process_id="ingest", time=at(0)),
        commit("i1", "daily", "S1"),
    ]
    document = job_provenance(events, BASE)
    assert "process:ingest/versions/1.0.0" in document["entity"]


def test_a_failed_job_that_never_started_has_no_start_and_generated_nothing():
    events = [
        JobSubmitted(job_id="f1", process_id="ingest", time=at(0)),
        JobFailed(
            job_id="f1", process_id="ingest", error=ErrorInfo(type="x", detail="y"), time=at(3)
        ),
    ]
    document = job_provenance(events, BASE)
    job = document["activity"]["job:f1"]
    assert "prov:startTime" not in job and job["jobstream:status"] == "failed"
    assert "wasGeneratedBy" not in document
    assert "process:ingest/versions/unknown" in document["entity"]


def test_a_dataset_lineage_follows_each_snapshot_to_its_source():
    commits = [
        commit("i1", "daily", "S1", time=at(1)),
        commit("i2", "daily", "S2", time=at(2)),
        commit("r1", "monthly", "M1", SnapshotRef(dataset_id="daily", snapshot_id="S1")),
        commit("r2", "monthly", "M2", SnapshotRef(dataset_id="daily", snapshot_id="S2")),
    ]
    document = dataset_provenance(commits, BASE)
    derived = {
        (d["prov:generatedEntity"], d["prov:usedEntity"])
        for d in relations(document, "wasDerivedFrom")
    }
    assert derived == {
        ("dataset:monthly/snapshots/M1", "dataset:daily/snapshots/S1"),
        ("dataset:monthly/snapshots/M2", "dataset:daily/snapshots/S2"),
    }
    generated = {
        (g["prov:entity"], g["prov:activity"]) for g in relations(document, "wasGeneratedBy")
    }
    assert ("dataset:daily/snapshots/S1", "job:i1") in generated
    assert ("dataset:monthly/snapshots/M2", "job:r2") in generated
    plans = {(a["prov:activity"], a["prov:plan"]) for a in relations(document, "wasAssociatedWith")}
    assert ("job:r1", "process:resample/versions/1.0.0") in plans
    # A snapshot's record is one entity, however many relations name it.
    assert document["entity"]["dataset:daily/snapshots/S1"]["jobstream:periods"] == 31
