"""One big Zarr store with a time axis as a source: a period is one time step of it.

Made for ARCO copies of ERA5-Land (hourly, 0.1°, latitude descending, longitude 0..360), it
reads any store zarr reaches through fsspec: https://, s3://, gs://, file:// or a path, Zarr v2
or v3, consolidated metadata or not (without it zarr lists the store, which plain HTTP servers
mostly cannot answer). Params: ``url``, ``source_variable``, the source's ``time_name``,
``y_name`` and ``x_name`` (ERA5's names by default) and fsspec ``storage_options``.

Decisions:
- The crop is every cell whose centre lies in the bbox, edges included. Latitudes keep the
  source's order (ERA5's is north first): a grid lists cells in the order its data arrives.
- Longitudes are degrees on a circle. Each is moved by a multiple of 360 into the bbox's frame
  [west, west + 360), so a 0..360 source answers a -180..180 bbox, the reverse, and a bbox
  across the antimeridian alike. Cells come in increasing longitude of that frame, which may
  join two runs of the source: 350..359.9 then 0..10 for a bbox from -10 to 10.
- A period is the source's time step equal to the period's first instant, exactly. A period
  before the source's first step is a PermanentError; any other missing one raises
  PeriodUnavailable, which the job machinery retries: the source may not have published it.
- The store is opened once per plugin instance, that is per job attempt: metadata and
  coordinates only, read again by the next attempt, which so sees steps published meanwhile.
- A read fetches the chunks its crop touches and decodes them whole, so a store chunked for
  time series (ERA5-Land at Earth Data Hub: 1440 hours a chunk) would cost a whole chunk per
  hour. Ingest therefore reads blocks: consecutive periods whose steps lie in one time chunk,
  read with one selection. A block's crop stays under ``block_bytes`` decoded, so a large
  crop takes several blocks per chunk. A period the source lacks is a block of its own, so
  the periods before it are still kept when it fails.
- size_of (size_of_block) is what the store reports for the chunk objects a fetch of the
  period (the block) touches, each counted once, their compressed size; a chunk never
  written costs nothing. None when the store reports no sizes, or when the array is sharded:
  a fetch reads parts of a shard and the store only knows whole shards. A period the source
  lacks raises as in fetch_period.
"""

import inspect
import json
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from itertools import product
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import xarray as xr
import zarr

from jobstream_contracts.process import PermanentError

from ..grid import GridSpec
from ..periods import period_of
from ..plugin import Bbox, Plugin

# A cell centre this close outside a bbox edge counts as inside: coordinates stored as float32
# or computed as n * 0.1 miss the round values bboxes are written with by far less.
_EDGE = 1e-6


class PeriodUnavailable(LookupError):
    """The source has no time step for a period yet; a later attempt may find it."""


@dataclass(frozen=True)
class _Source:
    data: xr.DataArray  # the source variable, lazy: nothing is read until it is indexed
    array: zarr.Array  # the same variable's Zarr metadata: chunk shape and chunk keys
    fs: fsspec.AbstractFileSystem
    root: str  # the store's root, as fs names it
    times: pd.DatetimeIndex
    # Each time's first step, found by hashing: a scan of ERA5-Land's 660k hours takes a
    # millisecond, and blocks_of looks up every period of an ingest before the first fetch.
    steps: pd.Series
    time_name: str
    y_name: str
    x_name: str


@dataclass(frozen=True)
class _Crop:
    y_index: np.ndarray
    x_index: np.ndarray
    y: np.ndarray
    x: np.ndarray  # in the bbox's frame of longitudes


