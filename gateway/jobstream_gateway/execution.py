"""An execute request checked before anything is published, whichever route carries it:
``POST /processes/{id}/execution`` (Part 1) and the job management routes (Part 4) create,
change and start jobs under the same rules."""

from dataclasses import dataclass
from typing import Any

from jobstream_contracts.access import Principal, Role
from jobstream_contracts.ogc import (
    ExceptionType,
    Execute,
    Priority,
    ProcessDescription,
    Subscriber,
)
from jobstream_infra.callbacks import CallbackRefused, check_callback

from .callers import require
from .context import Context
from .errors import OGCError, invalid_parameter
from .inputs import validate_inputs
from .planning import check_planned_work


def process_or_404(ctx: Context, process_id: str) -> ProcessDescription:
    process = ctx.catalog.get(process_id)
    if process is None:
        raise OGCError(
            404,
            ExceptionType.NO_SUCH_PROCESS,
            f"no process with id {process_id!r}",
            "No such process",
        )
    return process


@dataclass(frozen=True)
class CheckedRequest:
    """What a job will carry of its execute request once every check passed."""

    inputs: dict[str, Any]
    outputs: dict[str, Any]


async def check_request(
    ctx: Context,
    process: ProcessDescription,
    body: Execute,
    principal: Principal,
    pinned_snapshots: dict[str, str] | None = None,
) -> CheckedRequest:
    """Refuse (403, 400, 413, 503; 409 for a rerun's snapshot gone) an execute request of
    ``process`` that may not run: the caller's role, the inputs, the work they plan, the
    outputs, the subscriber."""
    require(principal, process.role, f"running {process.id}")
    inputs = validate_inputs(process, body.inputs)
    await check_planned_work(ctx, process, inputs, pinned_snapshots)
    _check_outputs(process, body)
    if body.subscriber is not None:
        await _check_subscriber(body.subscriber, ctx.settings.callback_allowed_networks)
    outputs = {name: out.to_json() for name, out in body.outputs.items()}
    return CheckedRequest(inputs, outputs)


def _check_outputs(process: ProcessDescription, body: Execute) -> None:
    for name, request in body.outputs.items():
        if name not in process.outputs:
            raise OGCError(
                400,
                ExceptionType.INVALID_PARAMETER,
                f"outputs.{name}: not an output of process {process.id} "
                f"(its outputs: {', '.join(sorted(process.outputs))})",
            )
        if request.transmissionMode not in process.outputTransmission:
            raise OGCError(
                400,
                ExceptionType.INVALID_PARAMETER,
                f"outputs.{name}.transmissionMode: {request.transmissionMode.value} "
                f"is not offered by process {process.id}",
            )


async def _check_subscriber(subscriber: Subscriber, allowed_networks: list[str]) -> None:
    for name in ("successUri", "inProgressUri", "failedUri"):
        uri = getattr(subscriber, name)
        if uri is None:
            continue
        try:
            await check_callback(uri, allowed_networks)
        except CallbackRefused as exc:
            raise invalid_parameter(f"subscriber.{name}", str(exc)) from None


_RANK = {lane: rank for rank, lane in enumerate(Priority)}


def asked_lane(
    process: ProcessDescription, asked: Priority | None, asynchronous: bool, principal: Principal
) -> Priority:
    """The lane a request asks for: high for a synchronous execution (someone waits on the
    answer), else the process's default. Lower on request; higher for an operator only."""
    default = process.priority if asynchronous else Priority.HIGH
    if asked is not None and _RANK[asked] < _RANK[default]:
        require(principal, Role.OPERATOR, f"priority: {asked.value}, above {default.value},")
    return default if asked is None else asked


async def lane(
    ctx: Context,
    process: ProcessDescription,
    asked: Priority | None,
    asynchronous: bool,
    principal: Principal,
) -> Priority:
    """The job's lane as it is submitted: the lane asked for, a lane lower for a caller with
    jobs of the process waiting (fairness.py), unless an operator asked above the default
    or the execution is synchronous."""
    default = process.priority if asynchronous else Priority.HIGH
    chosen = asked_lane(process, asked, asynchronous, principal)
    if not asynchronous or _RANK[chosen] < _RANK[default]:
        return chosen
    return await ctx.backlogs.lane(principal.id, process.id, chosen)
