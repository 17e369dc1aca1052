"""The Zarr source plugin against ERA5-Land-shaped stores on disk and served over real HTTP.

One field (hourly, 1° cells, latitude north first) is written twice: as Zarr v2 with
consolidated metadata and longitudes 0..359, and as Zarr v3 without consolidated metadata and
longitudes -180..179. Expectations are literal coordinates looked up by label in that field.
"""

import functools
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from jobstream_contracts.process import PermanentError
from jobstream_datasets.ingest import ingest_periods
from jobstream_datasets.limits import Plan, plan_ingest, planned_range
from jobstream_datasets.plugin import plugin_for
from jobstream_datasets.plugins.zarr_source import PeriodUnavailable, ZarrSource
from jobstream_datasets.store import DatasetStore
from jobstream_datasets.templates import BUILTIN_DIR, DatasetTemplate, load_template
from jobstream_executor.testing import JobEnvironment

from ..support.datasets import source_params

TIMES = pd.date_range("2020-01-01T00", periods=72, freq="h")
CHUNKS = {"time": 24, "latitude": 10, "longitude": 10}
STORES = {
    # name: (zarr format, consolidated metadata, west edge of the longitudes)
    "v2-consolidated-0-360": (2, True, 0),
    "v3-plain-180-180": (3, False, -180),
}
# name: (bbox, latitudes and longitudes of the cells it holds, in the order they come back)
BBOXES = {
    "inside": ((4.0, 50.0, 12.0, 60.0), range(60, 49, -1), range(4, 13)),
    "edges-between-cells": ((4.5, 50.5, 12.5, 59.5), range(59, 50, -1), range(5, 13)),
    "across-greenwich": ((-10.0, 45.0, 5.0, 55.0), range(55, 44, -1), range(-10, 6)),
    "across-antimeridian": ((170.0, 41.0, 190.0, 48.0), range(48, 40, -1), range(170, 191)),
}
SOURCE = {"source_variable": "t2m"}


def the_field() -> xr.Dataset:
    """Hourly 2 m temperature on 1° cells, longitudes 0..359, latitudes 69 down to 40."""
    rng = np.random.default_rng(20200101)
    values = rng.normal(280.0, 8.0, size=(len(TIMES), 30, 360)).astype("float32")
    return xr.Dataset(
        {
            "t2m": (
                ("time", "latitude", "longitude"),
                values,
                {"units": "K", "long_name": "2 metre temperature"},
            )
        },
        coords={
            "time": TIMES,
            "latitude": np.arange(69.0, 39.0, -1.0),
            "longitude": np.arange(0.0, 360.0),
        },
    )


def expected(field: xr.Dataset, period: str, bbox_name: str) -> np.ndarray:
    _, lats, lons = BBOXES[bbox_name]
    return field.t2m.sel(
        time=pd.Timestamp(period), latitude=list(lats), longitude=[lon % 360 for lon in lons]
    ).values


@pytest.fixture(scope="module")
def field() -> xr.Dataset:
    return the_field()


@pytest.fixture(scope="module")
def root(tmp_path_factory, field) -> Path:
    root = tmp_path_factory.mktemp("zarr-sources")
    for name, (zarr_format, consolidated, west) in STORES.items():
        source = field.assign_coords(longitude=(field.longitude - west) % 360 + west)
        source.sortby("longitude").to_zarr(
            root / f"{name}.zarr",
            zarr_format=zarr_format,
            consolidated=consolidated,
            encoding={"t2m": {"chunks": tuple(CHUNKS.values())}},
        )
    return root


