"""Mistakes refused before a job exists: the decisions on what the templates and the store
say, and the data processes' estimates (the check before an execute) that make them."""

from functools import partial
from pathlib import Path

import pytest

from jobstream_contracts.process import PermanentError
from jobstream_datasets.checks import check_stored_bbox, nothing_stored, resampled_period_type
from jobstream_datasets.limits import Limits
from jobstream_datasets.periods import PeriodType
from jobstream_datasets.processes import (
    Datasets,
    estimate,
    estimate_resample,
    estimate_sync,
    ingest,
    sync,
)
from jobstream_datasets.templates import DatasetTemplate
from jobstream_executor.testing import JobEnvironment

STORED_BBOX = (4.0, 57.0, 5.0, 58.0)
MONTHLY_MEANS = {"process_id": "resample", "params": {"frequency": "MS", "method": "mean"}}


def template(dataset_id: str = "grid", **fields) -> DatasetTemplate:
    return DatasetTemplate.model_validate(
        {
            "id": dataset_id,
            "name": dataset_id,
            "variable": "t2m",
            "period_type": "daily",
            "extent": {"bbox": [4.0, 57.0, 6.0, 58.0], "start": "2020-01-01", "resolution": 0.5},
            "source": {"plugin": "synthetic", "params": {"resolution": 0.5}},
            **fields,
        }
    )


# -- the decisions ----------------------------------------------------------------------------


@pytest.mark.parametrize("frequency", ["h", "D"])
def test_a_frequency_not_coarser_than_the_source_is_refused_saying_which_are(frequency):
    with pytest.raises(PermanentError) as refused:
        resampled_period_type(frequency, template())
    assert str(refused.value).startswith(f"frequency: {frequency} gives ")
    assert "not coarser than the daily periods of grid" in str(refused.value)
    assert str(refused.value).endswith(
        "choose a coarser one: W-MON (weekly), MS (monthly), YS (yearly)"
    )


def test_a_coarser_frequency_gives_its_period_type():
    assert resampled_period_type("MS", template()) == PeriodType.monthly
    hourly = template(period_type="hourly", extent={"bbox": [4, 57, 6, 58], "start": "2020"})
    assert resampled_period_type("D", hourly) == PeriodType.daily


def test_nothing_to_resample_a_yearly_dataset_to():
    yearly = template(period_type="yearly", extent={"bbox": [4, 57, 6, 58], "start": "2020"})
    with pytest.raises(PermanentError, match="none is coarser$"):
        resampled_period_type("YS", yearly)


def test_nothing_stored_names_the_input_and_what_to_run_first():
    assert str(nothing_stored(template(), "dataset_id")) == (
        "dataset_id: nothing stored for grid yet; run ingest first"
    )
    derived = template(
        sync_kind="derived", source_dataset="grid", source=None, processing=MONTHLY_MEANS
    )
    assert str(nothing_stored(derived, "source_dataset_id")).endswith("; compute it first")


@pytest.mark.parametrize(
    "asked,moved",
    [
        ((4.0, 57.0, 6.0, 58.0), "east"),
        ((4.5, 57.5, 5.0, 58.0), "west, south"),
        ((3.0, 56.0, 4.0, 57.0), "west, south, east, north"),
    ],
)
def test_a_bbox_a_cell_or_more_from_the_stored_one_is_refused_with_the_stored_bbox(asked, moved):
    with pytest.raises(PermanentError) as refused:
        check_stored_bbox(template(), asked, STORED_BBOX)
    detail = str(refused.value)
    assert detail.startswith(f"bbox: {list(asked)} lays another grid than the one grid is stored")
    assert f"whose bbox is {list(STORED_BBOX)} ({moved} a cell of 0.5 or more away)" in detail


