"""What an executor tells the others: the processes it runs, their documents, their estimates.

Descriptions go to the process registry the gateway watches; a process kept off the HTTP API
is withdrawn from it. Estimates are answered over request-reply, one executor per request.
"""

import asyncio
import inspect
import json
from functools import partial

import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from jobstream_contracts.messages import EstimateError, EstimateReply, EstimateRequest
from jobstream_contracts.process import PermanentError, Process
from jobstream_contracts.subjects import ESTIMATORS_QUEUE, estimate_subject
from jobstream_infra.provisioning import ensure_process_registry, ensure_registry

log = structlog.get_logger(__name__)


async def announce(js: JetStreamContext, processes: dict[str, Process]) -> None:
    registry = await ensure_process_registry(js)
    for process in processes.values():
        if not process.exposed:  # hidden from the gateway; withdrawn if announced before
            await registry.delete(process.id)
            continue
        await registry.put(
            process.id,
            process.description.model_dump_json(by_alias=True, exclude_none=True).encode(),
        )
        for bucket, documents in process.announces.items():
            announced = await ensure_registry(js, bucket)
            for key, document in documents.items():
                await announced.put(key, document.encode())


async def serve_estimates(nc: NATS, processes: dict[str, Process]) -> None:
    for process in processes.values():
        if process.estimate is not None:
            await nc.subscribe(
                estimate_subject(process.id),
                queue=ESTIMATORS_QUEUE,
                cb=partial(_answer_estimate, process),
            )


async def _answer_estimate(process: Process, msg: Msg) -> None:
    """Answer GET /processes/{id}/estimate."""
    await msg.respond((await estimate_reply(process, msg.data)).encode())


async def estimate_reply(process: Process, data: bytes) -> EstimateReply:
    assert process.estimate is not None
    try:
        inputs = EstimateRequest.decode(data).inputs
        inspect.signature(process.estimate).bind(**inputs)
        figures = await asyncio.to_thread(process.estimate, **inputs)
        # Plain JSON: a source may hand back numpy numbers or datetimes.
        return EstimateReply(estimate=json.loads(json.dumps(figures, default=str)))
    except (PermanentError, TypeError, ValueError) as exc:
        return EstimateReply(error=EstimateError(kind="invalid-input", detail=str(exc)))
    except Exception as exc:  # noqa: BLE001 - the source may be unreachable
        log.warning("estimate failed", process=process.id, error=repr(exc))
        return EstimateReply(
            error=EstimateError(kind="failed", detail=f"{type(exc).__name__}: {exc}")
        )
