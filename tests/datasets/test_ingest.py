"""Ingest into real Icechunk repositories, no broker: resume, skipping, overwrite, grids."""

from collections.abc import Set
from functools import partial

import numpy as np
import pytest
import xarray as xr

from jobstream_contracts.events import DatasetCommitted, JobEstimated
from jobstream_contracts.process import PermanentError
from jobstream_datasets.ingest import ingest_periods
from jobstream_datasets.limits import Limits, newest_available, plan_ingest
from jobstream_datasets.periods import period_id, shifted
from jobstream_datasets.plugin import plugin_for
from jobstream_datasets.plugins.synthetic import SyntheticSource
from jobstream_datasets.processes import Datasets, ingest
from jobstream_datasets.store import DatasetStore
from jobstream_datasets.templates import DatasetTemplate
from jobstream_executor.testing import JobEnvironment
from jobstream_infra.leases import LeaseLost


def synthetic(**overrides) -> DatasetTemplate:
    raw = {
        "id": "demo",
        "name": "Demo",
        "variable": "t2m",
        "units": "K",
        "period_type": "daily",
        "extent": {"bbox": [4.0, 57.0, 6.0, 58.0], "start": "2020-01-01"},
        "source": {
            "plugin": "synthetic",
            "params": {"resolution": 0.5, "seed": 7},
            "commit_batch_size": 4,
        },
    }
    return DatasetTemplate.model_validate({**raw, **overrides})


class FailingAt(SyntheticSource):
    """The synthetic source, failing once at a chosen period like a dropped download."""

    def __init__(self, template, failing: set[str]) -> None:
        super().__init__(template)
        self.failing = set(failing)
        self.fetched: list[str] = []
        self.commit_batch_size = 4

    def fetch_period(self, period_id, bbox, *args, **params):
        if period_id in self.failing:
            self.failing.discard(period_id)
            raise ConnectionResetError(f"connection reset while fetching {period_id}")
        self.fetched.append(period_id)
        return super().fetch_period(period_id, bbox, *args, **params)


class InBlocksOfThree(SyntheticSource):
    """The synthetic source fetching three periods at a time, failing once at chosen blocks."""

    def __init__(self, template, failing_from: Set[str] = frozenset()) -> None:
        super().__init__(template)
        self.failing_from = set(failing_from)  # the first periods of the blocks that fail
        self.fetched: list[list[str]] = []
        self.commit_batch_size = 4

    def blocks_of(self, period_ids, bbox, **params):
        return [period_ids[i : i + 3] for i in range(0, len(period_ids), 3)]

    def fetch_block(self, period_ids, bbox, **params):
        if period_ids[0] in self.failing_from:
            self.failing_from.discard(period_ids[0])
            raise ConnectionResetError(f"connection reset while fetching {period_ids}")
        self.fetched.append(period_ids)
        return super().fetch_block(period_ids, bbox, **params)


def days(first: int, last: int) -> list[str]:
    return [f"2020-01-{day:02d}" for day in range(first, last + 1)]


def opened(store: DatasetStore) -> xr.Dataset:
    session = store.repo.readonly_session(branch="main")
    return xr.open_zarr(session.store, consolidated=False).load()


