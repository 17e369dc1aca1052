"""`jobstream events export`: the stream's events as CloudEvents JSON lines, for auditors.

Each line is one event (``jobstream_contracts.cloudevents``), in stream order; folding an export
with the contracts' fold gives the statuses the view holds. Bounds are instants (RFC 3339) or
stream sequences; the export ends at the stream's end as of its start.

A stored message that is not an event this version can read (or one that disagrees with its
subject) stops the export with an error naming its sequence, since an export that silently
left it out would look whole; with ``skip_unreadable`` its line records it instead.
"""

import json
from contextlib import aclosing
from datetime import datetime
from typing import TextIO

from jobstream_contracts.cloudevents import to_cloudevent, unreadable_cloudevent
from jobstream_contracts.events import EventDecodeError, decode_event
from jobstream_contracts.subjects import STREAM, job_filter
from jobstream_infra.connection import close_nats, connect_nats
from jobstream_infra.reader import UnreadableEvent, read_stored
from jobstream_infra.records import Stored
from jobstream_infra.settings import NatsSettings

Bound = int | datetime


def _within(record: Stored, until: Bound | None) -> bool:
    if until is None:
        return True
    if isinstance(until, int):
        return record.sequence <= until
    return record.time <= until


async def export_events(
    settings: NatsSettings,
    out: TextIO,
    since: Bound | None = None,
    until: Bound | None = None,
    job_id: str | None = None,
    skip_unreadable: bool = False,
) -> int:
    """Write the events to ``out``; returns how many lines were written."""
    nc = await connect_nats(settings, "export", wait=settings.nats_command_wait)
    js = nc.jetstream()
    written = 0
    try:
        end = (await js.stream_info(STREAM)).state.last_seq
        after = since - 1 if isinstance(since, int) else 0
        start = since if isinstance(since, datetime) else None
        filters = [job_filter(job_id)] if job_id else None
        async with aclosing(read_stored(js, filters, after, start, batch=500)) as batches:
            async for batch in batches:
                # Nothing more arrived within the wait: every event up to `end` was read.
                records = [r for r in batch if r.sequence <= end and _within(r, until)]
                for record in records:
                    cloudevent = _cloudevent(record, skip_unreadable)
                    out.write(json.dumps(cloudevent, separators=(",", ":")) + "\n")
                written += len(records)
                if not batch or len(records) < len(batch) or batch[-1].sequence >= end:
                    break
    finally:
        await close_nats(nc, "export")
    return written


def _cloudevent(stored: Stored, skip_unreadable: bool) -> dict:
    try:
        event = decode_event(stored.data, stored.subject)
    except EventDecodeError as exc:
        if not skip_unreadable:
            raise UnreadableEvent(stored.sequence, stored.subject, str(exc)) from None
        return unreadable_cloudevent(
            stored.sequence, stored.time, stored.subject, stored.data, str(exc)
        )
    return to_cloudevent(event, stored.sequence, stored.time)
