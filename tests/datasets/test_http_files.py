"""The http-files source plugin against a real HTTP server serving real GeoTIFF and NetCDF
files, with the faults a public file server really has."""

import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from jobstream_contracts.process import PermanentError
from jobstream_datasets.ingest import ingest_periods
from jobstream_datasets.limits import plan_ingest
from jobstream_datasets.plugin import plugin_for
from jobstream_datasets.plugins.http_files import DownloadError
from jobstream_datasets.store import DatasetStore
from jobstream_datasets.templates import BUILTIN_DIR, DatasetTemplate, load_template
from jobstream_executor.testing import JobEnvironment

from ..support.datasets import source_params
from ..support.fixture_server import (
    STUB_SIZE,
    Delay,
    Drop,
    FixtureServer,
    Status,
    Stub,
    north_up,
    write_geotiff,
    write_netcdf,
)

# One fixture is a GeoTIFF without georeferencing, on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")

# The fixture grid: 0.1 degree cells, north-west corner at 20W 30N, 400 rows by 600 columns.
GRID, HEIGHT, WIDTH = north_up(-20.0, 30.0, 0.1), 400, 600
NODATA = -9999.0
DAYS = [day.strftime("%Y-%m-%d") for day in pd.date_range("2021-01-01", periods=10)]
# Overlaps columns 49 to 150 (its west and east edges cut cells 49 and 150) and rows 20 to 99:
# its south edge, 20N, is the edge between rows 99 and 100, so row 100 is not in it.
BBOX = (-15.05, 20.0, -4.95, 27.96)
ROWS, COLS = slice(20, 100), slice(49, 151)
GEOTIFF_PATH = "/geotiff/{year}/fixture.{year}.{month:02d}.{day:02d}.tif"
NETCDF_PATH = "/netcdf/fixture_{period}.nc"


def field(day: str) -> np.ndarray:
    """The day's values, with a block of missing cells that the bbox cuts into."""
    rng = np.random.default_rng(zlib.crc32(day.encode()))
    values = rng.uniform(0.0, 80.0, size=(HEIGHT, WIDTH)).astype(np.float32)
    values[:40, :100] = NODATA
    return values


def expected(day: str) -> np.ndarray:
    crop = field(day)[ROWS, COLS]
    return np.where(crop == NODATA, np.float32(np.nan), crop)