def _open(
    url: str,
    source_variable: str,
    time_name: str = "time",
    y_name: str = "latitude",
    x_name: str = "longitude",
    storage_options: dict[str, Any] | None = None,
) -> _Source:
    group = zarr.open_group(url, mode="r", storage_options=storage_options or None)
    dataset = xr.open_zarr(
        group.store, chunks=None, consolidated=group.metadata.consolidated_metadata is not None
    )
    if source_variable not in dataset.data_vars:
        raise PermanentError(
            f"{url} has no variable {source_variable!r} "
            f"(it has {sorted(map(str, dataset.data_vars))})"
        )
    data = dataset[source_variable]
    dims = (time_name, y_name, x_name)
    if set(data.dims) != set(dims) or not set(dims) <= set(dataset.indexes):
        raise PermanentError(
            f"{source_variable} in {url} has dimensions {data.dims}; expected "
            f"{dims}, each with a coordinate (params time_name, y_name, x_name)"
        )
    times = dataset.indexes[time_name]
    if not isinstance(times, pd.DatetimeIndex):
        raise PermanentError(f"{time_name} in {url} does not decode to dates: {times.dtype}")
    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    first_steps = ~times.duplicated()
    steps = pd.Series(np.flatnonzero(first_steps), index=times[first_steps])
    array = group[source_variable]
    # xarray has just read the variable from this group as an array.
    assert isinstance(array, zarr.Array)
    return _Source(data, array, fs, root.rstrip("/"), times, steps, *dims)


def _crop(source: _Source, bbox: Bbox) -> _Crop:
    west, south, east, north = bbox
    y = source.data[source.y_name].values
    x = source.data[source.x_name].values.astype("float64")
    y_index = np.flatnonzero((y >= south - _EDGE) & (y <= north + _EDGE))
    # Shift by whole turns into [west, west + 360); a longitude already there stays exact.
    framed = x + 360.0 * np.ceil((west - _EDGE - x) / 360.0)
    x_index = np.flatnonzero(framed <= east + _EDGE)
    x_index = x_index[np.argsort(framed[x_index], kind="stable")]
    if not (y_index.size and x_index.size):
        raise PermanentError(f"bbox {list(bbox)} holds no cell centre of the source")
    return _Crop(y_index, x_index, y[y_index], framed[x_index])


def _chunks(source: _Source) -> dict[Hashable, int]:
    """The source's chunk length along each of its dimensions."""
    # The variable and its Zarr array are one array: a chunk length per dimension.
    return dict(zip(source.data.dims, source.array.chunks, strict=True))


def _grid(source: _Source, crop: _Crop) -> GridSpec:
    chunks = _chunks(source)
    return GridSpec(
        y=crop.y,
        x=crop.x,
        dtype=str(source.data.dtype),
        chunks=(chunks[source.y_name], chunks[source.x_name]),
    )


def _stored_size(fs: fsspec.AbstractFileSystem, path: str) -> int | None:
    try:
        return fs.size(path)
    except FileNotFoundError:
        return 0  # never written: zarr reads the fill value and downloads nothing


def _joins_block(step: int | None, first: int | None, span: int, chunk: int) -> bool:
    """Whether a step is read with the block whose first step is ``first``: in the same time
    chunk and fewer than ``span`` steps on. A step the source lacks (None) joins nothing."""
    return (
        step is not None
        and first is not None
        and first <= step < first + span
        and step // chunk == first // chunk
    )


