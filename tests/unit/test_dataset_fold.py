"""The dataset fold: a record of what a repository holds, from its commit events alone."""

from jobstream_contracts.dataset_fold import JOBS_KEPT, apply_commit, fold_commits
from jobstream_contracts.events import DatasetCommitted, JobProgressed, SnapshotRef


def _commit(job: str, snapshot: str, coverage, stored: int, **extra) -> DatasetCommitted:
    return DatasetCommitted(
        job_id=job,
        process_id="ingest",
        dataset_id="d",
        store="/s",
        snapshot_id=snapshot,
        first=coverage[-1][0],
        last=coverage[-1][1],
        count=1,
        coverage=coverage,
        stored=stored,
        process_version="1",
        **extra,
    )


def test_the_newest_commit_describes_the_dataset():
    events = [
        _commit("a", "S1", [("2020-01-01", "2020-01-10")], 10),
        JobProgressed(job_id="a", process_id="ingest", done=1),
        _commit("b", "S2", [("2020-01-01", "2020-01-10"), ("2020-02-01", "2020-02-05")], 15),
    ]
    state = fold_commits(events)
    assert state is not None
    assert (state.snapshot_id, state.stored, state.first, state.last) == (
        "S2",
        15,
        "2020-01-01",
        "2020-02-05",
    )
    assert state.jobs == ["a", "b"] and state.last_job == "b"


def test_a_commit_applied_twice_changes_nothing():
    commit = _commit("a", "S1", [("2020-01-01", "2020-01-10")], 10)
    once = apply_commit(None, commit)
    assert apply_commit(once, commit) == once


def test_a_job_that_commits_again_moves_to_the_end_and_old_jobs_fall_off():
    state = None
    for n in range(JOBS_KEPT + 5):
        state = apply_commit(state, _commit(f"j{n}", f"S{n}", [("2020", "2020")], 1))
    state = apply_commit(state, _commit("j10", "S-last", [("2020", "2020")], 1))
    assert len(state.jobs) == JOBS_KEPT and state.jobs[-1] == "j10"
    assert state.jobs.count("j10") == 1 and "j0" not in state.jobs


def test_a_derived_commit_names_its_source_snapshot():
    source = SnapshotRef(dataset_id="src", snapshot_id="X")
    state = apply_commit(None, _commit("a", "S1", [("2020-01", "2020-03")], 3, source=source))
    assert state.source == source


def test_no_commit_no_record():
    assert fold_commits([JobProgressed(job_id="a", process_id="ingest", done=1)]) is None
