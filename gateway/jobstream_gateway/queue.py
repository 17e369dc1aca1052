"""``GET /queue``: how many jobs wait and run, per process, and how long the oldest has waited.

Read from the view, in one grouped query: it trails the stream by the projector's lag, which
is what a backlog can bear. A caller who does not read every job sees only their own.
"""

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request

from jobstream_contracts.access import Principal
from jobstream_contracts.ogc import Link, html_alternate
from jobstream_contracts.queue import KeyQueue, ProcessQueue, Queue
from jobstream_projector import view

from .callers import caller
from .context import Context, base_url, context

router = APIRouter(tags=["Jobs"])


@router.get("/queue", response_model=Queue, response_model_exclude_none=True)
async def queue(
    request: Request, ctx: Context = Depends(context), principal: Principal = Depends(caller)
) -> Queue:
    """Every process's waiting and running jobs, and every concurrency key's (yours only,
    unless you read every job)."""
    owner = None if principal.reads_everything else principal.id
    counts, keys = await asyncio.to_thread(_counts, ctx, owner)
    url = base_url(request)
    now = datetime.now(UTC)
    return Queue(
        processes=_with_every_process(ctx, counts, now),
        keys=[_key_row(key, now) for key in keys],
        links=[
            Link(href=f"{url}/queue", rel="self", type="application/json"),
            html_alternate(f"{url}/queue"),
        ],
    )


def _counts(ctx: Context, owner: str | None):
    return view.queue_counts(ctx.engine, owner), view.key_counts(ctx.engine, owner)


def _waited(oldest: datetime | None, now: datetime) -> float | None:
    return None if oldest is None else round((now - oldest).total_seconds(), 3)


def _key_row(count: view.KeyCounts, now: datetime) -> KeyQueue:
    return KeyQueue(
        key=count.key,
        limit=count.limit,
        waiting=count.waiting,
        running=len(count.holders),
        holders=list(count.holders),
        oldestWaiting=count.oldest_waiting,
        oldestWaitingSeconds=_waited(count.oldest_waiting, now),
    )


def _with_every_process(
    ctx: Context, counts: list[view.QueueCounts], now: datetime
) -> list[ProcessQueue]:
    """A row per announced process, idle ones too, and per process of a job still queued
    whose executors are gone."""
    by_process = {count.process_id: count for count in counts}
    names = sorted({process.id for process in ctx.catalog.sorted()} | set(by_process))
    return [_row(by_process.get(name, view.QueueCounts(name)), now) for name in names]


def _row(count: view.QueueCounts, now: datetime) -> ProcessQueue:
    oldest = count.oldest_waiting
    return ProcessQueue(
        processID=count.process_id,
        waiting=count.waiting,
        running=count.running,
        oldestWaiting=oldest,
        oldestWaitingSeconds=_waited(oldest, now),
    )
