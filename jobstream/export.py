"""`jobstream events export`: the stream's events as CloudEvents JSON lines, for auditors.

Each line is one event (``jobstream_contracts.cloudevents``), in stream order; folding an export
with the contracts' fold gives the statuses the view holds. Bounds are instants (RFC 3339) or
stream sequences; the export ends at the stream's end as of its start. Archived jobs' events,
trimmed from the stream (infra/archiver.py), are read from the archive in their places: an
export gives the same lines before and after a trim.

A stored message that is not an event this version can read (or one that disagrees with its
subject) stops the export with an error naming its sequence, since an export that silently
left it out would look whole; with ``skip_unreadable`` its line records it instead.
"""

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from typing import Any, TextIO

from nats.js import JetStreamContext

from jobstream_contracts.cloudevents import UNREADABLE_TYPE
from jobstream_contracts.subjects import STREAM, job_filter
from jobstream_infra.archive import Archive
from jobstream_infra.archive_order import ArchivedInOrder, in_sequence
from jobstream_infra.connection import close_nats, connect_nats
from jobstream_infra.reader import UnreadableEvent, read_stored
from jobstream_infra.records import Stored
from jobstream_infra.settings import AdminSettings

Bound = int | datetime


def _within(record: Stored, until: Bound | None) -> bool:
    if until is None:
        return True
    if isinstance(until, int):
        return record.sequence <= until
    return record.time <= until


def _from(record: Stored, since: Bound | None) -> bool:
    if since is None:
        return True
    if isinstance(since, int):
        return record.sequence >= since
    return record.time >= since


async def export_events(
    settings: AdminSettings,
    out: TextIO,
    since: Bound | None = None,
    until: Bound | None = None,
    job_id: str | None = None,
    skip_unreadable: bool = False,
) -> int:
    """Write the events to ``out``; returns how many lines were written."""
    nc = await connect_nats(settings, "export", wait=settings.nats_command_wait)
    archived = ArchivedInOrder(Archive(settings.archive_location), job_id)
    written = 0
    try:
        await asyncio.to_thread(archived.load, since - 1 if isinstance(since, int) else 0)
        stored = _stored(nc.jetstream(), archived, since, job_id)
        async with aclosing(stored) as batches:
            async for batch in batches:
                records = [r for r in batch if _within(r, until)]
                for record in records:
                    cloudevent = _cloudevent(record, skip_unreadable)
                    out.write(json.dumps(cloudevent, separators=(",", ":")) + "\n")
                written += len(records)
                if len(records) < len(batch):
                    break
    finally:
        await close_nats(nc, "export")
    return written


async def _stored(
    js: JetStreamContext, archived: ArchivedInOrder, since: Bound | None, job_id: str | None
) -> AsyncGenerator[list[Stored], None]:
    """Batches of the messages from ``since`` to the stream's end as of now: the stream's, with
    the archived ones (trimmed from it) in their places."""
    end = (await js.stream_info(STREAM)).state.last_seq
    after = since - 1 if isinstance(since, int) else 0
    start = since if isinstance(since, datetime) else None
    filters = [job_filter(job_id)] if job_id else None
    async with aclosing(read_stored(js, filters, after, start, batch=500)) as batches:
        async for batch in batches:
            # Nothing more arrived within the wait: every event up to `end` was read.
            stream = [r for r in batch if r.sequence <= end]
            ended = not stream or len(stream) < len(batch) or stream[-1].sequence >= end
            # Archived messages below the stream's next one; at its end, all that are left.
            bound = end + 1 if ended else stream[-1].sequence
            older = await asyncio.to_thread(archived.below, bound)
            yield in_sequence([r for r in older if _from(r, since)], stream)
            if ended:
                return


def _cloudevent(stored: Stored, skip_unreadable: bool) -> dict[str, Any]:
    cloudevent = stored.cloudevent()
    if cloudevent["type"] == UNREADABLE_TYPE and not skip_unreadable:
        reason = cloudevent["data"]["reason"]
        raise UnreadableEvent(stored.sequence, stored.subject, reason)
    return cloudevent