class Handler(SimpleHTTPRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        assert isinstance(self.server, Server)
        self.server.paths.append(self.path)

    def log_message(self, format, *args) -> None:
        pass


class Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when zarr asks for many chunks at once, and
    # every dropped one waits a second for the client to try again.
    request_queue_size = 128
    daemon_threads = True
    # Every request's path, in the order the handlers logged them.
    paths: list[str]


@pytest.fixture(scope="module")
def server(root):
    server = Server(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(params=["http", "path"])
def url_of(request, root, server):
    """The URL of a fixture store, over HTTP or as a plain local path."""
    if request.param == "http":
        host, port = server.server_address
        return lambda name: f"http://{host}:{port}/{name}.zarr"
    return lambda name: str(root / f"{name}.zarr")


def template(start: str = "2020-01-01T00", **params) -> DatasetTemplate:
    return DatasetTemplate.model_validate(
        {
            "id": "era5-land-fixture",
            "name": "ERA5-Land-shaped fixture",
            # Not the source's name: the plugin renames.
            "variable": "air_temperature",
            "units": "K",
            "period_type": "hourly",
            "extent": {"bbox": list(BBOXES["across-greenwich"][0]), "start": start},
            "source": {"plugin": "zarr", "params": params},
        }
    )


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("bbox_name", BBOXES)
def test_probe_describes_the_cells_inside_the_bbox(store, bbox_name, url_of):
    bbox, lats, lons = BBOXES[bbox_name]
    plugin = ZarrSource(template())
    grid = plugin.probe(bbox, url=url_of(store), **SOURCE)
    np.testing.assert_allclose(grid.y, list(lats))
    np.testing.assert_allclose(grid.x, list(lons))
    assert (grid.y_name, grid.x_name, grid.dtype) == ("lat", "lon", "float32")
    assert grid.chunks == (10, 10)


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("bbox_name", BBOXES)
def test_a_fetched_period_holds_the_sources_values_for_the_bbox(store, bbox_name, url_of, field):
    bbox, lats, lons = BBOXES[bbox_name]
    plugin = ZarrSource(template())
    ds = plugin.fetch_period("2020-01-02T05", bbox, url=url_of(store), **SOURCE)
    assert list(ds.data_vars) == ["air_temperature"]
    assert ds.air_temperature.dims == ("lat", "lon")
    np.testing.assert_array_equal(
        ds.air_temperature.values, expected(field, "2020-01-02T05", bbox_name)
    )
    np.testing.assert_allclose(ds.lat.values, list(lats))
    np.testing.assert_allclose(ds.lon.values, list(lons))


@pytest.mark.parametrize("store", STORES)
def test_a_period_after_the_sources_end_is_retryable_and_one_before_its_start_is_not(store, url_of):
    plugin = ZarrSource(template())
    bbox = BBOXES["inside"][0]
    with pytest.raises(PeriodUnavailable, match="may not be published yet") as late:
        plugin.fetch_period("2020-01-04T00", bbox, url=url_of(store), **SOURCE)
    assert not isinstance(late.value, PermanentError)
    assert "2020-01-03T23:00:00" in str(late.value)
    with pytest.raises(PermanentError, match="before the source's first time"):
        plugin.fetch_period("2019-12-31T23", bbox, url=url_of(store), **SOURCE)


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("bbox_name", ["inside", "across-greenwich", "across-antimeridian"])
def test_size_of_is_the_size_of_the_chunk_files_the_period_touches(
    store, bbox_name, url_of, root, field
):
    zarr_format, _, west = STORES[store]
    bbox, lats, lons = BBOXES[bbox_name]
    period = "2020-01-02T05"
    latitudes = field.latitude.values
    longitudes = np.sort((field.longitude.values - west) % 360 + west)  # as the store has them
    rows = np.flatnonzero(np.isin(latitudes, list(lats)))
    columns = np.flatnonzero(np.isin(longitudes, [(lon - west) % 360 + west for lon in lons]))
    step = TIMES.get_loc(pd.Timestamp(period))
    assert isinstance(step, int)  # a unique index: one position, not a slice or a mask
    chunks = {
        (step // CHUNKS["time"], row // CHUNKS["latitude"], column // CHUNKS["longitude"])
        for row in rows
        for column in columns
    }
    # Zarr v2 names a chunk "t.y.x", v3 (default key encoding) "c/t/y/x".
    separator, prefix = (".", "") if zarr_format == 2 else ("/", "c/")
    files = [
        root / f"{store}.zarr" / "t2m" / (prefix + separator.join(map(str, chunk)))
        for chunk in chunks
    ]
    plugin = ZarrSource(template())
    assert plugin.size_of(period, bbox, url=url_of(store), **SOURCE) == sum(
        path.stat().st_size for path in files
    )


@pytest.mark.parametrize("store", STORES)
def test_an_ingest_over_http_stores_the_sources_values_and_times(store, server, tmp_path, field):
    host, port = server.server_address
    dataset = template(start="2020-01-01T06", url=f"http://{host}:{port}/{store}.zarr", **SOURCE)
    repo = DatasetStore(dataset, str(tmp_path / "repo"))
    result = ingest_periods(
        repo,
        plugin_for(dataset),
        plan_ingest(dataset, "2020-01-01T06", "2020-01-02T11"),
        job=JobEnvironment(),
    )
    assert result["periods"]["fetched"] == 30
    assert result["commits"] == 2  # 24 + 6

    stored = xr.open_zarr(
        repo.repo.readonly_session(branch="main").store, consolidated=False
    ).load()
    _, lats, lons = BBOXES["across-greenwich"]
    source = field.t2m.sel(
        time=slice("2020-01-01T06", "2020-01-02T11"),
        latitude=list(lats),
        longitude=[lon % 360 for lon in lons],
    )
    np.testing.assert_array_equal(stored.time.values, source.time.values)
    np.testing.assert_array_equal(stored.air_temperature.values, source.values)
    np.testing.assert_allclose(stored.lat.values, list(lats))
    np.testing.assert_allclose(stored.lon.values, list(lons))
    assert stored.committed.values.tolist() == [1] * 30


def test_threads_fetching_at_once_open_the_store_once(server, field):
    host, port = server.server_address
    params = {"url": f"http://{host}:{port}/v2-consolidated-0-360.zarr", **SOURCE}
    bbox = BBOXES["inside"][0]

    def metadata_reads(fetch_all) -> int:
        before = len(server.paths)
        fetch_all()
        return server.paths[before:].count("/v2-consolidated-0-360.zarr/.zmetadata")

    one = metadata_reads(
        lambda: ZarrSource(template()).fetch_period("2020-01-01T00", bbox, **params)
    )
    plugin = ZarrSource(template())
    periods = [f"2020-01-03T{hour:02d}" for hour in range(24)]
    with ThreadPoolExecutor(8) as pool:
        fetched = []
        many = metadata_reads(
            lambda: fetched.extend(
                pool.map(lambda period: plugin.fetch_period(period, bbox, **params), periods)
            )
        )
    assert one > 0 and many == one
    for period, ds in zip(periods, fetched, strict=True):
        np.testing.assert_array_equal(ds.air_temperature.values, expected(field, period, "inside"))


def chunk_reads(server, store: str, since: int) -> Counter:
    """Requests for each chunk object of t2m in the server's log from position ``since``."""
    prefix = f"/{store}.zarr/t2m/"
    return Counter(
        path
        for path in server.paths[since:]
        if path.startswith(prefix)
        and path.rsplit("/", 1)[-1] not in {".zarray", ".zattrs", "zarr.json"}
    )


@pytest.mark.parametrize("store", STORES)
def test_an_ingest_within_one_time_chunk_reads_each_chunk_once(store, server, tmp_path, field):
    host, port = server.server_address
    dataset = template(url=f"http://{host}:{port}/{store}.zarr", **SOURCE)
    periods = [f"2020-01-02T{hour:02d}" for hour in range(24)]  # all of time chunk 1
    repo = DatasetStore(dataset, str(tmp_path / "repo"))
    before = len(server.paths)
    ingest_periods(
        repo,
        plugin_for(dataset),
        plan_ingest(dataset, periods[0], periods[-1]),
        job=JobEnvironment(),
    )
    # The bbox crosses two chunks of latitude and two of longitude.
    assert sorted(chunk_reads(server, store, before).values()) == [1, 1, 1, 1]

    before = len(server.paths)
    plugin = ZarrSource(template())
    one_at_a_time = [
        plugin.fetch_period(period, dataset.extent.bbox, **source_params(dataset))
        for period in periods
    ]
    assert sorted(chunk_reads(server, store, before).values()) == [24, 24, 24, 24]
    stored = xr.open_zarr(
        repo.repo.readonly_session(branch="main").store, consolidated=False
    ).load()
    for period, ds in zip(periods, one_at_a_time, strict=True):
        np.testing.assert_array_equal(
            stored.air_temperature.sel(time=period).values, ds.air_temperature.values
        )
        np.testing.assert_array_equal(
            ds.air_temperature.values, expected(field, period, "across-greenwich")
        )


def test_blocks_end_at_time_chunk_edges_and_at_the_memory_budget(root):
    params = {"url": str(root / "v2-consolidated-0-360.zarr"), **SOURCE}
    bbox = BBOXES["inside"][0]  # 11 x 9 float32 cells: 396 bytes a period
    plugin = ZarrSource(template())
    periods = [f"2020-01-01T{hour:02d}" for hour in range(20, 24)] + [
        f"2020-01-02T{hour:02d}" for hour in range(8)
    ]
    assert plugin.blocks_of(periods, bbox, **params) == [periods[:4], periods[4:]]
    plugin.block_bytes = 5 * 396
    assert plugin.blocks_of(periods, bbox, **params) == [periods[:4], periods[4:9], periods[9:]]


def test_a_period_the_source_lacks_is_a_block_of_its_own_and_fails_as_fetch_period_does(
    root, tmp_path
):
    params = {"url": str(root / "v3-plain-180-180.zarr"), **SOURCE}
    bbox = BBOXES["inside"][0]
    plugin = ZarrSource(template(start="2019-12-31T23"))
    early = ["2019-12-31T23", "2020-01-01T00", "2020-01-01T01"]
    late = ["2020-01-03T22", "2020-01-03T23", "2020-01-04T00", "2020-01-04T01"]
    assert plugin.blocks_of(early + late, bbox, **params) == [
        early[:1],
        early[1:],
        late[:2],
        late[2:3],
        late[3:],
    ]
    with pytest.raises(PermanentError, match="before the source's first time"):
        plugin.fetch_block(early, bbox, **params)
    with pytest.raises(PeriodUnavailable, match="may not be published yet"):
        plugin.fetch_block(late, bbox, **params)

    # An ingest past the source's end keeps the periods the source has, then fails to retry.
    dataset = template(**params)
    repo = DatasetStore(dataset, str(tmp_path / "repo"))
    with pytest.raises(PeriodUnavailable):
        ingest_periods(
            repo, plugin_for(dataset), plan_ingest(dataset, late[0], late[-1]), job=JobEnvironment()
        )
    assert sorted(repo.read().committed) == [70, 71]


def test_mistakes_in_the_template_or_request_are_permanent(root):
    url = str(root / "v3-plain-180-180.zarr")
    plugin = ZarrSource(template())
    bbox = BBOXES["inside"][0]
    with pytest.raises(PermanentError, match="no variable 'tp'"):
        plugin.probe(bbox, url=url, source_variable="tp")
    with pytest.raises(PermanentError, match="dimensions"):
        plugin.probe(bbox, url=url, source_variable="t2m", time_name="valid_time")
    with pytest.raises(PermanentError, match="params"):
        plugin.probe(bbox, url=url, source_variable="t2m", resolution=0.1)
    with pytest.raises(PermanentError, match="no cell centre"):
        plugin.probe((4.0, -80.0, 12.0, -70.0), url=url, **SOURCE)


def test_the_era5_land_template_is_valid_and_names_this_plugin():
    era5_land = load_template(BUILTIN_DIR / "era5-land-t2m-hourly.yaml")
    assert era5_land.period_type == "hourly"
    assert era5_land.origin == pd.Period("1950-01-01T00", "h")
    assert isinstance(plugin_for(era5_land), ZarrSource)
    assert {"url", "source_variable"} <= set(source_params(era5_land))


def test_an_estimate_counts_each_chunk_a_block_reads_once(root, tmp_path):
    from jobstream_datasets.estimate import estimate_ingest

    store = "v2-consolidated-0-360"
    dataset = template(url=str(root / f"{store}.zarr"), **SOURCE)
    bbox = BBOXES["inside"][0]  # latitudes 60..50 and longitudes 4..12: chunks 0 and 1 of each
    # Hours 2020-01-01T12 .. 2020-01-02T11: half of time chunk 0, half of time chunk 1.
    # A plan made by hand: the bbox reaches past this fixture's extent, which the limits
    # would refuse, and the figures only count what the plugin reads.
    first, last, _ = planned_range(dataset, "2020-01-01T12", "2020-01-02T11")
    figures = estimate_ingest(
        DatasetStore(dataset, str(tmp_path / "repo")),
        plugin_for(dataset),
        Plan(dataset, first, last, bbox, bbox_asked=bbox),
    )
    touched = {
        path
        for path in (root / f"{store}.zarr" / "t2m").iterdir()
        if path.name[0] in "01"
        and path.name.split(".")[1] in ("0", "1")
        and path.name.split(".")[2] in ("0", "1")
    }
    assert figures["to_fetch"] == 24
    assert figures["bytes"] == sum(path.stat().st_size for path in touched)
    assert figures["bytes_basis"] == "sizes of all 2 fetches (blocks of periods read at once)"
