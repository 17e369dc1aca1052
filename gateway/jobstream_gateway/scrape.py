"""``/metrics``: the gateway's metrics as Prometheus text, the queue read from the view.

Decisions:
- It needs a caller who sees everything (operator, auditor, admin) when authentication is on,
  like the dataset routes: the rates and process ids it shows are every caller's. Prometheus
  scrapes with an auditor's API key as its bearer credential. With ``auth=none`` it is as open
  as everything else. It is left out of the API document.
- The queue's gauges (``GET /queue``'s figures for every job) are read from the view at each
  scrape: one grouped query, so nothing has to keep them current between scrapes. With the
  view down they are left out and the rest is served.
"""

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from jobstream_infra.metrics import (
    GATEWAY,
    KEY_LIMIT,
    KEY_RUNNING,
    KEY_WAITING,
    QUEUE,
    QUEUE_OLDEST_WAITING,
    QUEUE_RUNNING,
    QUEUE_WAITING,
)
from jobstream_projector import view

from .context import Context, context
from .errors import VIEW_FAILURES

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(ctx: Context = Depends(context)) -> Response:
    """The gateway's metrics as Prometheus text, the queue read from the view at each scrape."""
    try:
        counts, keys = await asyncio.to_thread(_counts, ctx)
    except VIEW_FAILURES:
        counts, keys = [], []
    _set_queue(counts, keys, datetime.now(UTC))
    return Response(generate_latest(GATEWAY), media_type=CONTENT_TYPE_LATEST)


def _counts(ctx: Context) -> tuple[list[view.QueueCounts], list[view.KeyCounts]]:
    return view.queue_counts(ctx.engine), view.key_counts(ctx.engine)


def _set_queue(counts: list[view.QueueCounts], keys: list[view.KeyCounts], now: datetime) -> None:
    for gauge in QUEUE:
        gauge.clear()  # a process or key gone from the queue leaves no stale series
    for key in keys:
        KEY_WAITING.labels(key.key).set(key.waiting)
        KEY_RUNNING.labels(key.key).set(len(key.holders))
        KEY_LIMIT.labels(key.key).set(key.limit)
    for count in counts:
        QUEUE_WAITING.labels(count.process_id).set(count.waiting)
        QUEUE_RUNNING.labels(count.process_id).set(count.running)
        if count.oldest_waiting is not None:
            waited = (now - count.oldest_waiting).total_seconds()
            QUEUE_OLDEST_WAITING.labels(count.process_id).set(waited)
