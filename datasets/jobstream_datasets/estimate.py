"""Estimates of an ingest before it runs: periods, bytes to download, expected duration.

Bytes come from the plugin (HEAD requests, Zarr chunk sizes). Over many periods a sample is
asked and scaled, and the answer says so. The duration comes from the throughput earlier jobs
achieved on the same dataset, read from the commit history of its repository (each commit
names its job and period count): no separate record to keep in step.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .ingest import plan_periods
from .periods import period_id, period_of
from .plugin import Bbox, Plugin
from .store import BRANCH, DatasetStore
from .templates import DatasetTemplate

# Periods whose size is asked at most; the rest is scaled from them.
SIZE_SAMPLE = 24
# Commits read back for the throughput of earlier jobs.
HISTORY_COMMITS = 500


def observed_throughput(store: DatasetStore) -> tuple[float, int] | None:
    """Periods per second over earlier jobs' runs, and how many jobs that rests on.

    A job's first commit only marks its start (its fetch time is unknown), so each job with
    two or more commits contributes the periods of the later ones over the time between.
    """
    if not store.exists():
        return None
    runs: dict[tuple, list] = {}
    for count, snapshot in enumerate(store.repo.ancestry(branch=BRANCH)):
        if count >= HISTORY_COMMITS:
            break
        meta = snapshot.metadata or {}
        if "job_id" in meta and "count" in meta:
            runs.setdefault((meta["job_id"], meta.get("attempt")), []).append(
                (snapshot.written_at, int(meta["count"]))
            )
    periods = seconds = 0.0
    jobs = 0
    for commits in runs.values():
        if len(commits) < 2:
            continue
        commits.sort()
        elapsed = (commits[-1][0] - commits[0][0]).total_seconds()
        if elapsed > 0:
            periods += sum(count for _, count in commits[1:])
            seconds += elapsed
            jobs += 1
    return (periods / seconds, jobs) if seconds > 0 else None


def _bytes(plugin: Plugin, todo: list[str], bbox: Bbox, params: dict) -> dict[str, Any]:
    """Bytes the fetches of ``todo`` download, asked per block: a source that reads many
    periods at once (a Zarr chunk along time) downloads each of its objects once."""
    if not todo:
        return {"bytes": 0, "bytes_basis": "nothing to fetch"}
    blocks = plugin.blocks_of(todo, bbox, **params)
    picks = sorted({int(i) for i in np.linspace(0, len(blocks) - 1, min(SIZE_SAMPLE, len(blocks)))})
    with ThreadPoolExecutor(max(1, plugin.max_concurrency)) as pool:
        answers = list(pool.map(lambda i: plugin.size_of_block(blocks[i], bbox, **params), picks))
    sizes = [size for size in answers if size is not None]
    if len(sizes) < len(answers):
        return {"bytes": None, "bytes_basis": "unknown: the source does not tell sizes"}
    what = "periods" if len(blocks) == len(todo) else "fetches (blocks of periods read at once)"
    if len(picks) == len(blocks):
        return {"bytes": int(sum(sizes)), "bytes_basis": f"sizes of all {len(blocks)} {what}"}
    sampled = sum(len(blocks[i]) for i in picks)
    return {
        "bytes": int(round(sum(sizes) / sampled * len(todo))),
        "bytes_basis": f"sizes of {len(picks)} of {len(blocks)} {what}, scaled by periods",
    }


def estimate_ingest(
    template: DatasetTemplate,
    store: DatasetStore,
    plugin: Plugin,
    start: str,
    end: str,
    bbox: Bbox | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    first, last = plan_periods(template, start, end)
    kind = template.period_type
    params = dict(template.source.params) if template.source else {}
    bbox = bbox if bbox is not None else template.extent.bbox
    wanted = plugin.periods(period_id(first, kind), period_id(last, kind))
    committed = store.read().committed if store.exists() else frozenset()
    todo = [
        name for name in wanted if overwrite or store.index(period_of(name, kind)) not in committed
    ]
    estimate: dict[str, Any] = {
        "dataset_id": template.id,
        "periods": len(wanted),
        "stored": len(wanted) - len(todo),
        "to_fetch": len(todo),
        **_bytes(plugin, todo, bbox, params),
        "duration_seconds": None,
        "throughput_periods_per_second": None,
        "duration_basis": "unknown: no earlier job of this dataset to learn from",
    }
    observed = observed_throughput(store)
    if observed is not None:
        rate, jobs = observed
        estimate |= {
            "duration_seconds": round(len(todo) / rate, 1),
            "throughput_periods_per_second": round(rate, 2),
            "duration_basis": f"throughput of {jobs} earlier job(s) of this dataset",
        }
    return estimate
