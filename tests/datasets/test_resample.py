"""Resample against an independent xarray computation on the same stored data."""

import numpy as np
import pandas as pd
import pytest

from jobstream_contracts.events import DatasetCommitted, SnapshotRef
from jobstream_contracts.process import PermanentError, SnapshotGone
from jobstream_datasets.ingest import ingest_periods
from jobstream_datasets.limits import plan_ingest
from jobstream_datasets.plugin import plugin_for
from jobstream_datasets.resample import Resampling, derived_template, resample_dataset
from jobstream_datasets.store import DatasetStore
from jobstream_executor.testing import JobEnvironment

from .test_ingest import opened, synthetic


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """Daily data from 2020-01-03 to 2020-03-10: January and March are incomplete.

    One ingest for the module: the tests only read it, each resampling into its own folder."""
    template = synthetic()
    store = DatasetStore(template, str(tmp_path_factory.mktemp("source") / "daily"))
    ingest_periods(
        store,
        plugin_for(template),
        plan_ingest(template, "2020-01-03", "2020-03-10"),
        job=JobEnvironment(),
    )
    return template, store


def derive(tmp_path, source, frequency, method, **kwargs):
    template, store = source
    target = derived_template(template, f"demo-{method}-{frequency}", frequency, method)
    target_store = DatasetStore(target, str(tmp_path / target.id))
    result = resample_dataset(
        Resampling(store, target_store, frequency, method, **kwargs), job=JobEnvironment()
    )
    return result, opened(target_store)


@pytest.mark.parametrize("method", ["mean", "sum", "min", "max"])
def test_monthly_resampling_equals_xarray_on_the_complete_months(tmp_path, source, method):
    result, derived = derive(tmp_path, source, "MS", method)
    assert (result["first"], result["last"], result["computed"]) == ("2020-02", "2020-02", 1)
    assert [d["period"] for d in result["dropped"]] == ["2020-01", "2020-03"]
    assert result["dropped"][0] == {"period": "2020-01", "stored": 29, "needed": 31}

    daily = opened(source[1]).t2m
    expected = getattr(daily.resample(time="MS", closed="left", label="left"), method)()
    february = derived.t2m.sel(time="2020-02-01")
    np.testing.assert_allclose(february.values, expected.sel(time="2020-02-01").values, rtol=1e-6)
    assert derived.committed.values.tolist() == [0, 1]  # January exists on the axis, empty


def test_weekly_resampling_uses_iso_weeks_labelled_by_their_monday(tmp_path, source):
    result, derived = derive(tmp_path, source, "W-MON", "mean")
    daily = opened(source[1]).t2m
    expected = daily.resample(time="W-MON", closed="left", label="left").mean()
    # 2020-01-06 is the first Monday with a whole week stored; 2020-03-02 the last.
    assert (result["first"], result["last"]) == ("2020-01-06", "2020-03-02")
    weeks = derived.t2m.where(derived.committed == 1, drop=True)
    assert list(weeks.time.values) == list(pd.date_range("2020-01-06", "2020-03-02", freq="7D"))
    np.testing.assert_allclose(weeks.values, expected.sel(time=weeks.time).values, rtol=1e-6)


def test_a_gap_in_the_source_drops_the_periods_it_touches(tmp_path):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "daily"))
    ingest_periods(
        store,
        plugin_for(template),
        plan_ingest(template, "2020-01-01", "2020-01-31"),
        job=JobEnvironment(),
    )
    ingest_periods(
        store,
        plugin_for(template),
        plan_ingest(template, "2020-02-02", "2020-03-31"),
        job=JobEnvironment(),
    )
    result, derived = derive(tmp_path, (template, store), "MS", "sum")
    assert [d["period"] for d in result["dropped"]] == ["2020-02"]
    assert derived.committed.values.tolist() == [1, 0, 1]


def test_resampling_records_the_source_snapshot_in_each_commit(tmp_path, source):
    template, store = source
    target = derived_template(template, "demo-mean-MS", "MS", "mean")
    target_store = DatasetStore(target, str(tmp_path / target.id))
    result = resample_dataset(Resampling(store, target_store, "MS", "mean"), job=JobEnvironment())
    assert result["source_snapshot_id"] == store.read().snapshot_id
    newest = next(iter(target_store.repo.ancestry(branch="main")))
    assert newest.metadata["source_snapshot_id"] == result["source_snapshot_id"]


