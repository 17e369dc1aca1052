"""A deterministic source that needs no network: the quick start's demo data.

Each period's field depends only on the period, the cell and the seed, so a resumed or
retried ingest writes exactly what an uninterrupted one writes. ``latency`` (seconds per
fetch) stands in for a download.
"""

import time
import zlib
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..grid import GridSpec, cell_centres
from ..periods import period_of
from ..plugin import Bbox, Plugin


class SyntheticSource(Plugin):
    max_concurrency = 4
    commit_batch_size = 10

    def probe(self, bbox: Bbox, resolution: float = 0.25, **params: Any) -> GridSpec:
        west, south, east, north = bbox
        # North-up, as most gridded products arrive.
        return GridSpec(
            y=cell_centres(south, north, resolution)[::-1],
            x=cell_centres(west, east, resolution),
            dtype="float32",
            nodata=None,
        )

    def fetch_period(
        self,
        period_id: str,
        bbox: Bbox,
        resolution: float = 0.25,
        seed: int = 0,
        latency: float = 0.0,
        **params: Any,
    ) -> xr.Dataset:
        grid = self.probe(bbox, resolution)
        if latency:
            time.sleep(latency)
        start = period_of(period_id, self.period_type).start_time
        day_of_year = (start - pd.Timestamp(start.year, 1, 1)).total_seconds() / 86400
        lat = grid.y[:, None]
        lon = grid.x[None, :]
        season = 12.0 * np.cos(2 * np.pi * (day_of_year - 200) / 365.25) * np.sign(lat + 1e-9)
        climate = 288.0 - 0.4 * np.abs(lat) + 2.0 * np.cos(np.radians(lon))
        # Noise from a generator seeded by the period itself, never by the order of fetches.
        rng = np.random.default_rng([seed, zlib.crc32(period_id.encode())])
        noise = rng.normal(0.0, 1.5, size=grid.shape)
        values = (climate + season + noise).astype(np.float32)
        return xr.Dataset(
            {self.variable: ((grid.y_name, grid.x_name), values)},
            coords={grid.y_name: grid.y, grid.x_name: grid.x},
        )

    def size_of(self, period_id: str, bbox: Bbox, resolution: float = 0.25, **params: Any) -> int:
        ny, nx = self.probe(bbox, resolution).shape
        return ny * nx * 4
