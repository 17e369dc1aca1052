"""Scenario 5's baseline: the ingest loop someone would write by hand, with no job service.

`python -m bench.ingest_bare TEMPLATE REPO START END [--warmup REPO --warmup-end END]`
fetches the periods START..END from the template's plugin class (`plugin_for`, the same one
the `ingest` process uses) and writes them to a new Icechunk repository with plain xarray:
one `to_zarr(session.store, append_dim="time")` and one `session.commit` per
`commit_batch_size` periods, chunked like the service's store (one period per chunk).
Fetches run on a pool of the plugin's `max_concurrency` threads, and the next batch's fetches
are queued before the current batch is written, so fetching overlaps writing and committing.
The overlap is not what decides the figure: on the bench grid, fetching a batch at a time on
the pool, or one period after another, measured within a few percent (~125 periods/s).

It runs in a process of its own, so its peak RSS compares with the executor's. It prints one
JSON line: the loop's seconds (imports and the warm-up excluded), periods, bytes of float32
data and the process's peak RSS (VmHWM).
"""

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import icechunk
import pandas as pd
import xarray as xr

from jobstream_datasets.periods import period_of
from jobstream_datasets.plugin import plugin_for
from jobstream_datasets.templates import DatasetTemplate, load_template

if "ICECHUNK_LOG" not in os.environ:  # silence the local-storage warning, as the store does
    icechunk.set_logs_filter("icechunk=warn,icechunk::storage::object_store=error")


def ingest(template: DatasetTemplate, location: str, start: str, end: str) -> int:
    plugin = plugin_for(template)
    assert template.source is not None  # plugin_for refuses a derived template
    params = dict(template.source.params)
    bbox = template.extent.bbox
    grid = plugin.probe(bbox, **params)
    names = plugin.periods(start, end)
    size = max(1, plugin.commit_batch_size)
    batches = [names[i : i + size] for i in range(0, len(names), size)]
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(location))
    encoding = {template.variable: {"chunks": (1, *grid.chunk_shape)}}

    def fetch(name: str) -> xr.Dataset:
        return plugin.fetch_period(name, bbox, **params)

    with ThreadPoolExecutor(max(1, plugin.max_concurrency)) as pool:
        queued = [pool.submit(fetch, name) for name in batches[0]] if batches else []
        for number, batch in enumerate(batches):
            fetched = [future.result() for future in queued]
            following = batches[number + 1] if number + 1 < len(batches) else []
            queued = [pool.submit(fetch, name) for name in following]
            times = pd.Index(
                [period_of(n, template.period_type).start_time for n in batch], name="time"
            )
            ds = xr.concat(fetched, dim=times)
            session = repo.writable_session("main")
            if number == 0:
                ds.to_zarr(session.store, mode="w-", encoding=encoding, consolidated=False)
            else:
                ds.to_zarr(session.store, append_dim="time", consolidated=False)
            session.commit(f"{batch[0]} .. {batch[-1]}")
    return len(names)


def stored_periods(location: str) -> int:
    repo = icechunk.Repository.open(icechunk.local_filesystem_storage(location))
    session = repo.readonly_session(branch="main")
    return xr.open_zarr(session.store, consolidated=False).sizes["time"]


def vm_hwm_mib(pid: int | str = "self") -> float:
    """VmHWM: a process image's peak RSS. (ru_maxrss would also count the parent's RSS at
    the fork, which Linux keeps across the exec.)"""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_bare")
    parser.add_argument("template", type=Path)
    parser.add_argument("repo")
    parser.add_argument("start")
    parser.add_argument("end")
    parser.add_argument("--warmup", help="a throwaway repository for a warm-up ingest")
    parser.add_argument("--warmup-end", help="the warm-up ingests START..WARMUP_END")
    args = parser.parse_args()
    template = load_template(args.template)
    if template.source is None:
        raise SystemExit(f"{args.template}: a derived dataset has no source to ingest from")
    if args.warmup:  # first-call costs (xarray's backends, zarr's codecs), which the
        ingest(template, args.warmup, args.start, args.warmup_end)  # service's warm-up pays
    began = time.perf_counter()
    periods = ingest(template, args.repo, args.start, args.end)
    seconds = time.perf_counter() - began
    if stored_periods(args.repo) != periods:
        raise SystemExit(f"stored {stored_periods(args.repo)} periods, expected {periods}")
    grid = plugin_for(template).probe(template.extent.bbox, **template.source.params)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "periods": periods,
                "bytes": periods * grid.shape[0] * grid.shape[1] * 4,
                "vm_hwm_mib": vm_hwm_mib(),
            }
        )
    )


if __name__ == "__main__":
    main()