def test_an_ingest_stores_every_period_with_the_sources_values(tmp_path):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "demo"))
    plugin = plugin_for(template)
    job = JobEnvironment()
    result = ingest_periods(
        store,
        plugin,
        plan_ingest(template, "2020-01-01", "2020-01-10"),
        on_progress=job.on_progress,
        job=job,
    )
    assert result["periods"] == {
        "requested": 10,
        "fetched": 10,
        "skipped": 0,
        "first": "2020-01-01",
        "last": "2020-01-10",
    }
    assert result["commits"] == 3  # 4 + 4 + 2
    ds = opened(store)
    assert [str(t)[:10] for t in ds.time.values] == [f"2020-01-{d:02d}" for d in range(1, 11)]
    assert ds.committed.values.tolist() == [1] * 10
    expected = plugin.fetch_period("2020-01-07", template.extent.bbox, resolution=0.5, seed=7)
    np.testing.assert_array_equal(ds.t2m.sel(time="2020-01-07").values, expected.t2m.values)
    assert job.progress[-1] == (10, 10, "fetched 2020-01-10")
    # Under the dataset's lease, each commit recorded in the job's history.
    assert job.holds == ["dataset.demo"]
    commits = [event for event in job.records if isinstance(event, DatasetCommitted)]
    assert [(c.first, c.last, c.job_id) for c in commits] == [
        ("2020-01-01", "2020-01-04", job.job_id),
        ("2020-01-05", "2020-01-08", job.job_id),
        ("2020-01-09", "2020-01-10", job.job_id),
    ]
    assert commits[-1].snapshot_id == result["snapshot_id"]


def test_a_writer_whose_lease_was_lost_stops_before_its_next_commit(tmp_path):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "demo"))
    job = JobEnvironment()

    def taken_at_the_fifth(done: float, total: float | None = None, message=None) -> None:
        if done == 5:  # fetched 2020-01-05, after the first commit of four
            job.lose("dataset.demo")

    with pytest.raises(LeaseLost):
        ingest_periods(
            store,
            plugin_for(template),
            plan_ingest(template, "2020-01-01", "2020-01-10"),
            on_progress=taken_at_the_fifth,
            job=job,
        )
    assert sorted(store.read().committed) == [0, 1, 2, 3]


def test_an_interrupted_ingest_resumes_without_refetching_and_equals_an_uninterrupted_one(tmp_path):
    template = synthetic()
    clean = DatasetStore(template, str(tmp_path / "clean"))
    ingest_periods(
        clean,
        plugin_for(template),
        plan_ingest(template, "2020-01-01", "2020-01-12"),
        job=JobEnvironment(),
    )

    resumed = DatasetStore(template, str(tmp_path / "resumed"))
    flaky = FailingAt(template, {"2020-01-07"})
    with pytest.raises(ConnectionResetError):
        ingest_periods(
            resumed, flaky, plan_ingest(template, "2020-01-01", "2020-01-12"), job=JobEnvironment()
        )
    # What was fetched before the failure is committed rather than lost.
    assert sorted(resumed.read().committed) == list(range(6))
    first_attempt = list(flaky.fetched)
    flaky.fetched.clear()
    result = ingest_periods(
        resumed, flaky, plan_ingest(template, "2020-01-01", "2020-01-12"), job=JobEnvironment()
    )
    assert result["periods"]["skipped"] == 6
    assert flaky.fetched == [f"2020-01-{d:02d}" for d in range(7, 13)]
    assert not set(flaky.fetched) & set(first_attempt[:6])
    xr.testing.assert_identical(opened(clean), opened(resumed))


def test_a_second_ingest_of_stored_periods_fetches_nothing(tmp_path):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "demo"))
    ingest_periods(
        store,
        plugin_for(template),
        plan_ingest(template, "2020-01-01", "2020-01-05"),
        job=JobEnvironment(),
    )
    snapshot = store.read().snapshot_id
    plugin = FailingAt(template, set())
    result = ingest_periods(
        store, plugin, plan_ingest(template, "2020-01-02", "2020-01-04"), job=JobEnvironment()
    )
    assert plugin.fetched == []
    assert result["periods"]["fetched"] == 0 and result["commits"] == 0
    assert store.read().snapshot_id == snapshot


def test_overwrite_fetches_stored_periods_again(tmp_path):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "demo"))
    ingest_periods(
        store,
        plugin_for(template),
        plan_ingest(template, "2020-01-01", "2020-01-05"),
        job=JobEnvironment(),
    )
    plugin = FailingAt(template, set())
    ingest_periods(
        store,
        plugin,
        plan_ingest(template, "2020-01-02", "2020-01-03"),
        overwrite=True,
        job=JobEnvironment(),
    )
    assert plugin.fetched == ["2020-01-02", "2020-01-03"]


