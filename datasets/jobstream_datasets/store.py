"""A dataset's Icechunk repository: the record of which periods are stored.

Layout (one Zarr group, readable with ``xarray.open_zarr``):
- ``<variable>[time, y, x]``, one period per chunk along time;
- ``time``, ``<y>``, ``<x>`` coordinates; the time axis starts at the template's first period
  and grows as later periods are written; ``time_bnds[time, nv]``, each period's start and
  next start, CF's bounds of the time axis (what a resampled mean or sum was taken over);
- ``committed[time]``, 1 where a period is stored. It is written in the same commit as the
  data, so a period is either stored and marked or neither: a crash between commits loses
  the uncommitted periods and nothing else, and a resumed job reads this to skip the rest;
- ``spatial_ref``, a scalar carrying the CRS as CF's grid mapping, which the variable names.

Attributes follow the CF conventions (see ``cf``) and are all netCDF-typed, so an opened
store writes to NetCDF as it is.
"""

import json
import os
from dataclasses import dataclass
from typing import Any

import icechunk
import numpy as np
import pandas as pd
import zarr
from zarr.errors import GroupNotFoundError

from jobstream_contracts.events import MAIN_BRANCH
from jobstream_contracts.process import PermanentError, SnapshotGone

from . import cf
from .grid import GridSpec
from .locations import repository_exists, storage_for
from .periods import index_of, period_id
from .templates import Bbox, DatasetTemplate

if "ICECHUNK_LOG" not in os.environ:
    # Icechunk warns at every open that local storage is unsafe for concurrent commits; the
    # one-writer lease of the data processes is what makes it safe, so the warning is noise.
    icechunk.set_logs_filter("icechunk=warn,icechunk::storage::object_store=error")

COMMITTED = "committed"
BRANCH = MAIN_BRANCH
_EPOCH = pd.Timestamp("1970-01-01")


def location_of(root: str, dataset_id: str) -> str:
    return f"{root.rstrip('/')}/{dataset_id}"


@dataclass(frozen=True)
class Stored:
    """What a repository holds, read from its newest snapshot."""

    snapshot_id: str | None
    committed: frozenset[int]
    y: np.ndarray | None = None
    x: np.ndarray | None = None
    # The bbox the dataset was created with (None if written before bboxes were kept).
    bbox: Bbox | None = None

    @property
    def empty(self) -> bool:
        return self.y is None

    def on_other_cells(self, grid: GridSpec) -> bool:
        """Whether the repository holds periods on cells other than ``grid``'s."""
        return self.y is not None and self.x is not None and not grid.same_cells(self.y, self.x)


