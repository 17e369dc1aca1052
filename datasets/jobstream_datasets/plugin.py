"""The ingestion plugin contract, and how a template names its plugin.

A plugin knows one kind of source. It never touches the store: ``probe`` describes the grid
from metadata, ``periods`` lists what a range holds, ``fetch_period`` returns one period as
an in-memory ``xarray.Dataset`` holding the template's variable on the probed grid. Raising
from ``fetch_period`` means "try again later" unless the error is a ``PermanentError``.

A source that stores many periods in one object (a Zarr store chunked along time) would
download that object once per period. Such a plugin overrides ``blocks_of``, which splits the
periods to fetch into runs, in order, worth fetching together, and ``fetch_block``, which
fetches one run with one read and returns its periods' datasets in order, each what
``fetch_period`` would return. Both take the fetch's bbox and params: how to group depends on
the source's layout and on the crop's size. A block fails as a whole, with the error
``fetch_period`` raises for its failing period, and none of its periods is kept. The defaults
fetch each period alone.
"""

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import xarray as xr

from .grid import GridSpec
from .periods import period_id, period_of, period_range

# Re-exported: a plugin's methods take a Bbox, so its authors import it from here.
from .templates import Bbox as Bbox
from .templates import DatasetTemplate

# Installed packages offer source plugins here, by name: a template's ``plugin`` names one as
# it names a built-in, found without any configuration.
ENTRY_POINTS = "jobstream.sources"

BUILTIN_PLUGINS = {
    "synthetic": "jobstream_datasets.plugins.synthetic:SyntheticSource",
    "http-files": "jobstream_datasets.plugins.http_files:HttpFileSource",
    "zarr": "jobstream_datasets.plugins.zarr_source:ZarrSource",
}


class Plugin:
    # Fetches (of blocks, one period each by default) at once; the store is still written one
    # period at a time, in order.
    max_concurrency: int = 4
    # Periods per Icechunk commit: what a crash can cost, against one commit per period.
    commit_batch_size: int = 10

    def __init__(self, template: DatasetTemplate) -> None:
        self.template = template
        self.period_type = template.period_type
        self.variable = template.variable

    def probe(self, bbox: Bbox, **params: Any) -> GridSpec:
        raise NotImplementedError

    def periods(self, start: str, end: str) -> list[str]:
        kind = self.period_type
        return [
            period_id(p, kind) for p in period_range(period_of(start, kind), period_of(end, kind))
        ]

    def fetch_period(self, period_id: str, bbox: Bbox, **params: Any) -> xr.Dataset:
        raise NotImplementedError

    def blocks_of(self, period_ids: list[str], bbox: Bbox, **params: Any) -> list[list[str]]:
        """The periods, in order, split into consecutive runs to fetch together."""
        return [[name] for name in period_ids]

    def fetch_block(self, period_ids: list[str], bbox: Bbox, **params: Any) -> list[xr.Dataset]:
        """One block of ``blocks_of``: each period's dataset, in order."""
        return [self.fetch_period(name, bbox, **params) for name in period_ids]

    def size_of(self, period_id: str, bbox: Bbox, **params: Any) -> int | None:
        """Bytes a fetch of the period downloads, or None when the source does not say."""
        return None

    def size_of_block(self, period_ids: list[str], bbox: Bbox, **params: Any) -> int | None:
        """Bytes ``fetch_block`` downloads for a block of ``blocks_of``, or None."""
        sizes = [self.size_of(name, bbox, **params) for name in period_ids]
        known = [size for size in sizes if size is not None]
        return sum(known) if len(known) == len(sizes) else None


def plugin_for(template: DatasetTemplate) -> Plugin:
    if template.source is None:
        raise ValueError(f"dataset {template.id} is derived: it has no ingestion plugin")
    plugin = plugin_class(template.source.plugin)(template)
    if template.source.max_concurrency is not None:
        plugin.max_concurrency = template.source.max_concurrency
    if template.source.commit_batch_size is not None:
        plugin.commit_batch_size = template.source.commit_batch_size
    return plugin


def plugin_class(name: str) -> Callable[[DatasetTemplate], Plugin]:
    """The plugin a template's ``plugin`` names: built in, an installed package's
    ``jobstream.sources`` entry point, or ``module:attribute``."""
    if name in BUILTIN_PLUGINS:
        module_name, _, attribute = BUILTIN_PLUGINS[name].partition(":")
        return getattr(importlib.import_module(module_name), attribute)
    installed = entry_points(group=ENTRY_POINTS, name=name)
    if installed:
        return next(iter(installed)).load()
    module_name, _, attribute = name.partition(":")
    if not attribute:
        offered = [*BUILTIN_PLUGINS, *entry_points(group=ENTRY_POINTS).names]
        raise ValueError(
            f"plugin {name!r} is neither built in nor installed ({', '.join(offered)}) "
            "nor 'module:attribute'"
        )
    return getattr(importlib.import_module(module_name), attribute)
