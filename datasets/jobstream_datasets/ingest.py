"""Ingest: fetch the periods a store lacks, in order, and commit them in batches.

The committed store is the only record of what is done. Every attempt starts by reading it,
so a retried or resumed ingest fetches only what is missing, and a batch that was fetched
but not committed when an attempt died is fetched again, never half-kept. Periods are fetched
in the plugin's blocks (see plugin.py) and written one at a time: a failing block keeps none
of its periods, and the periods of the blocks before it are committed.
"""

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from jobstream_contracts.events import DatasetCommitted, SnapshotRef
from jobstream_contracts.process import (
    HeldLease,
    JobCancelled,
    JobContext,
    PermanentError,
    ProgressCallback,
    no_progress,
)
from jobstream_infra import metrics
from jobstream_infra.tracing import TRACER

from .grid import GridSpec
from .limits import Plan, planned_range
from .periods import period_of
from .plugin import Bbox, Plugin
from .quicklook import Quicklook, render
from .store import BRANCH, DatasetStore, Stored, Writer, runs
from .templates import DatasetTemplate


@dataclass(frozen=True)
class Commits:
    """What a data job's commits say beyond the data (the job and the version of its process,
    from its JobContext): where the quick-look of the newest period goes (None: nowhere)."""

    quicklooks: Callable[[Quicklook], None] | None = None


DEFAULT_COMMITS = Commits()


@dataclass(frozen=True)
class Committing:
    """How a job's writer commits: as which job, under which lease, saying what."""

    job: JobContext
    lease: HeldLease
    commits: Commits


@dataclass
class Committer:
    """Commits a writer's pending periods and records each commit in the job's history."""

    store: DatasetStore
    writer: Writer
    # As which job, under which lease (checked before every commit), saying what.
    committing: Committing
    # For a derived dataset: the source snapshot the committed periods were computed from.
    source: SnapshotRef | None = None
    commits: int = 0

    def commit(self) -> str | None:
        if not self.writer.pending:
            return None
        job, commits = self.committing.job, self.committing.commits
        self.committing.lease.check()
        indices = sorted(self.writer.pending)
        first, last = self.store.period_id(indices[0]), self.store.period_id(indices[-1])
        metadata: dict[str, Any] = {
            "first": first,
            "last": last,
            "count": len(indices),
            "process_version": job.process_version,
            "job_id": job.job_id,
            "attempt": job.attempt,
            "process_id": job.process_id,
        }
        if self.source is not None:
            metadata |= {
                "source_dataset_id": self.source.dataset_id,
                "source_snapshot_id": self.source.snapshot_id,
            }
        nbytes = sum(values.nbytes for values in self.writer.pending.values())
        newest = self.writer.pending[indices[-1]]
        # A child of the attempt's span: the job's thread runs in a copy of its context.
        with TRACER.start_as_current_span(
            "dataset commit",
            attributes={
                "jobstream.dataset_id": self.store.template.id,
                "jobstream.periods": len(indices),
            },
        ):
            snapshot = self.writer.commit(f"{self.store.template.id}: {first} .. {last}", metadata)
        self.commits += 1
        metrics.ingest_committed(self.store.template.id, len(indices), nbytes)
        stored = record_commit(self.store, self.committing, snapshot, metadata, self.source)
        # After the record (a slow object store never delays it), under the dataset's lease.
        # A rerun's branch is no picture of the dataset: its quick-look stays the dataset's.
        on_dataset = self.store.branch == BRANCH
        if on_dataset and commits.quicklooks is not None and indices[-1] == max(stored.committed):
            self._store_quicklook(last, newest)
        return snapshot

    def _store_quicklook(self, period: str, values: np.ndarray) -> None:
        """The newest stored period's picture; older periods committed later leave it be."""
        quicklooks = self.committing.commits.quicklooks
        assert quicklooks is not None
        template = self.store.template
        picture = render(values, self.writer.grid, template.units or template.variable)
        quicklooks(Quicklook(template.id, period, picture))


