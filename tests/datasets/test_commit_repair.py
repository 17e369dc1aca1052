"""An attempt killed between its Icechunk commit and the commit's record leaves the dataset's
record behind its repository; the retry, finding every period stored, records that commit
again, so /datasets does not stay stale for good."""

import pytest

from jobstream_contracts.dataset_fold import fold_commits
from jobstream_contracts.events import DatasetCommitted
from jobstream_datasets.ingest import ingest_periods
from jobstream_datasets.limits import plan_ingest
from jobstream_datasets.plugin import plugin_for
from jobstream_datasets.store import DatasetStore
from jobstream_executor.testing import JobEnvironment

from .test_ingest import synthetic


class Killed(BaseException):
    """The executor's process dying: nothing after it runs."""


class KilledAtItsLastRecord(JobEnvironment):
    """An attempt whose process dies right after the repository took its last commit."""

    def __init__(self, commits_before_dying: int) -> None:
        super().__init__(job_id="job-1", attempt=1)
        self.commits_before_dying = commits_before_dying

    def record(self, kind, **fields) -> None:
        if kind is DatasetCommitted and len(self.records) == self.commits_before_dying:
            raise Killed
        super().record(kind, **fields)


def test_the_retry_of_an_attempt_killed_before_recording_its_commit_records_it(tmp_path):
    template = synthetic()  # commits in batches of 4: ten days are three commits
    store = DatasetStore(template, str(tmp_path / "demo"))
    plan = plan_ingest(template, "2020-01-01", "2020-01-10")
    first_attempt = KilledAtItsLastRecord(commits_before_dying=2)
    with pytest.raises(Killed):
        ingest_periods(store, plugin_for(template), plan, job=first_attempt)
    newest = store.read().snapshot_id
    recorded_before = [
        c.snapshot_id for c in first_attempt.records if isinstance(c, DatasetCommitted)
    ]
    assert len(recorded_before) == 2 and newest not in recorded_before  # the record is behind

    retry = JobEnvironment(job_id="job-1", attempt=2)
    result = ingest_periods(store, plugin_for(template), plan, job=retry)

    assert result["periods"]["fetched"] == 0
    (recorded,) = retry.records
    assert isinstance(recorded, DatasetCommitted)
    assert (recorded.snapshot_id, recorded.first, recorded.last) == (
        newest,
        "2020-01-09",
        "2020-01-10",
    )
    dataset = fold_commits([*first_attempt.records, recorded])
    assert dataset is not None and dataset.coverage == [("2020-01-01", "2020-01-10")]


def test_another_jobs_ingest_of_stored_periods_records_nothing(tmp_path):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "demo"))
    plan = plan_ingest(template, "2020-01-01", "2020-01-04")
    ingest_periods(store, plugin_for(template), plan, job=JobEnvironment(job_id="job-1"))

    later = JobEnvironment(job_id="job-2")
    ingest_periods(store, plugin_for(template), plan, job=later)

    assert later.records == []
