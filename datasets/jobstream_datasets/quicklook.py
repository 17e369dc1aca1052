"""Quick-looks: a small PNG of a dataset's newest stored period, rendered as it is committed.

Decisions:
- The data job renders it: at commit it holds the period's values in memory, so no one reads
  the store again, and the gateway, which serves it, needs neither xarray nor Icechunk.
- Stored in a JetStream object store (``subjects.QUICKLOOK_BUCKET``), keyed by dataset id, its
  period in the object's description: one more NATS bucket, no second storage to run.
- At most ``SIDE`` pixels a side (every n-th cell), values stretched between their 2nd and 98th
  percentiles onto a viridis-like ramp, missing values transparent, north up. No coastlines.
- PNG written with zlib and struct: numpy is the only library needed, no imaging dependency.
- Best effort: a quick-look that cannot be stored is logged, never fails the job.
"""

import asyncio
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import structlog
from nats.js.api import ObjectMeta

from jobstream_contracts.subjects import QUICKLOOK_BUCKET
from jobstream_infra.connection import close_nats, connect_nats
from jobstream_infra.provisioning import ensure_object_store
from jobstream_infra.settings import NatsSettings

log = structlog.get_logger(__name__)

SIDE = 256
# Seconds a quick-look may take to store before the job goes on without it.
STORE_TIMEOUT = 10.0
# Viridis at five stops: perceptually even, readable by the colour-blind.
_RAMP = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=float
)


@dataclass(frozen=True)
class Quicklook:
    dataset_id: str
    period: str
    png: bytes


def thinned(values: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Every n-th cell, so that neither side exceeds ``side``."""
    step = max(1, -(-max(values.shape) // side))
    return values[::step, ::step]


def coloured(values: np.ndarray) -> np.ndarray:
    """(y, x) values as (y, x, 4) RGBA bytes on the ramp; NaN and infinities transparent."""
    field = np.asarray(values, dtype=float)
    valid = np.isfinite(field)
    rgba = np.zeros((*field.shape, 4), dtype=np.uint8)
    if not valid.any():
        return rgba
    low, high = np.percentile(field[valid], [2, 98])
    scaled = np.clip((field - low) / (high - low or 1.0), 0, 1)
    position = np.where(valid, scaled, 0) * (len(_RAMP) - 1)
    below = np.minimum(position.astype(int), len(_RAMP) - 2)
    weight = (position - below)[..., None]
    colour = _RAMP[below] * (1 - weight) + _RAMP[below + 1] * weight
    rgba[..., :3] = np.round(colour).astype(np.uint8)
    rgba[..., 3] = np.where(valid, 255, 0)
    return rgba


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_of(rgba: np.ndarray) -> bytes:
    """An 8-bit RGBA PNG (filter 0 on every row)."""
    height, width, _ = rgba.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgba.reshape(height, -1)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def render(values: np.ndarray, north_first: bool) -> bytes:
    """The quick-look PNG of a period's (y, x) field; ``north_first`` when y descends."""
    field = values if north_first else values[::-1]
    return png_of(coloured(thinned(field)))


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