class DatasetStore:
    """A dataset's repository, read and written on ``branch``: the dataset's own (``main``),
    or a rerun's beside it (``branch_off``)."""

    def __init__(self, template: DatasetTemplate, location: str, branch: str = BRANCH) -> None:
        self.template = template
        self.location = location
        self.branch = branch
        self.origin = template.origin
        self._repo: icechunk.Repository | None = None

    @property
    def repo(self) -> icechunk.Repository:
        if self._repo is None:
            self._repo = icechunk.Repository.open_or_create(storage_for(self.location))
        return self._repo

    def exists(self) -> bool:
        return repository_exists(self.location)

    def branch_off(self, branch: str) -> "DatasetStore":
        """The repository written on ``branch``, made empty (at the repository's first
        snapshot) unless it exists: what a rerun writes holds only what the rerun wrote."""
        if branch not in self.repo.list_branches():
            # A walk of main's history, once per rerun: Icechunk names no first snapshot.
            first = list(self.repo.ancestry(branch=BRANCH))[-1]
            self.repo.create_branch(branch, first.id)
        store = DatasetStore(self.template, self.location, branch)
        store._repo = self._repo
        return store

    def session(self, snapshot_id: str | None = None) -> icechunk.Session:
        """A read-only session at ``snapshot_id``, or at the branch's newest snapshot;
        SnapshotGone when the repository no longer holds that snapshot (or never did)."""
        if snapshot_id is None:
            return self.repo.readonly_session(branch=self.branch)
        try:
            return self.repo.readonly_session(snapshot_id=snapshot_id)
        except icechunk.IcechunkError as exc:
            # Icechunk's message runs to a trace of its internals; its first line says why.
            reason = str(exc).strip().splitlines()[0].lstrip("x ").strip()
            raise SnapshotGone(
                f"snapshot {snapshot_id} of dataset {self.template.id} is no longer in its "
                f"repository ({reason})"
            ) from None

    def read(self, session: icechunk.Session | None = None) -> Stored:
        """What the repository holds at ``session`` (the branch's newest snapshot if None)."""
        if session is None:
            session = self.session()
        try:
            root = zarr.open_group(session.store, mode="r")
        except GroupNotFoundError:  # a new repository: nothing written yet
            return Stored(session.snapshot_id, frozenset())
        if COMMITTED not in root:
            return Stored(session.snapshot_id, frozenset())
        y_name, x_name = root.attrs["y_name"], root.attrs["x_name"]
        # Written by Writer._ensure_layout, with the arrays, as the names of the coordinates.
        assert isinstance(y_name, str) and isinstance(x_name, str)
        return Stored(
            snapshot_id=session.snapshot_id,
            committed=frozenset(np.flatnonzero(_values(root, COMMITTED)).tolist()),
            y=_values(root, y_name),
            x=_values(root, x_name),
            bbox=_bbox(root.attrs.get("bbox")),
        )

    def check_definition(self) -> None:
        """Refuse to write a repository whose data was defined otherwise than the template."""
        session = self.session()
        try:
            kept = zarr.open_group(session.store, mode="r").attrs.get("definition")
        except GroupNotFoundError:
            return  # nothing written yet
        stored = cf.stored_definition(kept)
        if stored is None:
            return  # written before definitions were kept
        # As the store keeps it: JSON has lists where the template may have tuples.
        wanted = json.loads(cf.definition_text(self.template.definition()))
        differing = [
            f"{key}: {stored.get(key)!r}, not {wanted.get(key)!r}"
            for key in sorted(wanted.keys() | stored.keys())
            if wanted.get(key) != stored.get(key)
        ]
        if differing:
            raise PermanentError(
                f"dataset {self.template.id} is stored with another definition "
                f"({'; '.join(differing)}); write it under a new id"
            )

    def index(self, period: pd.Period) -> int:
        return index_of(period, self.origin)

    def period_id(self, index: int) -> str:
        return period_id(self.origin + index, self.template.period_type)

    def writer(self, grid: GridSpec, bbox: Bbox | None = None) -> "Writer":
        return Writer(self, grid, bbox)


def _bbox(value: Any) -> Bbox | None:
    if not isinstance(value, list) or len(value) != 4:
        return None
    west, south, east, north = (float(v) for v in value)
    return (west, south, east, north)


