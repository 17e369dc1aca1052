"""What a source looks like before any data is fetched: the grid a dataset is stored on."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class GridSpec:
    """The spatial grid of one variable, as a plugin's ``probe`` finds it (metadata only).

    ``y`` and ``x`` are the cell-centre coordinates, in the order the data arrives.
    """

    y: np.ndarray
    x: np.ndarray
    dtype: str = "float32"
    crs: str = "EPSG:4326"
    nodata: float | None = None
    y_name: str = "lat"
    x_name: str = "lon"
    # Cells per stored chunk along y and x; one period per chunk along time.
    chunks: tuple[int, int] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.y), len(self.x))

    @property
    def chunk_shape(self) -> tuple[int, int]:
        ny, nx = self.shape
        cy, cx = self.chunks or (512, 512)
        return (min(cy, ny), min(cx, nx))

    def same_cells(self, y: np.ndarray, x: np.ndarray) -> bool:
        return (
            len(y) == len(self.y)
            and len(x) == len(self.x)
            and np.allclose(y, self.y)
            and np.allclose(x, self.x)
        )


def cell_centres(start: float, stop: float, resolution: float) -> np.ndarray:
    """Centres of the cells of size ``resolution`` covering [start, stop] on a grid anchored
    at 0 (so every bbox inside a dataset's extent lands on the same cells)."""
    first = np.floor(start / resolution)
    last = np.ceil(stop / resolution)
    return (np.arange(first, last) + 0.5) * resolution
