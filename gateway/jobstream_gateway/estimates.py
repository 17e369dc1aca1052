"""GET /processes/{id}/estimate: what a run would take, answered by an executor.

The gateway holds no data libraries, so it asks over NATS request-reply; one executor of the
process answers (a queue group). Inputs come as query parameters, converted by the type the
process's input schema gives (arrays comma-separated), then validated like an execute body.
"""

from typing import Any

from fastapi import APIRouter, Depends, Request
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from jobstream_contracts.messages import EstimateReply, EstimateRequest
from jobstream_contracts.ogc import ExceptionType, ProcessDescription
from jobstream_contracts.subjects import estimate_subject

from .context import UNREACHABLE, Context, context, unavailable
from .errors import OGCError, invalid_parameter
from .inputs import validate_inputs
from .processes import process_or_404

router = APIRouter(tags=["Processes"])

# Sources may be slow to answer HEAD requests; past this the client is told to retry.
ESTIMATE_TIMEOUT = 30.0
_SCALARS = {"number": float, "integer": int, "string": str}


def _convert(name: str, text: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "array":
            item = _SCALARS.get(str(schema.get("items", {}).get("type")), str)
            return [item(part.strip()) for part in text.split(",")]
        if kind == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError("expected true or false")
            return text.lower() == "true"
        return _SCALARS.get(str(kind), str)(text)
    except ValueError as exc:
        raise invalid_parameter(name, f"{text!r} is not a valid {kind}: {exc}") from None


def query_inputs(process: ProcessDescription, params) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for name, text in params.multi_items():
        description = process.inputs.get(name)
        if description is None:
            raise invalid_parameter(
                name, f"not an input of {process.id} (inputs: {', '.join(sorted(process.inputs))})"
            )
        if name in inputs:
            raise invalid_parameter(name, "given twice; give arrays comma-separated")
        inputs[name] = _convert(name, text, description.schema_ or {})
    return inputs


@router.get("/processes/{process_id}/estimate")
async def estimate(process_id: str, request: Request, ctx: Context = Depends(context)) -> dict:
    process = process_or_404(ctx, process_id)
    inputs = validate_inputs(process, query_inputs(process, request.query_params))
    try:
        reply = await ctx.nc.request(
            estimate_subject(process_id),
            EstimateRequest(inputs=inputs).encode(),
            timeout=ESTIMATE_TIMEOUT,
        )
    except NoRespondersError:
        raise OGCError(
            404,
            ExceptionType.NOT_ALLOWED,
            f"process {process_id} offers no estimate (or no executor of it runs)",
            "No estimate",
        ) from None
    except NatsTimeout:
        raise OGCError(
            503,
            ExceptionType.SERVICE_UNAVAILABLE,
            f"no estimate within {ESTIMATE_TIMEOUT:.0f} s; try again",
            "Estimate timed out",
        ) from None
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc
    answer = EstimateReply.decode(reply.data)
    if answer.error is not None:
        if answer.error.kind == "invalid-input":
            raise OGCError(400, ExceptionType.INVALID_INPUT, answer.error.detail, "Invalid input")
        raise OGCError(
            502,
            ExceptionType.SERVICE_UNAVAILABLE,
            f"the estimate failed: {answer.error.detail}",
            "Estimate failed",
        )
    return {"processID": process_id, "inputs": inputs, **(answer.estimate or {})}