@pytest.mark.parametrize(
    "frequency,method,complaint",
    [
        ("D", "mean", "not coarser"),
        ("MS", "median", "method 'median'"),
        ("2MS", "mean", "frequency: '2MS'"),
    ],
)
def test_an_impossible_resampling_is_a_permanent_error(
    tmp_path, source, frequency, method, complaint
):
    template, store = source
    target = derived_template(template, "out", "MS", "mean")
    with pytest.raises(PermanentError, match=complaint):
        resample_dataset(
            Resampling(store, DatasetStore(target, str(tmp_path / "out")), frequency, method),
            job=JobEnvironment(),
        )


def test_the_process_description_offers_exactly_the_frequencies_and_methods_resample_knows():
    from jobstream_datasets import checks, processes, resample

    assert tuple(checks.FREQUENCIES) == tuple(processes.FREQUENCY_TITLES)
    assert resample.METHODS == processes.METHODS


def test_resampling_into_a_dataset_of_another_definition_fails_and_writes_nothing(tmp_path, source):
    template, store = source
    monthly = derived_template(template, "demo-derived", "MS", "mean")
    target_store = DatasetStore(monthly, str(tmp_path / "demo-derived"))
    resample_dataset(Resampling(store, target_store, "MS", "mean"), job=JobEnvironment())
    before = opened(target_store).t2m.values.copy()
    snapshot = target_store.read().snapshot_id
    for frequency, method in (("MS", "sum"), ("YS", "mean")):
        other = derived_template(template, "demo-derived", frequency, method)
        with pytest.raises(PermanentError, match="stored with another definition"):
            resample_dataset(
                Resampling(
                    store, DatasetStore(other, str(tmp_path / "demo-derived")), frequency, method
                ),
                job=JobEnvironment(),
            )
    assert target_store.read().snapshot_id == snapshot
    np.testing.assert_array_equal(opened(target_store).t2m.values, before)
    # The same definition again is a recomputation, not an overwrite: allowed.
    resample_dataset(Resampling(store, target_store, "MS", "mean"), job=JobEnvironment())


def ingest(store, start, end) -> str:
    template = store.template
    job = JobEnvironment()
    ingest_periods(store, plugin_for(template), plan_ingest(template, start, end), job=job)
    newest = store.read().snapshot_id
    assert newest is not None
    return newest


def test_a_rerun_reads_its_pinned_snapshot_and_writes_a_branch_of_its_own(tmp_path):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "daily"))
    january = ingest(store, "2020-01-01", "2020-01-31")
    ingest(store, "2020-02-01", "2020-02-29")  # more ingest: the source moved on
    target = derived_template(template, "demo-mean-MS", "MS", "mean")
    target_store = DatasetStore(target, str(tmp_path / target.id))
    rerun = JobEnvironment(job_id="again", rerun_of="first", pinned_snapshots={"demo": january})
    result = resample_dataset(Resampling(store, target_store, "MS", "mean"), job=rerun)

    # January only, as the source held it at the pinned snapshot; February is not read.
    assert (result["first"], result["last"], result["computed"]) == ("2020-01", "2020-01", 1)
    assert result["source_snapshot_id"] == january
    assert result["branch"] == "rerun-again"
    (commit,) = rerun.records
    assert isinstance(commit, DatasetCommitted) and commit.branch == "rerun-again"
    assert commit.source == SnapshotRef(dataset_id="demo", snapshot_id=january)
    # The dataset itself (main) is left as it was: nothing written.
    assert target_store.read().empty


def test_a_pinned_snapshot_no_longer_kept_fails_the_job_saying_which(tmp_path, source):
    template, store = source
    target = derived_template(template, "demo-mean-MS", "MS", "mean")
    target_store = DatasetStore(target, str(tmp_path / target.id))
    gone = JobEnvironment(rerun_of="first", pinned_snapshots={"demo": "AAAAAAAAAAAAAAAAAAA0"})
    with pytest.raises(SnapshotGone, match="snapshot AAAAAAAAAAAAAAAAAAA0 of dataset demo"):
        resample_dataset(Resampling(store, target_store, "MS", "mean"), job=gone)
