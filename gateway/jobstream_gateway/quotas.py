"""What a submission may take of what all callers share, checked before it is published.

Three bounds, each refusing with nothing recorded:

- a caller's jobs queued or running (429; ``MAX_JOBS_PER_CALLER``);
- the bytes a caller's recent jobs hold in the stream (429; ``MAX_STORED_BYTES_PER_CALLER``
  over ``STORED_BYTES_WINDOW``), so one caller cannot fill the store for everyone;
- the store's reserve (503; ``STORE_RESERVE``): the last share of the store is kept for
  what must always be recordable — running jobs' outcomes, dismissals, an operator's work.

The first two read the view (one query); the view may trail a burst of submissions by the
projector's lag, which the reserve absorbs. Without authentication, the one anonymous
caller is everyone: only the reserve applies to it.
"""

import asyncio
import math
from datetime import UTC, datetime, timedelta

from jobstream_contracts.access import ANONYMOUS, Principal, Role
from jobstream_contracts.ogc import ExceptionType
from jobstream_infra.journal import StoreUsage
from jobstream_infra.settings import GatewaySettings
from jobstream_projector import view
from jobstream_projector.view import CallerUsage

from .context import UNREACHABLE, Context, unavailable
from .errors import OGCError


async def check_submission(ctx: Context, principal: Principal, size: int) -> None:
    """Refuse (429 or 503) a submission of ``size`` bytes by ``principal`` past a bound."""
    settings = ctx.settings
    if principal != ANONYMOUS:
        since = datetime.now(UTC) - timedelta(seconds=settings.stored_bytes_window)
        usage = await asyncio.to_thread(view.caller_usage, ctx.engine, principal.id, since)
        _check_jobs(settings, principal, usage)
        _check_stored_bytes(settings, principal, usage, size)
    if principal == ANONYMOUS or not principal.has(Role.OPERATOR):
        try:
            store = await ctx.room.usage()
        except UNREACHABLE as exc:
            raise unavailable(exc, publishing=True) from exc
        _check_reserve(settings, store, size)
    ctx.room.add(size)


def _check_jobs(settings: GatewaySettings, principal: Principal, usage: CallerUsage) -> None:
    cap = settings.max_jobs_per_caller
    if usage.active >= cap:
        raise OGCError(
            429,
            ExceptionType.TOO_MANY_JOBS,
            f"{principal.id} has {usage.active} jobs queued or running; at most {cap} "
            "(JOBSTREAM_MAX_JOBS_PER_CALLER). Retry when some have finished",
            "Too many jobs",
            headers={"Retry-After": "10"},
        )


def _check_stored_bytes(
    settings: GatewaySettings, principal: Principal, usage: CallerUsage, size: int
) -> None:
    cap, window = settings.max_stored_bytes_per_caller, settings.stored_bytes_window
    if usage.stored_bytes + size <= cap:
        return
    retry = _until_window_moves(usage.first_created, window)
    raise OGCError(
        429,
        ExceptionType.TOO_MUCH_STORED,
        f"{principal.id}'s jobs of the last {window:g} s hold {usage.stored_bytes} bytes of "
        f"events; this request would add {size}, past the {cap} one caller may store "
        f"(JOBSTREAM_MAX_STORED_BYTES_PER_CALLER). Retry in {retry} s, when the oldest of "
        "them leaves the window",
        "Too much stored",
        headers={"Retry-After": str(retry)},
        members={
            "storedBytes": usage.stored_bytes,
            "requestBytes": size,
            "limitBytes": cap,
            "windowSeconds": window,
        },
    )


def _until_window_moves(first_created: datetime | None, window: float) -> int:
    """Whole seconds until the oldest job counted leaves the window (at least 1)."""
    if first_created is None:
        return math.ceil(window)
    left = (first_created + timedelta(seconds=window) - datetime.now(UTC)).total_seconds()
    return max(1, math.ceil(left))


def _check_reserve(settings: GatewaySettings, usage: StoreUsage, size: int) -> None:
    if usage.capacity is None:
        return
    reserve = int(usage.capacity * settings.store_reserve)
    free = usage.capacity - usage.used
    if free - size >= reserve:
        return
    raise OGCError(
        503,
        ExceptionType.STORE_RESERVED,
        f"the event store holds {usage.used} of {usage.capacity} bytes; its last {reserve} "
        "(JOBSTREAM_STORE_RESERVE) are kept for running jobs' outcomes, dismissals and "
        "operators, so nothing was recorded. Retry later: an operator must make room",
        "Store nearly full",
        headers={"Retry-After": "60"},
        members={"usedBytes": usage.used, "capacityBytes": usage.capacity, "reserveBytes": reserve},
    )
