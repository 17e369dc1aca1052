"""Estimates of an ingest before it runs: periods, bytes to download, expected duration.

Bytes come from the plugin (HEAD requests, Zarr chunk sizes). Over many periods a sample is
asked and scaled, and the answer says so. The duration comes from the throughput earlier jobs
achieved on the same dataset, read from the commit history of its repository (each commit
names its job and period count): no separate record to keep in step.

The caller has checked the plan against the limits (limits.py), so the periods listed here
are bounded. Under an executor the estimate has a budget: it checks it between steps and
stops waiting for size requests when it runs out (those threads are left to their own
timeouts; no new one starts).
"""

from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from jobstream_executor.announce import Budget

from .limits import Plan
from .periods import period_of
from .plugin import Bbox, Plugin
from .store import BRANCH, DatasetStore

# Periods whose size is asked at most; the rest is scaled from them.
SIZE_SAMPLE = 24
# Commits read back for the throughput of earlier jobs.
HISTORY_COMMITS = 500
# Seconds between looks at the budget while sizes are being asked.
BUDGET_POLL = 0.1


def _check(budget: Budget | None) -> None:
    if budget is not None:
        budget.check()


def observed_throughput(
    store: DatasetStore, budget: Budget | None = None
) -> tuple[float, int] | None:
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
        _check(budget)
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


def _sizes(
    plugin: Plugin, blocks: list[list[str]], bbox: Bbox, params: dict, budget: Budget | None
) -> list[int | None]:
    """The sizes of ``blocks``, ``max_concurrency`` asked at a time, while the budget lasts:
    when it runs out the queued requests are dropped and the running ones left to finish."""
    pool = ThreadPoolExecutor(max(1, plugin.max_concurrency), thread_name_prefix="size")
    try:
        futures = [pool.submit(plugin.size_of_block, block, bbox, **params) for block in blocks]
        pending = set(futures)
        while pending:
            _check(budget)
            done, pending = wait(pending, timeout=BUDGET_POLL, return_when=FIRST_EXCEPTION)
            for future in done:
                if (error := future.exception()) is not None:
                    raise error
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _bytes(
    plugin: Plugin, todo: list[str], bbox: Bbox, params: dict, budget: Budget | None = None
) -> dict[str, Any]:
    """Bytes the fetches of ``todo`` download, asked per block: a source that reads many
    periods at once (a Zarr chunk along time) downloads each of its objects once."""
    if not todo:
        return {"bytes": 0, "bytes_basis": "nothing to fetch"}
    blocks = plugin.blocks_of(todo, bbox, **params)
    picks = sorted({int(i) for i in np.linspace(0, len(blocks) - 1, min(SIZE_SAMPLE, len(blocks)))})
    answers = _sizes(plugin, [blocks[i] for i in picks], bbox, params, budget)
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


def _to_fetch(
    store: DatasetStore, wanted: list[str], overwrite: bool, budget: Budget | None
) -> list[str]:
    kind = store.template.period_type
    committed = store.read().committed if store.exists() else frozenset()
    todo = []
    for count, name in enumerate(wanted):
        if count % 1000 == 0:
            _check(budget)
        if overwrite or store.index(period_of(name, kind)) not in committed:
            todo.append(name)
    return todo


def estimate_ingest(
    store: DatasetStore,
    plugin: Plugin,
    plan: Plan,
    overwrite: bool = False,
    budget: Budget | None = None,
) -> dict[str, Any]:
    """What ingesting the plan into ``store`` takes: periods to fetch, bytes, duration."""
    template = plan.template
    params = dict(template.source.params) if template.source else {}
    # What the ingest fetches: the bbox asked for, the stored dataset's, or the extent.
    bbox = plan.bbox_asked or (store.read().bbox if store.exists() else None)
    bbox = bbox or template.extent.bbox
    wanted = plugin.periods(plan.first_id, plan.last_id)
    todo = _to_fetch(store, wanted, overwrite, budget)
    estimate: dict[str, Any] = {
        "dataset_id": template.id,
        "periods": len(wanted),
        "stored": len(wanted) - len(todo),
        "to_fetch": len(todo),
        **_bytes(plugin, todo, bbox, params, budget),
        "duration_seconds": None,
        "throughput_periods_per_second": None,
        "duration_basis": "unknown: no earlier job of this dataset to learn from",
    }
    observed = observed_throughput(store, budget)
    if observed is not None:
        rate, jobs = observed
        estimate |= {
            "duration_seconds": round(len(todo) / rate, 1),
            "throughput_periods_per_second": round(rate, 2),
            "duration_basis": f"throughput of {jobs} earlier job(s) of this dataset",
        }
    return estimate
