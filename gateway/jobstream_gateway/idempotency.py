"""``Idempotency-Key``: a request sent again with the same key is the same job, however often
and however late; the same key with another request is 422.

Serves ``POST /processes/{id}/execution`` (the job's first event a ``JobSubmitted``) and
``POST /jobs`` (a ``JobCreated``). Job ids of idempotent requests are derived from the key,
so the key's claim and the job's first event are one conditional write to the stream: no
second store, no expiry.
"""

import uuid
from typing import Annotated, TypeVar

from fastapi import Header

from jobstream_contracts.access import ANONYMOUS, Principal
from jobstream_contracts.events import JobCreated, JobSubmitted
from jobstream_contracts.ogc import ExceptionType
from jobstream_infra.journal import HistoryChanged

from .context import UNREACHABLE, Context, unavailable
from .errors import OGCError

IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=255,
        description="the same key and body give the same job, even days later; keys are per caller",
    ),
]

# A job's first event: what an idempotent request's key claims.
First = TypeVar("First", JobSubmitted, JobCreated)

_NAMESPACE = uuid.UUID("5d0e43c4-4f06-4a38-9b4b-1f3a4c2b8e11")
# What makes two requests the same request: not the lane, which fairness may lower between
# them, nor the mode (a retry may wait for the result where the first did not).
_REQUEST = ("process_id", "inputs", "outputs", "response", "subscriber", "owner")


def job_id_for(idempotency_key: str | None, principal: Principal) -> str:
    """A new id; for an Idempotency-Key, the same id whenever this caller sends that key.

    Keys are per caller: two callers choosing the same key get two jobs. (Without
    authentication every caller is the one anonymous principal, as before owners existed.)
    """
    if idempotency_key is None:
        return str(uuid.uuid4())
    scoped = idempotency_key if principal == ANONYMOUS else f"{principal.id}\n{idempotency_key}"
    return str(uuid.uuid5(_NAMESPACE, scoped))


async def publish_first(ctx: Context, event: First) -> First:
    """Publish a job's first event; for an idempotent request, only if its job does not exist
    yet. Returns the event that stands: the new one, or the earlier one with the same key."""
    if event.idempotency_key is None:
        await ctx.publish(event)
        return event
    try:
        await ctx.publish(event, expect_last=0)
        return event
    except HistoryChanged:
        pass
    try:
        history = await ctx.journal.read(event.job_id, limit=1)
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc
    earlier = history[0].event if history else None
    if not isinstance(earlier, type(event)) or not _same_request(earlier, event):
        raise _reused(event)
    return earlier


def _same_request(a: JobSubmitted | JobCreated, b: JobSubmitted | JobCreated) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in _REQUEST)


def _reused(event: JobSubmitted | JobCreated) -> OGCError:
    return OGCError(
        422,
        ExceptionType.IDEMPOTENCY_KEY_REUSED,
        f"Idempotency-Key {event.idempotency_key!r} was used for job {event.job_id} with a "
        "different request; use a new key for a new request",
        "Idempotency-Key reused",
    )
