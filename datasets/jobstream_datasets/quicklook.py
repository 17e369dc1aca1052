"""Quick-looks: a small PNG of a dataset's newest stored period, rendered as it is committed.

Decisions:
- The data job renders it: at commit it holds the period's values in memory, so no one reads
  the store again, and the gateway, which serves it, needs neither xarray nor Icechunk.
- Stored in a JetStream object store (``subjects.QUICKLOOK_BUCKET``), keyed by dataset id, its
  period in the object's description: one more NATS bucket, no second storage to run.
- At most ``SIDE`` cells a side (every n-th cell), values stretched between their 2nd and 98th
  percentiles onto matplotlib's viridis (``viridis.py``), missing values grey, north up. No
  coastlines.
- The map framed (legend.py): its longitudes and latitudes along two sides, a colour bar in
  the variable's units, a small map enlarged by a whole factor so cells stay square. One
  picture that says what it shows wherever it is seen (a page, a chat, a report).
- An RGB PNG: the 255 colours of the ramp (sampled evenly from viridis's 256, both ends
  kept) and the labels' smoothed grey edges do not fit one palette. 7.8 kB for the
  synthetic dataset's 24 x 32 cells, 66 kB for CHIRPS's noisiest day.
- Best effort: a quick-look that cannot be stored is logged, never fails the job.
"""

import asyncio
import io
from dataclasses import dataclass

import numpy as np
import structlog
from nats.js.api import ObjectMeta
from PIL import Image

from jobstream_contracts.subjects import QUICKLOOK_BUCKET
from jobstream_infra.connection import close_nats, connect_nats
from jobstream_infra.provisioning import ensure_object_store
from jobstream_infra.settings import NatsSettings

from .grid import GridSpec
from .legend import Legend, Span, framed, scale_of
from .viridis import VIRIDIS

log = structlog.get_logger(__name__)

SIDE = 256
# Seconds a quick-look may take to store before the job goes on without it.
STORE_TIMEOUT = 10.0
# The palette's first entry stands for missing values (transparent: a one-byte tRNS chunk);
# the other 255 are the colour ramp.
MISSING = 0
_SAMPLED = np.round(np.linspace(0, 255, 255)).astype(int)
PALETTE = bytes(3) + np.frombuffer(VIRIDIS, np.uint8).reshape(256, 3)[_SAMPLED].tobytes()
# The ramp's colours, low to high, as the colour bar draws them.
RAMP = [tuple(int(c) for c in PALETTE[i : i + 3]) for i in range(3, len(PALETTE), 3)]
# Missing cells on the framed map: the pages' grey for "missing".
NO_VALUE = (228, 231, 236)
# Coordinate reference systems whose coordinates are longitudes and latitudes.
GEOGRAPHIC = ("EPSG:4326", "OGC:CRS84")


@dataclass(frozen=True)
class Quicklook:
    dataset_id: str
    period: str
    png: bytes


def thinned(values: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Every n-th cell, so that neither side exceeds ``side``."""
    step = max(1, -(-max(values.shape) // side))
    return values[::step, ::step]


def stretch(values: np.ndarray) -> Span | None:
    """The 2nd and 98th percentiles of the finite values; None when there are none."""
    field = np.asarray(values, dtype=float)
    valid = field[np.isfinite(field)]
    if not valid.size:
        return None
    low, high = np.percentile(valid, [2, 98])
    return Span(float(low), float(high))


def palette_indices(values: np.ndarray, span: Span | None) -> np.ndarray:
    """(y, x) values as palette indices: the ramp's 1..255 over ``span`` (see ``stretch``),
    ``MISSING`` for NaN and infinities."""
    field = np.asarray(values, dtype=float)
    valid = np.isfinite(field)
    if span is None:
        return np.full(field.shape, MISSING, dtype=np.uint8)
    low, high = span.first, span.last
    scaled = np.clip((np.where(valid, field, low) - low) / (high - low or 1.0), 0, 1)
    ramp = 1 + np.round(scaled * 254).astype(np.uint8)
    return np.where(valid, ramp, MISSING).astype(np.uint8)


def map_image(indices: np.ndarray) -> Image.Image:
    """An 8-bit palette image of ``palette_indices``, the missing entry transparent."""
    height, width = indices.shape
    image = Image.frombytes("P", (width, height), np.ascontiguousarray(indices).tobytes())
    image.putpalette(PALETTE, rawmode="RGB")
    image.info["transparency"] = MISSING
    return image


def _on_grey(image: Image.Image) -> Image.Image:
    """The map in RGB, missing cells grey, enlarged by a whole factor (legend.scale_of)."""
    coloured = image.convert("RGBA")
    flat = Image.new("RGB", image.size, NO_VALUE)
    flat.paste(coloured, mask=coloured.getchannel("A"))
    factor = scale_of(*image.size)
    return flat.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def _outer_edges(centres: np.ndarray) -> Span:
    """The span from the first cell's outer edge to the last's (centres evenly spaced)."""
    half = (centres[-1] - centres[0]) / (len(centres) - 1) / 2 if len(centres) > 1 else 0.5
    return Span(float(centres[0] - half), float(centres[-1] + half))


def render(values: np.ndarray, grid: GridSpec, units: str) -> bytes:
    """The quick-look PNG of a period's (y, x) field on ``grid``: the map north up, framed
    by its coordinates and a colour bar in ``units``."""
    north_first = len(grid.y) < 2 or bool(grid.y[0] > grid.y[-1])
    field, y = (values, grid.y) if north_first else (values[::-1], grid.y[::-1])
    shown = thinned(field)
    span = stretch(shown)
    legend = Legend(
        x=_outer_edges(np.asarray(grid.x)),
        y=_outer_edges(np.asarray(y)),
        values=span,
        units=units,
        geographic=grid.crs.upper() in GEOGRAPHIC,
    )
    picture = framed(_on_grey(map_image(palette_indices(shown, span))), legend, RAMP)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


@dataclass(frozen=True)
class NatsShelf:
    """Stores quick-looks in the object store, connecting as the executor's NATS user."""

    settings: NatsSettings

    def put(self, look: Quicklook) -> None:
        """From a job's thread: a short connection of its own, so the job's loop is untouched."""
        try:
            asyncio.run(asyncio.wait_for(self._put(look), STORE_TIMEOUT))
        except Exception as exc:  # noqa: BLE001 - a picture never fails the job
            log.warning("quick-look not stored", dataset=look.dataset_id, error=repr(exc))

    async def _put(self, look: Quicklook) -> None:
        nc = await connect_nats(self.settings, "executor", wait=STORE_TIMEOUT)
        try:
            store = await ensure_object_store(nc.jetstream(), QUICKLOOK_BUCKET)
            meta = ObjectMeta(name=look.dataset_id, description=look.period)
            await store.put(look.dataset_id, look.png, meta=meta)
        finally:
            await close_nats(nc, "executor")