def _seconds(instants: pd.DatetimeIndex) -> np.ndarray:
    return ((instants - _EPOCH) // pd.Timedelta(seconds=1)).to_numpy()


def _array(root: zarr.Group, name: str) -> zarr.Array:
    """One of the layout's arrays (zarr types a group's member as an array or a group)."""
    array = root[name]
    assert isinstance(array, zarr.Array), f"{name} is a group, not an array"
    return array


def _values(root: zarr.Group, name: str) -> np.ndarray:
    """All values of one of the layout's one-dimensional arrays."""
    return np.asarray(_array(root, name)[:])


def runs(indices: list[int] | frozenset[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted indices: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    found: list[tuple[int, int]] = []
    for index in sorted(indices):
        if found and index == found[-1][1] + 1:
            found[-1] = (found[-1][0], index)
        else:
            found.append((index, index))
    return found


class Writer:
    """Writes periods into a session and commits them; one writer per job attempt."""

    def __init__(self, store: DatasetStore, grid: GridSpec, bbox: Bbox | None = None) -> None:
        self.store = store
        self.grid = grid
        self.bbox = bbox
        self.template = store.template
        self.session = store.repo.writable_session(store.branch)
        self.pending: dict[int, np.ndarray] = {}

    def add(self, index: int, values: np.ndarray) -> None:
        if values.shape != self.grid.shape:
            raise ValueError(
                f"period {self.store.period_id(index)} has shape {values.shape}; "
                f"the dataset's grid is {self.grid.shape}"
            )
        self.pending[index] = values

    def commit(self, message: str, metadata: dict[str, Any]) -> str:
        """Write the pending periods and commit them with their committed flags.

        Raises icechunk.ConflictError when another writer committed since this session began:
        nothing of this batch is stored then, and the caller starts again from the store.
        """
        root = zarr.open_group(self.session.store, mode="a")
        self._ensure_layout(root, max(self.pending) + 1)
        data = _array(root, self.template.variable)
        flags = _array(root, COMMITTED)
        for first, last in runs(list(self.pending)):
            data[first : last + 1] = np.stack([self.pending[i] for i in range(first, last + 1)])
            flags[first : last + 1] = 1
        snapshot = self.session.commit(message, metadata=metadata)
        self.pending.clear()
        self.session = self.store.repo.writable_session(self.store.branch)
        return snapshot

    def _ensure_layout(self, root: zarr.Group, length: int) -> None:
        if COMMITTED not in root:
            self._create_layout(root)
        if root.attrs.get("Conventions") != cf.CONVENTIONS:
            # A store created before the CF attributes: given them with this commit.
            self._describe(root)
        grid, template = self.grid, self.template
        if cf.TIME_BOUNDS not in root:
            # Before `time` is read: its resize writes back the attributes it was read with.
            self._bound_time(root, _array(root, "time").shape[0])
        time = _array(root, "time")
        current = time.shape[0]
        if length <= current:
            return
        time.resize((length,))
        _array(root, cf.TIME_BOUNDS).resize((length, 2))
        _array(root, COMMITTED).resize((length,))
        _array(root, template.variable).resize((length, *grid.shape))
        self._time_periods(root, current, length)

    def _time_periods(self, root: zarr.Group, first: int, stop: int) -> None:
        """Periods [first, stop) on the time axis: their starts, and their bounds (start and
        next start: a period is [start, next start))."""
        periods = pd.period_range(self.store.origin + first, periods=stop - first)
        starts, ends = _seconds(periods.start_time), _seconds((periods + 1).start_time)
        _array(root, "time")[first:stop] = starts
        _array(root, cf.TIME_BOUNDS)[first:stop] = np.stack([starts, ends], axis=1)

    def _bound_time(self, root: zarr.Group, length: int) -> None:
        """The time axis's CF bounds: made with the layout, and for stores written before
        bounds, by their next write (filled for the periods the axis has)."""
        root.create_array(
            cf.TIME_BOUNDS,
            shape=(length, 2),
            dtype="int64",
            chunks=(4096, 2),
            dimension_names=["time", "nv"],
            fill_value=0,
            # No attributes: CF has a bounds variable take its coordinate's (xarray drops
            # copies of them when it writes NetCDF).
        )
        _array(root, "time").attrs["bounds"] = cf.TIME_BOUNDS
        if length:
            self._time_periods(root, 0, length)

    def _create_layout(self, root: zarr.Group) -> None:
        grid, template = self.grid, self.template
        root.attrs.update(
            {
                "dataset_id": template.id,
                "crs": grid.crs,
                "period_type": template.period_type.value,
                "origin": period_id(self.store.origin, template.period_type),
                "y_name": grid.y_name,
                "x_name": grid.x_name,
                "definition": cf.definition_text(template.definition()),
            }
        )
        if self.bbox is not None:
            root.attrs["bbox"] = list(self.bbox)
        for name, values in ((grid.y_name, grid.y), (grid.x_name, grid.x)):
            array = root.create_array(
                name,
                shape=values.shape,
                dtype="float64",
                chunks=values.shape,
                dimension_names=[name],
            )
            array[:] = values
        root.create_array(
            "time",
            shape=(0,),
            dtype="int64",
            chunks=(4096,),
            dimension_names=["time"],
            fill_value=0,
            attributes={
                "units": "seconds since 1970-01-01 00:00:00",
                "calendar": "proleptic_gregorian",
            },
        )
        root.create_array(
            COMMITTED,
            shape=(0,),
            dtype="uint8",
            chunks=(4096,),
            dimension_names=["time"],
            fill_value=0,
            attributes={"long_name": "1 where the period is stored"},
        )
        fill = np.nan if np.dtype(grid.dtype).kind == "f" else (grid.nodata or 0)
        root.create_array(
            template.variable,
            shape=(0, *grid.shape),
            dtype=grid.dtype,
            chunks=(1, *grid.chunk_shape),
            fill_value=fill,
            dimension_names=["time", grid.y_name, grid.x_name],
        )

    def _describe(self, root: zarr.Group) -> None:
        """The CF attributes: conventions, title, coordinates, the grid mapping and the data
        variable's units and cell methods; a definition kept as a dict becomes JSON text."""
        grid, template = self.grid, self.template
        root.attrs.update(cf.root_attributes(template))
        definition = cf.stored_definition(root.attrs.get("definition"))
        if definition is not None:
            root.attrs["definition"] = cf.definition_text(definition)
        for name, attributes in cf.grid_attributes(grid).items():
            _array(root, name).attrs.update(attributes)
        _array(root, "time").attrs.update(cf.TIME_ATTRIBUTES)
        _array(root, template.variable).attrs.update(cf.variable_attributes(template))
        if cf.GRID_MAPPING not in root:
            root.create_array(
                cf.GRID_MAPPING,
                shape=(),
                dtype="int32",
                fill_value=0,
                dimension_names=[],
                attributes=cf.grid_mapping_attributes(grid.crs),
            )
