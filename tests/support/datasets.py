"""Stacks that run the data processes on the test templates, and readers of their stores."""

import json
from pathlib import Path
from typing import Any

import icechunk
import xarray as xr

from jobstream_contracts.events import DatasetCommitted
from jobstream_datasets.templates import DatasetTemplate

from .stack import TEST_PROCESSES
from .waiting import eventually

PLUGINS = Path(__file__).parent / "plugins"
DATA_PROCESSES = json.dumps([*TEST_PROCESSES, "jobstream_datasets.processes"])


def source_params(template: DatasetTemplate) -> dict[str, Any]:
    """The plugin params of a template that ingests from a source (not a derived one)."""
    assert template.source is not None, f"{template.id} is derived: it has no source"
    return template.source.params


# What a stack needs to serve ingest and sync on the test templates.
DATA_SETTINGS = {"process_modules": DATA_PROCESSES, "plugins_dir": PLUGINS}


def data_stack(make_stack, **settings):
    """A stack (not started) serving ingest and sync on the test templates."""
    return make_stack(**DATA_SETTINGS, **settings)


def repository(stack, dataset_id: str) -> icechunk.Repository:
    path = stack.workdir / "data" / "datasets" / dataset_id
    return icechunk.Repository.open(icechunk.local_filesystem_storage(str(path)))


def stored(stack, dataset_id: str) -> xr.Dataset:
    session = repository(stack, dataset_id).readonly_session(branch="main")
    return xr.open_zarr(session.store, consolidated=False).load()


def kill_executor_after_first_commit(stack, job_id: str, periods: int) -> int:
    """SIGKILL the stack's executor once ``job_id`` has committed some of its ``periods``;
    returns how many were stored then (fewer than all, or the kill proves nothing)."""
    eventually(
        lambda: any(isinstance(e, DatasetCommitted) for e in stack.events(job_id)),
        60,
        f"a commit of job {job_id}",
    )
    stack.kill_one("executor")
    killed_at = max(e.stored for e in stack.events(job_id) if isinstance(e, DatasetCommitted))
    assert killed_at < periods, "the ingest finished before the kill; the test proved nothing"
    return killed_at