@pytest.mark.parametrize(
    "asked,stored,resolution",
    [
        (STORED_BBOX, STORED_BBOX, 0.5),
        # Within a cell: the same cells or not, by where the source's cells fall; the job knows.
        ((4.2, 57.1, 5.3, 58.0), STORED_BBOX, 0.5),
        # 0.1 + 0.2 != 0.3 in floating point, and is still the same edge.
        ((4.0, 57.0, 0.1 + 0.2 + 4.7, 58.0), (4.0, 57.0, 5.0, 58.0), 0.3),
        # Nothing stored, or stored before bboxes were kept.
        ((3.0, 56.0, 4.0, 57.0), None, 0.5),
        # No resolution: no cells to count.
        ((3.0, 56.0, 4.0, 57.0), STORED_BBOX, None),
    ],
)
def test_a_bbox_that_may_lay_the_stored_cells_is_left_to_the_job(asked, stored, resolution):
    extent = {"bbox": [0.0, 50.0, 10.0, 60.0], "start": "2020-01-01", "resolution": resolution}
    check_stored_bbox(template(extent=extent), asked, stored)


# -- the estimates that make them, on a real store -----------------------------------------


@pytest.fixture
def datasets(tmp_path) -> Datasets:
    """A stored dataset (two days over STORED_BBOX), one with nothing stored, and a derived
    monthly one."""
    templates = {
        "grid": template("grid"),
        "empty": template("empty"),
        "grid-monthly": template(
            "grid-monthly",
            period_type="monthly",
            sync_kind="derived",
            source_dataset="grid",
            source=None,
            processing=MONTHLY_MEANS,
        ),
    }
    datasets = Datasets(templates, str(tmp_path), Limits(1000, 10_000, 10**9), 5.0)
    inputs = {"start": "2020-01-01", "end": "2020-01-02", "bbox": list(STORED_BBOX)}
    JobEnvironment().run(partial(ingest, datasets), dataset_id="grid", **inputs)
    return datasets


def periods_planned(datasets: Datasets, dataset_id: str, bbox: list[float] | None) -> int:
    """The periods the size check before an ingest of two days into ``dataset_id`` plans."""
    return estimate(datasets, dataset_id, "2020-01-03", "2020-01-04", bbox, size_only=True)[
        "periods"
    ]


def test_an_ingest_into_a_stored_dataset_over_another_bbox_is_refused_by_its_estimate(datasets):
    whole_extent = [4.0, 57.0, 6.0, 58.0]
    with pytest.raises(PermanentError, match=r"^bbox: \[4.0, 57.0, 6.0, 58.0\] lays another grid"):
        periods_planned(datasets, "grid", whole_extent)
    assert periods_planned(datasets, "grid", list(STORED_BBOX)) == 2
    assert periods_planned(datasets, "grid", None) == 2
    # Into a dataset with nothing stored, any bbox in the extent makes its grid.
    assert periods_planned(datasets, "empty", whole_extent) == 2


@pytest.mark.parametrize("plan_only", [True, False])
def test_a_sync_of_a_dataset_with_nothing_stored_is_refused_by_its_estimate(datasets, plan_only):
    with pytest.raises(PermanentError, match="^dataset_id: nothing stored for empty yet"):
        estimate_sync(datasets, "empty", plan_only=plan_only, size_only=True)
    # Checking creates nothing, not even a folder.
    assert not (Path(datasets.root) / "empty").exists()
    assert (
        estimate_sync(datasets, "grid", end="2020-01-05", size_only=True)["first"] == "2020-01-03"
    )


def test_the_sync_job_itself_fails_with_the_same_words(datasets):
    with pytest.raises(PermanentError, match="^dataset_id: nothing stored for empty yet"):
        JobEnvironment().run(partial(sync, datasets), dataset_id="empty", plan_only=True)


def test_a_resample_estimate_checks_the_frequency_the_target_and_the_stored_source(datasets):
    resample = partial(estimate_resample, datasets, size_only=True)
    assert resample("grid", "MS", "mean") == {"dataset_id": "grid-mean-MS"}
    assert resample("grid", "MS", "mean", dataset_id="grid-monthly") == {
        "dataset_id": "grid-monthly"
    }
    with pytest.raises(PermanentError, match="^frequency: D gives daily periods"):
        resample("grid", "D", "mean")
    with pytest.raises(PermanentError, match="^frequency: dataset grid-monthly holds monthly"):
        resample("grid", "YS", "mean", dataset_id="grid-monthly")
    with pytest.raises(PermanentError, match="^dataset_id: dataset empty is not derived"):
        resample("grid", "MS", "mean", dataset_id="empty")
    with pytest.raises(PermanentError, match="^source_dataset_id: nothing stored for empty"):
        resample("empty", "MS", "mean")