def test_a_later_range_grows_the_time_axis_and_an_earlier_one_fills_the_gap(tmp_path):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "demo"))
    ingest_periods(
        store,
        plugin_for(template),
        plan_ingest(template, "2020-01-05", "2020-01-06"),
        job=JobEnvironment(),
    )
    ds = opened(store)
    # The axis starts at the template's first period; unstored periods are empty.
    assert ds.sizes["time"] == 6 and ds.committed.values.tolist() == [0, 0, 0, 0, 1, 1]
    assert np.isnan(ds.t2m.isel(time=0).values).all()
    ingest_periods(
        store,
        plugin_for(template),
        plan_ingest(template, "2020-01-01", "2020-01-04"),
        job=JobEnvironment(),
    )
    assert opened(store).committed.values.tolist() == [1] * 6


def test_monthly_periods_are_named_by_month(tmp_path):
    template = synthetic(period_type="monthly", extent={"bbox": [4, 57, 6, 58], "start": "2019-11"})
    store = DatasetStore(template, str(tmp_path / "monthly"))
    result = ingest_periods(
        store,
        plugin_for(template),
        plan_ingest(template, "2020-01-15", "2020-03-02"),
        job=JobEnvironment(),
    )
    assert (result["periods"]["first"], result["periods"]["last"]) == ("2020-01", "2020-03")
    assert sorted(store.read().committed) == [2, 3, 4]


@pytest.mark.parametrize(
    "start,end,complaint",
    [
        ("2019-12-31", "2020-01-02", "before the dataset's first period"),
        ("2020-01-05", "2020-01-01", "before start"),
        ("2020-13-01", "2020-01-01", "not a valid date"),
        ("yesterday", "2020-01-01", "not an ISO date"),
    ],
)
def test_a_bad_range_is_a_permanent_error_and_writes_nothing(tmp_path, start, end, complaint):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "demo"))
    with pytest.raises(PermanentError, match=complaint):
        ingest_periods(
            store, plugin_for(template), plan_ingest(template, start, end), job=JobEnvironment()
        )
    assert store.read().empty


def test_an_ingest_with_another_bbox_into_a_stored_dataset_is_refused(tmp_path):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "demo"))
    ingest_periods(
        store,
        plugin_for(template),
        plan_ingest(template, "2020-01-01", "2020-01-02"),
        job=JobEnvironment(),
    )
    with pytest.raises(PermanentError, match="grid other than"):
        ingest_periods(
            store,
            plugin_for(template),
            plan_ingest(template, "2020-01-03", "2020-01-04", (4.0, 57.0, 5.0, 58.0)),
            job=JobEnvironment(),
        )
    assert sorted(store.read().committed) == [0, 1]


def test_the_synthetic_source_is_the_same_whatever_the_order_of_fetches(tmp_path):
    template = synthetic()
    plugin = plugin_for(template)
    bbox = template.extent.bbox
    later = plugin.fetch_period("2020-02-01", bbox, resolution=0.5, seed=7).t2m.values
    plugin.fetch_period("2020-01-01", bbox, resolution=0.5, seed=7)
    again = plugin.fetch_period("2020-02-01", bbox, resolution=0.5, seed=7).t2m.values
    np.testing.assert_array_equal(later, again)
    other_seed = plugin.fetch_period("2020-02-01", bbox, resolution=0.5, seed=8).t2m.values
    assert not np.array_equal(later, other_seed)


