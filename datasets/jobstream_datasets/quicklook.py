"""Quick-looks: a small PNG of a dataset's newest stored period, rendered as it is committed.

Decisions:
- The data job renders it: at commit it holds the period's values in memory, so no one reads
  the store again, and the gateway, which serves it, needs neither xarray nor Icechunk.
- Stored in a JetStream object store (``subjects.QUICKLOOK_BUCKET``), keyed by dataset id, its
  period in the object's description: one more NATS bucket, no second storage to run.
- At most ``SIDE`` pixels a side (every n-th cell), values stretched between their 2nd and 98th
  percentiles onto matplotlib's viridis (``viridis.py``), missing values transparent, north up.
  No coastlines.
- A palette PNG encoded by Pillow: one byte a pixel, 255 colours sampled evenly from viridis's
  256 (both ends kept) and one transparent entry for missing values. A quarter of the bytes of
  RGBA; 255 levels of a percentile stretch look no different from 256.
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


@dataclass(frozen=True)
class Quicklook:
    dataset_id: str
    period: str
    png: bytes


def thinned(values: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Every n-th cell, so that neither side exceeds ``side``."""
    step = max(1, -(-max(values.shape) // side))
    return values[::step, ::step]


def palette_indices(values: np.ndarray) -> np.ndarray:
    """(y, x) values as palette indices: the ramp's 1..255 from the 2nd to the 98th
    percentile, ``MISSING`` for NaN and infinities."""
    field = np.asarray(values, dtype=float)
    valid = np.isfinite(field)
    if not valid.any():
        return np.full(field.shape, MISSING, dtype=np.uint8)
    low, high = np.percentile(field[valid], [2, 98])
    scaled = np.clip((np.where(valid, field, low) - low) / (high - low or 1.0), 0, 1)
    ramp = 1 + np.round(scaled * 254).astype(np.uint8)
    return np.where(valid, ramp, MISSING).astype(np.uint8)


def png_of(indices: np.ndarray) -> bytes:
    """An 8-bit palette PNG of ``palette_indices``, the missing entry transparent."""
    height, width = indices.shape
    image = Image.frombytes("P", (width, height), np.ascontiguousarray(indices).tobytes())
    image.putpalette(PALETTE, rawmode="RGB")
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=MISSING)
    return out.getvalue()


def render(values: np.ndarray, north_first: bool) -> bytes:
    """The quick-look PNG of a period's (y, x) field; ``north_first`` when y descends."""
    field = values if north_first else values[::-1]
    return png_of(palette_indices(thinned(field)))


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
