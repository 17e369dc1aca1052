"""Following one job with one request at a time: ETags, conditional and long-poll GETs, and the
status as of an instant.

The ETag is a digest of the status document, so it changes whenever an event changes what the
client would see. With ``If-None-Match`` and ``Prefer: wait=<seconds>`` the request waits for
the job's next event (the journal's wake-up; the record, read again, decides) and answers with the
new document, or 304 when the wait runs out.
"""

import asyncio
import hashlib
import json
from datetime import datetime
from typing import Any

from jobstream_contracts.events import EventDecodeError
from jobstream_contracts.fold import JobState, fold
from jobstream_contracts.status import status_info

from .context import UNREACHABLE, Context, unavailable, unreadable

Document = dict[str, Any]


def etag(document: Document) -> str:
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    return f'"{digest[:32]}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    if if_none_match is None:
        return False
    tags = [part.strip().removeprefix("W/") for part in if_none_match.split(",")]
    return "*" in tags or tag in tags


def document_of(state: JobState, url: str, ahead: int | None = None) -> Document:
    return status_info(state, url, ahead).to_json()


async def state_at(ctx: Context, job_id: str, instant: datetime) -> JobState | None:
    """The job as the stream recorded it at ``instant``: the fold of the events stored by then."""
    try:
        records = await ctx.journal.read(job_id)
    except EventDecodeError as exc:
        raise unreadable(job_id, exc) from exc
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc
    return fold(record.event for record in records if record.time <= instant)


async def next_document(
    ctx: Context, job_id: str, url: str, known: str, wait: float
) -> Document | None:
    """The job's status document once it differs from the one tagged ``known``, or None when
    ``wait`` seconds pass first."""
    try:
        async with ctx.journal.watch(job_id) as changed:
            return await _first_change(ctx, job_id, url, known, wait, changed)
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc


async def _first_change(
    ctx: Context, job_id: str, url: str, known: str, wait: float, changed: asyncio.Event
) -> Document | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        state = await ctx.job(job_id)
        if state is not None and etag(document := document_of(state, url)) != known:
            return document
        if (left := deadline - loop.time()) <= 0:
            return None
        try:
            await asyncio.wait_for(changed.wait(), left)
        except TimeoutError:
            pass  # one last look: an event stored while our connection was down
        changed.clear()