def record_commit(
    store: DatasetStore,
    committing: Committing,
    snapshot: str,
    metadata: dict[str, Any],
    source: SnapshotRef | None,
) -> Stored:
    """Record in the job's history the commit ``snapshot`` (described by its ``metadata``),
    with what the repository holds now; answers that."""
    stored = store.read()
    committing.job.record(
        DatasetCommitted,
        dataset_id=store.template.id,
        store=store.location,
        snapshot_id=snapshot,
        first=metadata["first"],
        last=metadata["last"],
        count=metadata["count"],
        coverage=[(store.period_id(a), store.period_id(b)) for a, b in runs(stored.committed)],
        stored=len(stored.committed),
        process_version=metadata["process_version"],
        source=source,
        branch=store.branch,
    )
    return stored


def record_an_earlier_attempts_commit(store: DatasetStore, committing: Committing) -> None:
    """An attempt killed between its Icechunk commit and the commit's record left the dataset's
    record behind the repository, and its retry, finding the periods stored, would commit
    nothing to bring it up to date. When the newest snapshot was written by an earlier attempt
    of this job, it is recorded again: the dataset fold applies a commit twice as once."""
    newest = store.read().snapshot_id if store.exists() else None
    if newest is None:
        return
    snapshot = store.repo.lookup_snapshot(newest)
    metadata = dict(snapshot.metadata)
    job = committing.job
    if metadata.get("job_id") != job.job_id or metadata.get("attempt") == job.attempt:
        return
    source = None
    if "source_dataset_id" in metadata:
        source = SnapshotRef(
            dataset_id=metadata["source_dataset_id"], snapshot_id=metadata["source_snapshot_id"]
        )
    record_commit(store, committing, snapshot.id, metadata, source)


def grid_values(ds: xr.Dataset, variable: str, grid: GridSpec, period: str) -> np.ndarray:
    """The period's field as a (y, x) array on the dataset's grid; PermanentError otherwise."""
    if variable not in ds:
        raise PermanentError(
            f"period {period}: the source has no variable {variable!r} "
            f"(it has {sorted(map(str, ds.data_vars))})"
        )
    field = ds[variable].squeeze(drop=True)
    if set(field.dims) != {grid.y_name, grid.x_name}:
        raise PermanentError(
            f"period {period}: {variable} has dimensions {field.dims}; "
            f"expected ({grid.y_name}, {grid.x_name})"
        )
    field = field.transpose(grid.y_name, grid.x_name)
    if not grid.same_cells(field[grid.y_name].values, field[grid.x_name].values):
        raise PermanentError(f"period {period}: the source's grid differs from the dataset's")
    return np.asarray(field.values, dtype=grid.dtype)


def blocks_to_fetch(
    plugin: Plugin, ids: list[str], bbox: Bbox, params: dict[str, Any]
) -> list[list[str]]:
    """The plugin's blocks of the periods; PermanentError unless they hold them all, in order."""
    blocks = plugin.blocks_of(ids, bbox, **params)
    if [name for block in blocks for name in block] != ids:
        raise PermanentError(
            f"plugin {type(plugin).__name__} split the periods into blocks "
            f"that do not hold each of them once, in order"
        )
    return blocks


def fetch_block(
    plugin: Plugin, block: list[str], bbox: Bbox, params: dict[str, Any]
) -> list[xr.Dataset]:
    """The plugin's datasets for a block; PermanentError unless it gives one per period."""
    datasets = plugin.fetch_block(block, bbox, **params)
    if len(datasets) != len(block):
        raise PermanentError(
            f"plugin {type(plugin).__name__} gave {len(datasets)} datasets "
            f"for a block of {len(block)} periods"
        )
    return datasets


def fetch_in_order(
    plugin: Plugin, ids: list[str], bbox: Bbox, params: dict[str, Any]
) -> Iterator[tuple[str, xr.Dataset]]:
    """Fetches blocks with ``max_concurrency`` in flight, yields their periods in order."""
    window = max(1, plugin.max_concurrency)
    blocks = iter(blocks_to_fetch(plugin, ids, bbox, params))
    pending: deque[tuple[list[str], Future]] = deque()
    with ThreadPoolExecutor(window, thread_name_prefix="fetch") as pool:

        def submit_next_block() -> None:
            block = next(blocks, None)
            if block is not None:
                pending.append((block, pool.submit(fetch_block, plugin, block, bbox, params)))

        try:
            for _ in range(window):
                submit_next_block()
            while pending:
                block, future = pending.popleft()
                datasets = future.result()
                submit_next_block()
                yield from zip(block, datasets, strict=True)  # fetch_block checked the count
        finally:
            for _, future in pending:
                future.cancel()


