"""What a rerun repeats, and what its provenance says, worked out from events alone."""

import pytest

from jobstream_contracts.dataset_fold import fold_commits
from jobstream_contracts.events import (
    ErrorInfo,
    JobCreated,
    JobFailed,
    JobSubmitted,
    SnapshotRef,
    rerun_branch,
)
from jobstream_contracts.provenance import job_provenance
from jobstream_contracts.reruns import NotReproducible, rerun_plan

from .test_provenance import BASE, at, commit, relations, resample_job


def test_a_resample_is_rerun_at_its_version_with_its_inputs_and_the_snapshot_it_read():
    plan = rerun_plan(resample_job(inputs={"source_dataset_id": "daily", "method": "mean"}))
    assert plan.version == "1.0.0"
    assert plan.original.inputs == {"source_dataset_id": "daily", "method": "mean"}
    assert plan.pinned_snapshots == {"daily": "S1"}


def test_a_job_that_did_not_succeed_is_refused_saying_its_status():
    events = resample_job()[:-1]
    error = ErrorInfo(type="x", detail="")
    events.append(JobFailed(job_id="r1", process_id="resample", error=error))
    with pytest.raises(NotReproducible, match="job r1 is failed: only a successful job"):
        rerun_plan(events)


def test_a_job_created_and_never_started_is_refused_saying_so():
    created = JobCreated(job_id="c1", process_id="resample", owner="ana", inputs={})
    with pytest.raises(NotReproducible, match="job c1 was created and never started"):
        rerun_plan([created])


def test_an_ingest_is_refused_its_provider_keeps_no_past():
    events = resample_job()
    events[3] = commit("r1", "daily", "S2")  # fetched from outside: no source snapshot
    with pytest.raises(NotReproducible, match="fetched dataset daily from outside"):
        rerun_plan(events)


def test_a_job_that_read_a_dataset_at_two_snapshots_is_refused_naming_both():
    events = resample_job()
    moved_on = commit("r1", "monthly", "M2", SnapshotRef(dataset_id="daily", snapshot_id="S9"))
    events.insert(4, moved_on)
    with pytest.raises(NotReproducible, match=r"at two snapshots \(S1 and S9"):
        rerun_plan(events)


def test_a_job_from_before_versions_were_kept_is_refused():
    events = resample_job()
    events[0] = JobSubmitted(job_id="r1", process_id="echo", time=at(0))
    events[3] = commit("r1", "monthly", "M1", SnapshotRef(dataset_id="daily", snapshot_id="S1"))
    # Its commit says the version, so it is known after all.
    assert rerun_plan(events).version == "1.0.0"
    with pytest.raises(NotReproducible, match="recorded no version of process echo"):
        rerun_plan([events[0], events[-1]])


def test_a_reruns_provenance_names_the_original_and_the_snapshots_it_was_pinned_to():
    events = resample_job(rerun_of="r0", pinned_snapshots={"daily": "S1"})
    events[3] = commit(
        "r1",
        "monthly",
        "M1",
        SnapshotRef(dataset_id="daily", snapshot_id="S1"),
        branch=rerun_branch("r1"),
    )
    document = job_provenance(events, BASE)
    assert document["activity"]["job:r1"]["jobstream:rerunOf"]["$"] == "job:r0"
    assert relations(document, "wasInformedBy") == [
        {"prov:informed": "job:r1", "prov:informant": "job:r0"}
    ]
    pinned = "dataset:daily/snapshots/S1"
    assert relations(document, "used") == [{"prov:activity": "job:r1", "prov:entity": pinned}]
    written = document["entity"]["dataset:monthly/snapshots/M1"]
    assert written["jobstream:branch"] == "rerun-r1"
    # A commit to the dataset itself names no branch.
    plain = job_provenance(resample_job(), BASE)["entity"]["dataset:monthly/snapshots/M1"]
    assert "jobstream:branch" not in plain


def test_a_reruns_commit_on_its_branch_leaves_the_datasets_record_as_it_was():
    source = SnapshotRef(dataset_id="daily", snapshot_id="S1")
    current = commit("r0", "monthly", "M1", source)
    rerun = commit("r1", "monthly", "M9", source, branch=rerun_branch("r1"))
    state = fold_commits([current, rerun])
    assert state is not None
    assert (state.snapshot_id, state.jobs) == ("M1", ["r0"])
