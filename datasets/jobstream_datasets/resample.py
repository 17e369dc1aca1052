"""Resample: a derived dataset of coarser periods computed from a stored source dataset.

Each output period covers whole source periods ([start, next start), labelled by its start,
as ``xarray``'s ``resample(closed="left", label="left")``). An output period is computed only
when every source period it covers is stored; the others (the incomplete first and last,
and any with a gap) are dropped and reported, never filled from partial data.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from jobstream_contracts.events import SnapshotRef, rerun_branch
from jobstream_contracts.process import JobContext, PermanentError, ProgressCallback, no_progress

from . import cf
from .checks import FREQUENCIES, nothing_stored, resampled_period_type
from .grid import GridSpec
from .ingest import (
    DEFAULT_COMMITS,
    Commits,
    Committer,
    Committing,
    plan_periods,
    record_an_earlier_attempts_commit,
    writing,
)
from .periods import before, earlier, later, period_id
from .store import DatasetStore
from .templates import DatasetTemplate

METHODS = ("mean", "sum", "min", "max")
# Output periods per commit.
COMMIT_BATCH = 12


def derived_template(
    source: DatasetTemplate, dataset_id: str, frequency: str, method: str
) -> DatasetTemplate:
    """The template of an ad hoc derived dataset (one no template file declares)."""
    kind = FREQUENCIES[frequency]
    return DatasetTemplate.model_validate(
        {
            "id": dataset_id,
            # Read as a title: "synthetic-daily, monthly mean".
            "name": f"{source.id}, {kind.value} {method}",
            "description": f"Resampled from {source.id} ({method}, {frequency}).",
            "variable": source.variable,
            "units": cf.resampled_units(source, method),
            "period_type": kind.value,
            "extent": {
                "bbox": list(source.extent.bbox),
                "start": period_id(source.origin.start_time.to_period(kind.freq), kind),
            },
            "sync_kind": "derived",
            "source_dataset": source.id,
            "processing": {
                "process_id": "resample",
                "params": {"frequency": frequency, "method": method},
            },
        }
    )


def _reduce(block: xr.DataArray, method: str) -> np.ndarray:
    if method == "sum":
        # min_count keeps a cell that is missing in every period missing, not 0.
        return block.sum("time", min_count=1).values
    return getattr(block, method)("time").values


@dataclass(frozen=True)
class Resampling:
    """A resample: ``target`` computed from ``source`` by ``method`` over periods of
    ``frequency``, for the output periods from ``start`` to ``end`` (all when None)."""

    source: DatasetStore
    target: DatasetStore
    frequency: str
    method: str
    start: str | None = None
    end: str | None = None


def resample_dataset(
    resampling: Resampling,
    *,
    job: JobContext,
    on_progress: ProgressCallback = no_progress,
    commits: Commits = DEFAULT_COMMITS,
) -> dict[str, Any]:
    with writing(job, resampling.target.template.id) as lease:
        return _resample_held(resampling, Committing(job, lease, commits), on_progress)


def _resample_held(
    resampling: Resampling, committing: Committing, on_progress: ProgressCallback
) -> dict[str, Any]:
    job = committing.job
    source_store, target_store = resampling.source, written_by(resampling.target, job)
    source, target = source_store.template, target_store.template
    frequency, method = resampling.frequency, resampling.method
    start, end = resampling.start, resampling.end
    kind = resampled_period_type(frequency, source)
    if method not in METHODS:
        raise PermanentError(f"method {method!r} is not one of {', '.join(METHODS)}")
    if kind != target.period_type:
        raise PermanentError(
            f"dataset {target.id} holds {target.period_type} periods; "
            f"frequency {frequency} gives {kind}"
        )
    target_store.check_definition()
    record_an_earlier_attempts_commit(target_store, committing)
    # A rerun reads the source at the snapshot its original read: SnapshotGone if it is not kept.
    session = source_store.session(job.pinned_snapshots.get(source.id))
    stored = source_store.read(session)
    if stored.empty:
        raise nothing_stored(source, "source_dataset_id")
    # A store with periods has its grid's coordinates.
    assert stored.y is not None and stored.x is not None
    ds = xr.open_zarr(session.store, consolidated=False)
    committed = ds["committed"].values.astype(bool)

    # Output periods touching the stored source range, within [start, end] if given.
    first_src = source.origin + min(stored.committed)
    last_src = source.origin + max(stored.committed)
    first = first_src.start_time.to_period(kind.freq)
    last = last_src.start_time.to_period(kind.freq)
    if start is not None or end is not None:
        lower, upper = plan_periods(
            target, start or period_id(first, kind), end or period_id(last, kind)
        )
        first, last = later(first, lower), earlier(last, upper)

    complete, dropped = [], []
    period = first
    while not before(last, period):
        begin = source_store.index(period.start_time.to_period(source.period_type.freq))
        stop = source_store.index(period.end_time.to_period(source.period_type.freq))
        covered = committed[max(begin, 0) : stop + 1]
        if begin >= 0 and len(covered) == stop - begin + 1 and covered.all():
            complete.append((period, begin, stop))
        else:
            stored_count = int(covered.sum())
            dropped.append(
                {
                    "period": period_id(period, kind),
                    "stored": stored_count,
                    "needed": stop - begin + 1,
                }
            )
        period += 1
    total = len(complete)
    on_progress(0, total, f"{total} complete {kind} periods to compute; {len(dropped)} dropped")

    y_name, x_name = ds.attrs["y_name"], ds.attrs["x_name"]
    values = ds[source.variable]
    grid = GridSpec(
        y=stored.y,
        x=stored.x,
        y_name=y_name,
        x_name=x_name,
        crs=ds.attrs.get("crs", "EPSG:4326"),
        dtype="float64" if method == "mean" and values.dtype.kind != "f" else str(values.dtype),
        chunks=values.encoding.get("chunks", (1, *stored.y.shape, *stored.x.shape))[1:],
    )
    target_stored = target_store.read()
    if target_stored.on_other_cells(grid):
        raise PermanentError(f"dataset {target.id} is stored on another grid than its source")
    source_ref = SnapshotRef(dataset_id=source.id, snapshot_id=session.snapshot_id)
    committer = Committer(target_store, target_store.writer(grid), committing, source_ref)
    for done, (period, begin, stop) in enumerate(complete, start=1):
        block = values.isel(time=slice(begin, stop + 1)).load()
        committer.writer.add(target_store.index(period), _reduce(block, method).astype(grid.dtype))
        if len(committer.writer.pending) >= COMMIT_BATCH:
            committer.commit()
        on_progress(done, total, f"computed {period_id(period, kind)}")
    committer.commit()
    return {
        "dataset_id": target.id,
        "source_dataset_id": source.id,
        "source_snapshot_id": session.snapshot_id,
        "frequency": frequency,
        "method": method,
        "computed": total,
        "first": period_id(complete[0][0], kind) if complete else None,
        "last": period_id(complete[-1][0], kind) if complete else None,
        "dropped": dropped,
        "snapshot_id": target_store.read().snapshot_id,
        "store": target_store.location,
        "branch": target_store.branch,
    }


def written_by(target: DatasetStore, job: JobContext) -> DatasetStore:
    """The store as ``job`` writes it: a rerun on a branch of its own, so a reproduction of an
    older result never replaces the dataset's current periods with older ones."""
    if job.rerun_of is None:
        return target
    return target.branch_off(rerun_branch(job.job_id))
