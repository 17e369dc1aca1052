"""The work a request plans, asked of an executor before anything is published.

An ingest or a sync can plan more work than anyone should start by accident: ERA5-Land
hourly from 1950 is 670,000 periods. Before the execute endpoint publishes a job it asks an
executor of the process for the plan's size against the limits (a size-only estimate,
arithmetic, answered within JOBSTREAM_PLAN_CHECK_BUDGET): work over a limit is 413 with the
plan's figures as ``estimate`` in the body; inputs outside the template are 400.

A process without an estimate is not checked, nor one whose executors are all down: its job
waits in the stream, and the executor checks the limits again before any work. An executor
that is up but does not answer in time gives 503, never an unchecked job.

GET /processes/{id}/estimate asks the same way with JOBSTREAM_ESTIMATE_BUDGET; when its HTTP
client goes away, the executor is told to stop (``subjects.estimate_cancel_subject``).
"""

import asyncio
import uuid
from typing import Any

from fastapi import Request
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from jobstream_contracts.messages import EstimateReply, EstimateRequest
from jobstream_contracts.ogc import ExceptionType, ProcessDescription
from jobstream_contracts.subjects import estimate_subject

from .context import UNREACHABLE, Context, unavailable
from .errors import OGCError

# Time for an executor's "budget ran out" answer to reach us before we stop waiting.
REPLY_MARGIN = 1.0


async def check_planned_work(
    ctx: Context,
    process: ProcessDescription,
    inputs: dict,
    pinned_snapshots: dict[str, str] | None = None,
) -> None:
    """Refuse, before anything is published, a job whose plan is over a limit (413), whose
    inputs lie outside what the process can do (400), or (a rerun) whose pinned snapshots
    are no longer stored (409)."""
    if process.offersEstimate is False:
        return  # nothing to ask: a request would only come back "no responders"
    try:
        reply = await ask_estimate(
            ctx,
            process.id,
            inputs,
            size_only=True,
            budget=ctx.settings.plan_check_budget,
            pinned_snapshots=pinned_snapshots or {},
        )
    except NoRespondersError:
        return  # no executor of it runs, or it plans nothing: its executor checks later
    if reply.error is not None and reply.error.kind == "failed":
        raise OGCError(
            503,
            ExceptionType.SERVICE_UNAVAILABLE,
            f"the planned work could not be checked: {reply.error.detail}",
            "Plan check failed",
            headers={"Retry-After": "5"},
        )
    figures_or_refusal(reply)


async def ask_estimate(
    ctx: Context,
    process_id: str,
    inputs: dict[str, Any],
    *,
    size_only: bool,
    budget: float,
    caller: Request | None = None,
    pinned_snapshots: dict[str, str] | None = None,
) -> EstimateReply:
    """An executor's estimate within ``budget`` seconds; NoRespondersError when none offers
    one (or the context has no executors). Should ``caller`` go away first, the executor is
    told to stop."""
    executors = ctx.executors
    if executors is None:
        raise NoRespondersError
    request_id = uuid.uuid4().hex
    request = EstimateRequest(
        inputs=inputs,
        size_only=size_only,
        budget_seconds=budget,
        request_id=request_id,
        pinned_snapshots=pinned_snapshots or {},
    )
    subject = estimate_subject(process_id)
    asking = asyncio.ensure_future(
        executors.ask(subject, request.encode(), timeout=budget + REPLY_MARGIN)
    )
    watching = asyncio.ensure_future(_gone(caller))
    try:
        await asyncio.wait({asking, watching}, return_when=asyncio.FIRST_COMPLETED)
        if not asking.done():
            asking.cancel()
            await executors.cancel(request_id)
            raise OGCError(499, ExceptionType.INVALID_INPUT, "the client went away")
        return EstimateReply.decode(asking.result())
    except NatsTimeout:
        raise OGCError(
            503,
            ExceptionType.SERVICE_UNAVAILABLE,
            f"no estimate within {budget:g} s; try again",
            "Estimate timed out",
            headers={"Retry-After": "5"},
        ) from None
    except NoRespondersError:
        raise
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc
    finally:
        watching.cancel()


async def _gone(caller: Request | None) -> None:
    """Returns when the HTTP client has disconnected; never without a caller."""
    if caller is None:
        await asyncio.Event().wait()
        return
    while (await caller.receive())["type"] != "http.disconnect":
        pass


def figures_or_refusal(reply: EstimateReply) -> dict[str, Any]:
    """The reply's figures, or the OGC error its refusal is."""
    error = reply.error
    if error is None:
        return reply.estimate or {}
    if error.kind == "invalid-input":
        raise OGCError(400, ExceptionType.INVALID_INPUT, error.detail, "Invalid input")
    if error.kind == "too-large":
        raise OGCError(
            413,
            ExceptionType.INVALID_INPUT,
            error.detail,
            "Planned work over a limit",
            members={"estimate": reply.estimate or {}},
        )
    if error.kind == "gone":
        raise OGCError(409, ExceptionType.NOT_REPRODUCIBLE, error.detail, "Snapshot gone")
    if error.kind == "timed-out":
        raise OGCError(
            503,
            ExceptionType.SERVICE_UNAVAILABLE,
            error.detail,
            "Estimate timed out",
            headers={"Retry-After": "5"},
        )
    raise OGCError(
        502,
        ExceptionType.SERVICE_UNAVAILABLE,
        f"the estimate failed: {error.detail}",
        "Estimate failed",
    )