def test_a_plugin_fetching_in_blocks_stores_what_one_fetching_period_by_period_does(tmp_path):
    template = synthetic()
    runs = {}
    for name, plugin in [("periods", plugin_for(template)), ("blocks", InBlocksOfThree(template))]:
        store = DatasetStore(template, str(tmp_path / name))
        job = JobEnvironment()
        result = ingest_periods(
            store,
            plugin,
            plan_ingest(template, "2020-01-01", "2020-01-10"),
            on_progress=job.on_progress,
            job=job,
        )
        runs[name] = (opened(store), result["periods"], result["commits"], job.progress)
    xr.testing.assert_identical(runs["periods"][0], runs["blocks"][0])
    assert runs["periods"][1:] == runs["blocks"][1:]


def test_a_failing_block_keeps_the_blocks_before_it_and_a_retry_fetches_only_the_rest(tmp_path):
    template = synthetic()
    clean = DatasetStore(template, str(tmp_path / "clean"))
    ingest_periods(
        clean,
        plugin_for(template),
        plan_ingest(template, "2020-01-01", "2020-01-09"),
        job=JobEnvironment(),
    )

    resumed = DatasetStore(template, str(tmp_path / "resumed"))
    flaky = InBlocksOfThree(template, failing_from={"2020-01-04"})
    with pytest.raises(ConnectionResetError):
        ingest_periods(
            resumed, flaky, plan_ingest(template, "2020-01-01", "2020-01-09"), job=JobEnvironment()
        )
    # The first block is committed; the failing block keeps nothing, nor does the one after.
    assert sorted(resumed.read().committed) == [0, 1, 2]
    flaky.fetched.clear()
    result = ingest_periods(
        resumed, flaky, plan_ingest(template, "2020-01-01", "2020-01-09"), job=JobEnvironment()
    )
    assert result["periods"]["skipped"] == 3
    assert sorted(flaky.fetched) == [days(4, 6), days(7, 9)]
    xr.testing.assert_identical(opened(clean), opened(resumed))


class Miscounting(SyntheticSource):
    """Blocks that leave a period out, or a block fetch that returns one dataset too few."""

    def __init__(self, template, mistake: str) -> None:
        super().__init__(template)
        self.mistake = mistake

    def blocks_of(self, period_ids, bbox, **params):
        blocks = [[name] for name in period_ids]
        return blocks[1:] if self.mistake == "blocks" else blocks

    def fetch_block(self, period_ids, bbox, **params):
        datasets = super().fetch_block(period_ids, bbox, **params)
        return datasets[1:] if self.mistake == "datasets" else datasets


@pytest.mark.parametrize(
    "mistake,complaint",
    [("blocks", "split the periods into blocks"), ("datasets", "gave 0 datasets")],
)
def test_blocks_that_do_not_match_the_periods_are_a_permanent_error(tmp_path, mistake, complaint):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "demo"))
    with pytest.raises(PermanentError, match=complaint):
        ingest_periods(
            store,
            Miscounting(template, mistake),
            plan_ingest(template, "2020-01-01", "2020-01-03"),
            job=JobEnvironment(),
        )
    assert store.read().empty


def test_an_ingest_job_estimates_and_fetches_the_one_plan_it_made(tmp_path):
    """The estimate the job records and the periods it fetches come from one plan: an end
    past the newest available period is clipped once, for both."""
    template = synthetic()
    datasets = Datasets({"demo": template}, str(tmp_path), Limits(10**4, 10**4, 10**9), 5.0)
    job = JobEnvironment()
    newest = newest_available(template)
    start = period_id(shifted(newest, -2), template.period_type)
    result = job.run(partial(ingest, datasets), dataset_id="demo", start=start, end="9999-12-31")
    [estimated] = [event for event in job.records if isinstance(event, JobEstimated)]
    assert estimated.estimate["end_clipped_from"] == "9999-12-31"
    assert (estimated.estimate["first"], estimated.estimate["last"]) == (
        result["periods"]["first"],
        result["periods"]["last"],
    )
    assert estimated.estimate["to_fetch"] == result["periods"]["fetched"] == 3
    assert job.holds == ["dataset.demo"]