def path_of(pattern: str, day: str) -> str:
    start = pd.Timestamp(day)
    return pattern.format(year=start.year, month=start.month, day=start.day, period=day)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Ten days in both formats (GeoTIFFs leave nodata undeclared, as CHIRPS's do), and a
    first day of two kinds of GeoTIFF the plugin must refuse."""
    root = tmp_path_factory.mktemp("files")
    for day in DAYS:
        write_geotiff(root / path_of(GEOTIFF_PATH, day).lstrip("/"), field(day), GRID)
        write_netcdf(
            root / path_of(NETCDF_PATH, day).lstrip("/"), "precip", field(day), GRID, nodata=NODATA
        )
    counts = np.zeros((HEIGHT, WIDTH), dtype=np.int16)
    write_geotiff(root / f"refused/packed.{DAYS[0]}.tif", counts, GRID, scale=0.1)
    write_geotiff(root / f"refused/no-grid.{DAYS[0]}.tif", field(DAYS[0]), transform=None)
    return root


@pytest.fixture
def server(files):
    with FixtureServer(files) as running:
        yield running


def template(server: FixtureServer, file_format: str = "geotiff", **params) -> DatasetTemplate:
    if file_format == "geotiff":
        source = {"url_template": server.base_url + GEOTIFF_PATH, "nodata": NODATA}
    else:
        source = {"url_template": server.base_url + NETCDF_PATH, "source_variable": "precip"}
    return DatasetTemplate.model_validate(
        {
            "id": "fixture-daily",
            "name": "Fixture precipitation",
            "variable": "precipitation",
            "units": "mm/day",
            "period_type": "daily",
            "extent": {"bbox": list(BBOX), "start": DAYS[0]},
            "source": {"plugin": "http-files", "params": {**source, **params}},
        }
    )


def fetch(plugin, day: str) -> np.ndarray:
    ds = plugin.fetch_period(day, BBOX, **source_params(plugin.template))
    return ds["precipitation"].transpose("lat", "lon").values


@pytest.mark.parametrize("file_format", ["geotiff", "netcdf"])
def test_a_period_is_the_files_values_on_the_cells_the_bbox_overlaps(server, file_format):
    plugin = plugin_for(template(server, file_format))
    grid = plugin.probe(BBOX, **source_params(plugin.template))
    ds = plugin.fetch_period(DAYS[3], BBOX, **source_params(plugin.template))

    assert grid.shape == (80, 102)
    assert grid.same_cells(ds["lat"].values, ds["lon"].values)
    np.testing.assert_allclose(grid.y[[0, -1]], [27.95, 20.05])
    np.testing.assert_allclose(grid.x[[0, -1]], [-15.05, -4.95])
    np.testing.assert_array_equal(fetch(plugin, DAYS[3]), expected(DAYS[3]))
    assert np.isnan(ds["precipitation"].values).any()  # the missing cells arrive as NaN


@pytest.mark.parametrize("file_format", ["geotiff", "netcdf"])
def test_probe_reads_a_header_not_a_file(server, files, file_format):
    plugin = plugin_for(template(server, file_format))
    first = path_of(GEOTIFF_PATH if file_format == "geotiff" else NETCDF_PATH, DAYS[0])

    grid = plugin.probe(BBOX, **source_params(plugin.template))

    assert (grid.dtype, grid.crs, grid.nodata) == ("float32", "EPSG:4326", None)
    assert server.downloads(first) == 0
    assert server.range_reads(first) >= 1
    assert server.bytes_sent[first] < (files / first.lstrip("/")).stat().st_size / 10
    assert {r.path for r in server.requests} == {first}


@pytest.mark.parametrize(
    "fault", [Drop(), Stub(), Status(500), Status(503), Status(404), Delay(1.0)], ids=repr
)
@pytest.mark.parametrize("file_format", ["geotiff", "netcdf"])
def test_a_bad_download_is_retryable_and_the_next_attempt_gets_it_right(server, fault, file_format):
    plugin = plugin_for(template(server, file_format, timeout=0.3))
    path = path_of(GEOTIFF_PATH if file_format == "geotiff" else NETCDF_PATH, DAYS[5])
    server.inject(path, fault)

    with pytest.raises(DownloadError) as failure:
        fetch(plugin, DAYS[5])

    assert not isinstance(failure.value, PermanentError)
    assert DAYS[5] in str(failure.value) and server.url(path) in str(failure.value)
    np.testing.assert_array_equal(fetch(plugin, DAYS[5]), expected(DAYS[5]))
    assert server.downloads(path) == 2


def test_fault_messages_say_what_went_wrong(server):
    plugin = plugin_for(template(server, timeout=0.3))
    server.inject(path_of(GEOTIFF_PATH, DAYS[1]), Status(404), Stub(), Drop(), Delay(1.0))
    messages = []
    for _ in range(4):
        with pytest.raises(DownloadError) as failure:
            fetch(plugin, DAYS[1])
        messages.append(str(failure.value))

    assert "not published yet (HTTP 404)" in messages[0]
    assert f"the {STUB_SIZE} bytes downloaded are not a usable geotiff file" in messages[1]
    assert "connection failed: Response payload is not completed" in messages[2]
    assert "nothing came from the server for 0.3 s" in messages[3]


def test_a_slow_answer_within_the_timeout_is_no_fault(server):
    plugin = plugin_for(template(server, timeout=2.0))
    server.inject(path_of(GEOTIFF_PATH, DAYS[2]), Delay(0.2))

    np.testing.assert_array_equal(fetch(plugin, DAYS[2]), expected(DAYS[2]))


def test_a_period_not_on_the_server_is_retryable(server):
    plugin = plugin_for(template(server))

    with pytest.raises(DownloadError, match=r"2021-02-01: .* not published yet \(HTTP 404\)"):
        fetch(plugin, "2021-02-01")


@pytest.mark.parametrize("file_format", ["geotiff", "netcdf"])
def test_size_of_is_the_files_size_from_a_head_request(server, files, file_format):
    plugin = plugin_for(template(server, file_format))
    pattern = GEOTIFF_PATH if file_format == "geotiff" else NETCDF_PATH
    params = source_params(plugin.template)

    sizes = [plugin.size_of(day, BBOX, **params) for day in DAYS[:3]]

    assert sizes == [(files / path_of(pattern, day).lstrip("/")).stat().st_size for day in DAYS[:3]]
    assert {r.method for r in server.requests} == {"HEAD"}
    with pytest.raises(DownloadError, match=r"2021-02-01: .* not published yet \(HTTP 404\)"):
        plugin.size_of("2021-02-01", BBOX, **params)


@pytest.mark.parametrize(
    "file_format, params, bbox, complaint",
    [
        ("geotiff", {"url_template": "/geotiff/{year}/missing.{period}.tif"}, BBOX, "HTTP 404"),
        ("geotiff", {}, (-25.0, 0.0, 0.0, 10.0), "west-east range -25.0..0.0 reaches outside"),
        ("netcdf", {"source_variable": "rainfall"}, BBOX, "no variable 'rainfall'"),
        ("geotiff", {"url_template": "/geotiff/{year}/{missing}.tif"}, BBOX, "cannot be filled"),
        ("geotiff", {"resolution": 0.1}, BBOX, "resolution: Extra inputs are not permitted"),
        ("geotiff", {"url_template": "/data/{period}.grib2"}, BBOX, "set format"),
        ("geotiff", {"url_template": "/refused/packed.{period}.tif"}, BBOX, "packed"),
        ("geotiff", {"url_template": "/refused/no-grid.{period}.tif"}, BBOX, "no regular grid"),
    ],
    ids=[
        "first period missing",
        "bbox outside",
        "no such variable",
        "bad url_template",
        "unknown param",
        "unknown suffix",
        "packed values",
        "no geotransform",
    ],
)
def test_a_template_error_found_by_probe_is_permanent(server, file_format, params, bbox, complaint):
    if "url_template" in params:
        params = {**params, "url_template": server.base_url + params["url_template"]}
    plugin = plugin_for(template(server, file_format, **params))

    with pytest.raises(PermanentError, match=complaint):
        plugin.probe(bbox, **source_params(plugin.template))


def test_an_ingest_cut_by_a_truncated_download_resumes_with_the_missing_periods_only(
    server, tmp_path
):
    dataset = template(server)
    plugin = plugin_for(dataset)
    store = DatasetStore(dataset, str(tmp_path / "repo"))
    paths = [path_of(GEOTIFF_PATH, day) for day in DAYS]
    server.inject(paths[6], Drop(fraction=0.9))

    with pytest.raises(DownloadError, match=f"period {DAYS[6]}: .* connection failed"):
        ingest_periods(store, plugin, plan_ingest(dataset, DAYS[0], DAYS[-1]), job=JobEnvironment())
    kept = sorted(store.read().committed)
    first_attempt = [server.downloads(path) for path in paths]
    result = ingest_periods(
        store, plugin, plan_ingest(dataset, DAYS[0], DAYS[-1]), job=JobEnvironment()
    )

    assert kept == list(range(6))  # the periods before the failure were committed
    again = [
        server.downloads(path) - before for path, before in zip(paths, first_attempt, strict=True)
    ]
    assert again == [0] * 6 + [1] * 4
    assert result["periods"] == {
        "requested": 10,
        "fetched": 4,
        "skipped": 6,
        "first": DAYS[0],
        "last": DAYS[-1],
    }
    stored = xr.open_zarr(store.repo.readonly_session(branch="main").store, consolidated=False)
    np.testing.assert_array_equal(
        stored["precipitation"].values, np.stack([expected(day) for day in DAYS])
    )
    np.testing.assert_allclose(stored["lat"].values, plugin.probe(BBOX, **source_params(dataset)).y)


def test_the_chirps_template_names_a_daily_file_for_each_period():
    chirps = load_template(BUILTIN_DIR / "chirps3-daily.yaml")

    url = source_params(chirps)["url_template"].format(
        year=1981, month=1, day=1, hour=0, period="1981-01-01"
    )

    assert type(plugin_for(chirps)).__name__ == "HttpFileSource"
    assert chirps.period_type == "daily" and chirps.extent.start == "1981-01-01"
    assert url == (
        "https://data.chc.ucsb.edu/products/CHIRPS/v3.0/daily/final/rnl/1981/"
        "chirps-v3.0.rnl.1981.01.01.tif"
    )
