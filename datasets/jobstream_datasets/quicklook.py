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
- A palette PNG, one byte a pixel: 239 colours sampled evenly from viridis's 256 (both ends
  kept; 239 levels of a percentile stretch look no different from 256), the frame's colours
  and 14 greys for the labels' smoothed edges. A third of the bytes of RGB: 3.7 kB for the
  synthetic dataset's 24 x 32 cells, 68 kB for 256 x 256 cells of noise (the worst case;
  RGB: 199 kB).
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
from .legend import FRAME, INK, Colour, Legend, Span, framed, scale_of
from .viridis import VIRIDIS

log = structlog.get_logger(__name__)

SIDE = 256
# Seconds a quick-look may take to store before the job goes on without it.
STORE_TIMEOUT = 10.0
# The map's palette: its first entry stands for missing values (transparent), the others are
# the colour ramp, ``LEVELS`` colours sampled evenly from viridis's 256 (both ends kept).
MISSING, LEVELS = 0, 239
_SAMPLED = np.round(np.linspace(0, 255, LEVELS)).astype(int)
_VIRIDIS = np.frombuffer(VIRIDIS, np.uint8).reshape(256, 3)
PALETTE = bytes(3) + _VIRIDIS[_SAMPLED].tobytes()
# The ramp's colours, low to high, as the colour bar draws them.
RAMP: list[Colour] = [(int(r), int(g), int(b)) for r, g, b in _VIRIDIS[_SAMPLED]]
# Missing cells on the framed map: the pages' grey for "missing".
NO_VALUE = (228, 231, 236)
# The framed picture's palette: the ramp, and the frame's colours with 14 greys from the ink
# to white for the labels' smoothed edges: 256 entries, one byte a pixel.
_GREYS = [(g, g, g) for g in np.round(np.linspace(INK[0], 255, 14)).astype(int)]
FIGURE_COLOURS = np.array([*RAMP, *_GREYS, NO_VALUE, FRAME, INK], dtype=np.int32)
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
    """(y, x) values as palette indices: the ramp's 1..LEVELS over ``span`` (see ``stretch``),
    ``MISSING`` for NaN and infinities."""
    field = np.asarray(values, dtype=float)
    valid = np.isfinite(field)
    if span is None:
        return np.full(field.shape, MISSING, dtype=np.uint8)
    low, high = span.first, span.last
    scaled = np.clip((np.where(valid, field, low) - low) / (high - low or 1.0), 0, 1)
    ramp = 1 + np.round(scaled * (LEVELS - 1)).astype(np.uint8)
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


def in_palette(picture: Image.Image) -> Image.Image:
    """The RGB ``picture`` on ``FIGURE_COLOURS``, each colour to its nearest entry: the ramp's
    and the frame's stay exact, the labels' smoothed edges go to a grey. (Pillow's own
    ``quantize`` looks colours up in a coarse cache and shifts ramp colours by one entry.)"""
    pixels = np.asarray(picture.convert("RGB"), dtype=np.int32)
    packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    codes, where = np.unique(packed, return_inverse=True)  # a few hundred colours at most
    colours = np.stack([codes >> 16, (codes >> 8) & 255, codes & 255], axis=1)
    distances = ((colours[:, None, :] - FIGURE_COLOURS[None, :, :]) ** 2).sum(axis=2)
    indices = distances.argmin(axis=1).astype(np.uint8)[where.reshape(packed.shape)]
    image = Image.frombytes("P", picture.size, np.ascontiguousarray(indices).tobytes())
    image.putpalette(FIGURE_COLOURS.astype(np.uint8).tobytes(), rawmode="RGB")
    return image


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
    in_palette(picture).save(out, format="PNG")
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
