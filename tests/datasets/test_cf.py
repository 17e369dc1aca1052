"""Stores follow the CF conventions: an opened store writes to NetCDF and reads back by CF."""

import json

import cf_xarray  # noqa: F401  (registers the .cf accessor)
import numpy as np
import pytest
import xarray as xr
import zarr

from jobstream_contracts.process import PermanentError
from jobstream_datasets import open_dataset
from jobstream_datasets.cf import coordinate_attributes, grid_mapping_attributes, resampled_units
from jobstream_datasets.ingest import ingest_periods
from jobstream_datasets.limits import plan_ingest
from jobstream_datasets.periods import PeriodType
from jobstream_datasets.plugin import plugin_for
from jobstream_datasets.resample import Resampling, derived_template, resample_dataset
from jobstream_datasets.store import DatasetStore, location_of
from jobstream_executor.testing import JobEnvironment
from jobstream_infra.settings import DatasetSettings

from .test_ingest import synthetic


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A datasets root holding demo (daily K, ingested) and its monthly mean and sum."""
    folder = tmp_path_factory.mktemp("datasets")
    template = synthetic()
    source = DatasetStore(template, location_of(str(folder), template.id))
    ingest(source, "2020-01-01", "2020-03-10")
    for method in ("mean", "sum"):
        monthly = derived_template(template, f"demo-monthly-{method}", "MS", method)
        target = DatasetStore(monthly, location_of(str(folder), monthly.id))
        resample_dataset(Resampling(source, target, "MS", method), job=JobEnvironment())
    return DatasetSettings(datasets_root=str(folder))


STORED = ["demo", "demo-monthly-mean", "demo-monthly-sum"]


def ingest(store: DatasetStore, start: str, end: str) -> None:
    template = store.template
    plan = plan_ingest(template, start, end)
    ingest_periods(store, plugin_for(template), plan, job=JobEnvironment())


def netcdf_attribute_types(value) -> bool:
    if isinstance(value, list | tuple | np.ndarray):
        return all(isinstance(v, str | int | float | np.number) for v in value)
    return isinstance(value, str | int | float | np.number)


@pytest.mark.parametrize("dataset_id", STORED)
@pytest.mark.parametrize("engine", ["netcdf4", "h5netcdf"])
def test_an_opened_store_writes_to_netcdf_and_reads_back_the_same(
    root, tmp_path, dataset_id, engine
):
    ds = open_dataset(dataset_id, root)
    attributes = [ds.attrs] + [ds[name].attrs for name in ds.variables]
    assert all(netcdf_attribute_types(v) for attrs in attributes for v in attrs.values())
    path = tmp_path / f"{dataset_id}.nc"
    ds.to_netcdf(path, engine=engine)
    with xr.open_dataset(path, engine=engine) as back:
        xr.testing.assert_identical(back.load(), ds.load())


def test_the_axes_coordinates_and_grid_mapping_are_found_by_their_cf_attributes(root, tmp_path):
    ds = open_dataset("demo", root)
    ds.to_netcdf(tmp_path / "demo.nc", engine="netcdf4")
    for opened in (ds, xr.open_dataset(tmp_path / "demo.nc")):
        assert opened.attrs["Conventions"] == "CF-1.10"
        assert opened.cf.axes == {"X": ["lon"], "Y": ["lat"], "T": ["time"]}
        assert opened.cf["latitude"].name == "lat"
        assert opened.cf["longitude"].attrs["units"] == "degrees_east"
        assert opened.cf.grid_mapping_names == {"latitude_longitude": ["spatial_ref"]}
        t2m = opened["t2m"]
        assert (t2m.attrs["units"], t2m.attrs["grid_mapping"]) == ("K", "spatial_ref")
        assert opened["spatial_ref"].attrs["crs_wkt"].startswith('GEOGCRS["WGS 84"')
    # CF time: numbers with units and calendar in the file, datetimes when opened.
    assert ds.time.encoding["units"] == "seconds since 1970-01-01 00:00:00"
    assert ds.time.dtype.kind == "M"


def test_a_resampled_variable_says_its_cell_method(root):
    ds = open_dataset("demo-monthly-mean", root)
    assert ds["t2m"].attrs["cell_methods"] == "time: mean"
    assert ds.attrs["source"] == "jobstream resample of dataset demo"


def test_a_sum_over_days_is_in_units_times_a_day_and_a_mean_keeps_them(root):
    mean, total = (open_dataset(f"demo-monthly-{m}", root)["t2m"] for m in ("mean", "sum"))
    assert (mean.attrs["units"], total.attrs["units"]) == ("K", "d K")  # degree days
    assert total.attrs["cell_methods"] == "time: sum"


@pytest.mark.parametrize(
    ("units", "period_type", "method", "expected"),
    [
        ("mm/day", "daily", "sum", "mm"),  # CHIRPS: a rate summed over days is an amount
        ("kg m-2 s-1", "hourly", "sum", "h kg m-2 s-1"),
        ("K", "hourly", "max", "K"),
        ("", "daily", "sum", ""),
        ("furlongs of our own", "daily", "sum", "furlongs of our own d"),
    ],
)
def test_a_resampled_sums_units_follow_the_source_period(units, period_type, method, expected):
    source = synthetic().model_copy(update={"units": units, "period_type": PeriodType(period_type)})
    assert resampled_units(source, method) == expected


def test_a_sum_of_a_sum_keeps_its_units():
    daily = synthetic().model_copy(update={"units": "mm/day"})
    monthly = derived_template(daily, "monthly-total", "MS", "sum")
    assert monthly.units == "mm"
    assert derived_template(monthly, "yearly-total", "YS", "sum").units == "mm"


@pytest.mark.parametrize("dataset_id", ["demo", "demo-monthly-sum"])
def test_each_period_is_bounded_by_its_start_and_the_next_start(root, tmp_path, dataset_id):
    ds = open_dataset(dataset_id, root)
    ds.to_netcdf(tmp_path / "bounded.nc", engine="netcdf4")
    for opened in (ds, xr.open_dataset(tmp_path / "bounded.nc")):
        assert opened.cf.bounds["time"] == ["time_bnds"]
        starts, ends = opened["time_bnds"].values.T
        assert (starts == opened["time"].values).all()
        assert (ends[:-1] == starts[1:]).all()
    if dataset_id == "demo-monthly-sum":
        assert str(ds["time_bnds"].values[0, 1])[:10] == "2020-02-01"


def test_a_store_written_before_bounds_is_given_them_by_its_next_write(tmp_path):
    store = DatasetStore(synthetic(), str(tmp_path / "demo"))
    ingest(store, "2020-01-01", "2020-01-04")
    session = store.repo.writable_session("main")
    group = zarr.open_group(session.store, mode="a")
    del group["time_bnds"]
    del group["time"].attrs["bounds"]
    session.commit("as written before time bounds")
    ingest(store, "2020-01-05", "2020-01-06")
    ds = xr.open_zarr(store.repo.readonly_session(branch="main").store, consolidated=False)
    assert ds["time_bnds"].shape == (6, 2)
    assert str(ds["time_bnds"].values[0, 1])[:10] == "2020-01-02"
    assert str(ds["time_bnds"].values[-1, 1])[:10] == "2020-01-07"


def test_a_projected_crs_gives_projection_coordinates_in_its_unit():
    by_axis = coordinate_attributes("EPSG:32632")
    assert by_axis["X"]["standard_name"] == "projection_x_coordinate"
    assert (by_axis["Y"]["units"], by_axis["Y"]["axis"]) == ("metre", "Y")


def test_a_crs_pyproj_cannot_read_is_kept_as_the_source_gave_it():
    # A source's own CRS text (a GeoTIFF's, say): the store is written all the same.
    assert grid_mapping_attributes("a grid of our own") == {"spatial_ref": "a grid of our own"}
    assert coordinate_attributes("a grid of our own") == {"Y": {"axis": "Y"}, "X": {"axis": "X"}}


def make_old(store: DatasetStore) -> None:
    """Rewrite a store's attributes as stores were written before CF: a dict definition, no
    Conventions, no grid mapping."""
    session = store.repo.writable_session("main")
    group = zarr.open_group(session.store, mode="a")
    definition = json.loads(str(group.attrs["definition"]))
    for name in ("Conventions", "source"):
        del group.attrs[name]
    group.attrs["definition"] = definition
    del group["spatial_ref"]
    session.commit("as written before CF")


def test_a_store_written_before_cf_keeps_its_definition_check_and_is_upgraded_by_a_write(
    tmp_path,
):
    template = synthetic()
    store = DatasetStore(template, str(tmp_path / "demo"))
    ingest(store, "2020-01-01", "2020-01-04")
    make_old(store)
    assert "Conventions" not in xr.open_zarr(store.repo.readonly_session(branch="main").store).attrs
    other = DatasetStore(synthetic(variable="tp"), str(tmp_path / "demo"))
    with pytest.raises(PermanentError, match="variable: 't2m', not 'tp'"):
        other.check_definition()
    ingest(store, "2020-01-05", "2020-01-06")
    ds = xr.open_zarr(store.repo.readonly_session(branch="main").store, consolidated=False)
    assert ds.attrs["Conventions"] == "CF-1.10"
    assert json.loads(ds.attrs["definition"]) == template.definition()
    assert ds["spatial_ref"].attrs["grid_mapping_name"] == "latitude_longitude"
    ds.to_netcdf(tmp_path / "upgraded.nc", engine="netcdf4")


# Loading the checkers loads IOOS's deprecated SOS checker too; it is not run here.
@pytest.mark.filterwarnings("ignore:The ioos_sos checker is deprecated:DeprecationWarning")
@pytest.mark.parametrize("dataset_id", STORED)
def test_the_cf_checker_finds_no_error_in_the_netcdf_export(root, tmp_path, dataset_id):
    from compliance_checker.suite import CheckSuite

    path = tmp_path / f"{dataset_id}.nc"
    open_dataset(dataset_id, root).to_netcdf(path, engine="netcdf4")
    CheckSuite.load_all_available_checkers()
    suite = CheckSuite()
    results, failures = suite.run_all(suite.load_dataset(str(path)), ["cf:1.10"], skip_checks=[])[
        "cf:1.10"
    ]
    assert failures == {}
    # Weight 3 is the checker's "error" (2 a warning: no `history` here, as CF allows).
    errors = [message for r in results if r.weight == 3 and failed(r) for message in r.msgs]
    assert errors == []
    warned = [message for r in results if r.weight == 2 and failed(r) for message in r.msgs]
    assert [message for message in warned if "global attribute history" not in message] == []


def failed(result) -> bool:
    scored, possible = result.value if isinstance(result.value, tuple) else (result.value, True)
    return scored < possible