class ZarrSource(Plugin):
    max_concurrency = 4
    # A day of hourly periods per commit.
    commit_batch_size = 24
    # The cropped values of one block, decoded. Up to max_concurrency blocks are held at once,
    # besides the chunks zarr decodes on the way, whose size the source fixes.
    block_bytes = 256 * 2**20

    def __init__(self, template) -> None:
        super().__init__(template)
        self._lock = threading.Lock()
        self._sources: dict[str, _Source] = {}

    def probe(self, bbox: Bbox, **params: Any) -> GridSpec:
        source = self._source(params)
        return _grid(source, _crop(source, bbox))

    def fetch_period(self, period_id: str, bbox: Bbox, **params: Any) -> xr.Dataset:
        return self.fetch_block([period_id], bbox, **params)[0]

    def blocks_of(self, period_ids: list[str], bbox: Bbox, **params: Any) -> list[list[str]]:
        source = self._source(params)
        crop = _crop(source, bbox)
        step_bytes = crop.y.size * crop.x.size * source.data.dtype.itemsize
        span = max(1, self.block_bytes // step_bytes)
        chunk = _chunks(source)[source.time_name]
        blocks: list[list[str]] = []
        first = None  # the first step of the last block; None when it takes no more periods
        for name in period_ids:
            step = self._time_step_if_held(source, name)
            if _joins_block(step, first, span, chunk):
                blocks[-1].append(name)
            else:
                blocks.append([name])
                first = step
        return blocks

    def fetch_block(self, period_ids: list[str], bbox: Bbox, **params: Any) -> list[xr.Dataset]:
        source = self._source(params)
        crop = _crop(source, bbox)
        grid = _grid(source, crop)
        steps = [self._time_step(source, name) for name in period_ids]
        first = min(steps)
        field = source.data.isel(
            {
                source.time_name: slice(first, max(steps) + 1),
                source.y_name: crop.y_index,
                source.x_name: crop.x_index,
            }
        )
        # The only remote read: each chunk the block touches is fetched and decoded once.
        values = field.transpose(source.time_name, source.y_name, source.x_name).values
        return [
            xr.Dataset(
                {self.variable: ((grid.y_name, grid.x_name), values[step - first])},
                coords={grid.y_name: grid.y, grid.x_name: grid.x},
            )
            for step in steps
        ]

    def size_of(self, period_id: str, bbox: Bbox, **params: Any) -> int | None:
        return self.size_of_block([period_id], bbox, **params)

    def size_of_block(self, period_ids: list[str], bbox: Bbox, **params: Any) -> int | None:
        source = self._source(params)
        if source.array.shards is not None:
            return None
        crop = _crop(source, bbox)
        touched: dict[Hashable, list[int] | np.ndarray] = {
            source.time_name: [self._time_step(source, name) for name in period_ids],
            source.y_name: crop.y_index,
            source.x_name: crop.x_index,
        }
        chunk_indices = [
            np.unique(np.asarray(touched[dim]) // size) for dim, size in _chunks(source).items()
        ]
        total = 0
        for chunk in product(*chunk_indices):
            key = source.array.metadata.encode_chunk_key(tuple(int(i) for i in chunk))
            size = _stored_size(source.fs, f"{source.root}/{source.array.path}/{key}")
            if size is None:
                return None
            total += size
        return total

    def _source(self, params: dict[str, Any]) -> _Source:
        try:
            inspect.signature(_open).bind(**params)
        except TypeError as exc:
            raise PermanentError(f"zarr source params {sorted(params)}: {exc}") from None
        key = json.dumps(params, sort_keys=True, default=str)
        # Held while opening, so threads fetching at once open the store once between them.
        with self._lock:
            if key not in self._sources:
                self._sources[key] = _open(**params)
            return self._sources[key]

    def _time_step_if_held(self, source: _Source, period_id: str) -> int | None:
        step = source.steps.get(period_of(period_id, self.period_type).start_time)
        return None if step is None else int(step)

    def _time_step(self, source: _Source, period_id: str) -> int:
        step = self._time_step_if_held(source, period_id)
        if step is not None:
            return step
        start = period_of(period_id, self.period_type).start_time
        times = source.times
        if times.size:
            first, last = times[0], times[-1]
            # pandas types an item of an index as an index or anything; a DatetimeIndex's
            # items are Timestamps.
            assert isinstance(first, pd.Timestamp) and isinstance(last, pd.Timestamp)
            if start < first:
                raise PermanentError(
                    f"period {period_id} is before the source's first time {first.isoformat()}"
                )
            held = f"it holds {first.isoformat()} .. {last.isoformat()}"
        else:
            held = "it holds no time yet"
        raise PeriodUnavailable(
            f"period {period_id}: the source has no time "
            f"{start.isoformat()} ({held}); it may not be published yet"
        )