def writing(job: JobContext, dataset_id: str) -> AbstractContextManager[HeldLease]:
    """The one-writer lease on a dataset, held for the length of a job's writes."""
    return job.hold(f"dataset.{dataset_id}")


def plan_periods(template: DatasetTemplate, start: str, end: str) -> tuple[pd.Period, pd.Period]:
    """The first and last period of a request, checked against the dataset's extent; an end
    past the newest available period is clipped to it (see limits.py)."""
    first, last, _ = planned_range(template, start, end)
    return first, last


def ingest_periods(
    store: DatasetStore,
    plugin: Plugin,
    plan: Plan,
    *,
    job: JobContext,
    overwrite: bool = False,
    on_progress: ProgressCallback = no_progress,
    commits: Commits = DEFAULT_COMMITS,
) -> dict[str, Any]:
    """Fetches the plan's periods the store lacks (all of them with ``overwrite``) and commits
    them in batches, under the dataset's lease."""
    with writing(job, store.template.id) as lease:
        return _ingest_held(
            store, plugin, plan, overwrite, Committing(job, lease, commits), on_progress
        )


def _ingest_held(
    store: DatasetStore,
    plugin: Plugin,
    plan: Plan,
    overwrite: bool,
    committing: Committing,
    on_progress: ProgressCallback,
) -> dict[str, Any]:
    template = store.template
    params = dict(template.source.params) if template.source else {}
    store.check_definition()
    record_an_earlier_attempts_commit(store, committing)
    stored = store.read()
    # Without a bbox, a stored dataset goes on over the bbox it was created with.
    bbox = plan.bbox_asked or stored.bbox or template.extent.bbox
    grid = plugin.probe(bbox, **params)
    if stored.on_other_cells(grid):
        raise PermanentError(
            f"bbox {list(bbox)} gives a grid other than the one dataset {template.id} is stored "
            f"on; ingest into it with the bbox it was created with"
        )
    wanted = plugin.periods(plan.first_id, plan.last_id)
    index = {name: store.index(period_of(name, template.period_type)) for name in wanted}
    todo = [name for name in wanted if overwrite or index[name] not in stored.committed]
    total, done = len(wanted), len(wanted) - len(todo)
    if not todo:
        on_progress(total, total, f"all {total} periods already stored")
        return _result(template, store, wanted, fetched=0, skipped=done, commits=0)
    on_progress(done, total, f"{done} of {total} periods already stored; fetching {len(todo)}")
    committer = Committer(store, store.writer(grid, bbox), committing)
    batch = max(1, plugin.commit_batch_size)
    try:
        for name, ds in fetch_in_order(plugin, todo, bbox, params):
            committer.writer.add(index[name], grid_values(ds, template.variable, grid, name))
            if len(committer.writer.pending) >= batch:
                committer.commit()
            done += 1
            on_progress(done, total, f"fetched {name}")
    except JobCancelled:
        raise  # dismissed or handed back: leave at once, the fetched rest is not kept
    except Exception:
        # Keep what was fetched before the failure, so the retry does not download it again.
        with suppress(Exception):  # the original failure is the one to report
            committer.commit()
        raise
    committer.commit()
    return _result(
        template,
        store,
        wanted,
        fetched=len(todo),
        skipped=total - len(todo),
        commits=committer.commits,
    )


def _result(
    template, store: DatasetStore, wanted: list[str], *, fetched: int, skipped: int, commits: int
) -> dict[str, Any]:
    stored = store.read()
    return {
        "dataset_id": template.id,
        "store": store.location,
        "snapshot_id": stored.snapshot_id,
        "periods": {
            "requested": len(wanted),
            "fetched": fetched,
            "skipped": skipped,
            "first": wanted[0] if wanted else None,
            "last": wanted[-1] if wanted else None,
        },
        "commits": commits,
        "stored_periods": len(stored.committed),
    }
