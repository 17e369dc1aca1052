"""Server-sent event streams of job events: the format, the caps, the keep-alives.

Each stream reads the stream a batch at a time and only as fast as the client takes what it
sends (the server's write waits for a slow reader), so a gateway holds at most one batch per
open stream whatever its clients do.
"""

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, Protocol

from fastapi.responses import StreamingResponse

from jobstream_contracts.access import Principal
from jobstream_contracts.cloudevents import to_cloudevent
from jobstream_contracts.events import Event
from jobstream_infra.journal import Recorded

from .context import Context
from .errors import invalid_parameter
from .slots import Slots

MEDIA_TYPE = "text/event-stream"


class Replay(Protocol):
    """Where a stream's past comes from when following the stream from the start would not
    give it: a caller's own jobs (owners.py), an archived job (history.py)."""

    # Every event up to here was given: the stream is followed from the next one.
    reached: int

    def pages(self, after: int) -> AsyncGenerator[list[Recorded], None]: ...


def wants_stream(accept: str | None) -> bool:
    return MEDIA_TYPE in (accept or "")


def resume_point(last_event_id: str | None, after: int | None) -> int | None:
    """Where a stream starts: after the client's Last-Event-ID, else after ``after``."""
    if last_event_id is None or not last_event_id.strip():
        return after
    try:
        return max(int(last_event_id), after or 0)
    except ValueError:
        raise invalid_parameter(
            "Last-Event-ID", f"{last_event_id!r} is not a stream sequence"
        ) from None


def frame(record: Recorded) -> str:
    cloudevent = to_cloudevent(record.event, record.sequence, record.time)
    return (
        f"id: {cloudevent['sequence']}\nevent: {cloudevent['type']}\n"
        f"data: {json.dumps(cloudevent, separators=(',', ':'))}\n\n"
    )


class EventStreamResponse(StreamingResponse):
    """A stream that holds one of the gateway's slots, and one of its caller's, for as long
    as it is served."""

    def __init__(self, frames: AsyncIterator[str], slots: Slots, principal: Principal) -> None:
        slots.take(principal)
        self.slots = slots
        self.principal = principal
        super().__init__(
            frames,
            media_type=MEDIA_TYPE,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:  # the client hung up, or the stream ended
            self.slots.give(self.principal)


def event_stream(
    ctx: Context,
    principal: Principal,
    filters: list[str],
    after: int | None,
    ends_with: Callable[[Event], bool] = lambda event: False,
    shown: Callable[[Event], Awaitable[bool]] | None = None,
    replay: Replay | None = None,
) -> EventStreamResponse:
    """A streaming response, held for ``principal``, of the events matching ``filters`` after
    sequence ``after`` (``None``: only new ones) that ``shown`` accepts, which ends after the
    first event ``ends_with`` accepts. With ``replay``, the events up to where it ends are
    those it reads."""
    keepalive = ctx.settings.stream_keepalive

    async def frames() -> AsyncIterator[str]:
        yield ": stream open\n\n"
        start = after
        if replay is not None and after is not None:
            async with aclosing(replay.pages(after)) as pages:
                async for page in pages:
                    for record in page:
                        yield frame(record)
                        if ends_with(record.event):
                            return
            start = replay.reached
        quiet_since = time.monotonic()
        batches = ctx.journal.follow(filters, start, wait=keepalive)
        async with aclosing(batches):
            async for batch in batches:
                for record in batch:
                    if shown is not None and not await shown(record.event):
                        continue
                    yield frame(record)
                    quiet_since = time.monotonic()
                    if ends_with(record.event):
                        return
                # Other callers' events do not keep a stream open: the comments do.
                if not batch or time.monotonic() - quiet_since >= keepalive:
                    yield ": keep-alive\n\n"
                    quiet_since = time.monotonic()

    return EventStreamResponse(frames(), ctx.held.streams, principal)
