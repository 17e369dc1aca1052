"""GET /processes/{id}/estimate: what a run would take, answered by an executor.

The gateway holds no data libraries, so it asks over NATS request-reply (planning.py); one
executor of the process answers (a queue group) within JOBSTREAM_ESTIMATE_BUDGET, and stops
when the client goes away. Inputs come as query parameters, converted by the type the
process's input schema gives (arrays comma-separated), then validated like an execute body.
"""

from typing import Any

from fastapi import APIRouter, Depends, Request
from nats.errors import NoRespondersError

from jobstream_contracts.access import Principal
from jobstream_contracts.estimates import EstimateAnswer
from jobstream_contracts.ogc import ExceptionType, ProcessDescription

from .callers import caller, require
from .context import Context, context
from .errors import OGCError, invalid_parameter
from .execution import process_or_404
from .inputs import validate_inputs
from .planning import ask_estimate, figures_or_refusal

router = APIRouter(tags=["Processes"])

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


@router.get("/processes/{process_id}/estimate", response_model=EstimateAnswer)
async def estimate(
    process_id: str,
    request: Request,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> EstimateAnswer:
    process = process_or_404(ctx, process_id)
    # An estimate costs an executor real work: only those who may run the process ask.
    require(principal, process.role, f"estimating {process.id}")
    inputs = validate_inputs(process, query_inputs(process, request.query_params))
    try:
        reply = await ask_estimate(
            ctx,
            process_id,
            inputs,
            size_only=False,
            budget=ctx.settings.estimate_budget,
            caller=request,
        )
    except NoRespondersError:
        raise OGCError(
            404,
            ExceptionType.NOT_ALLOWED,
            f"process {process_id} offers no estimate (or no executor of it runs)",
            "No estimate",
        ) from None
    figures = figures_or_refusal(reply)
    return EstimateAnswer.model_validate({"processID": process_id, "inputs": inputs, **figures})
