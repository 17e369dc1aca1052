"""What an executor tells the others: the processes it runs, their documents, their estimates.

Descriptions go to the process registry the gateway watches; a process kept off the HTTP API
is withdrawn from it. Estimates are answered over request-reply, one executor per request.

An estimate works under a budget: the seconds its asker waits, and a cancel subject the asker
publishes to when its own caller went away. The thread an estimate runs in cannot be killed,
so the estimate is cooperative: a function declaring a ``budget`` parameter gets a
:class:`Budget` and calls ``check()`` between steps (each source request, each commit read),
which raises :class:`EstimateStopped`. The reply goes out when the budget runs out whether
or not the thread noticed yet. A function declaring ``size_only`` is asked, before a job is
published, for the plan's size against the limits alone; one that does not has nothing to
check then. One declaring ``pinned_snapshots`` gets a rerun's (dataset id -> snapshot id) and
raises SnapshotGone for one its repository no longer holds: the rerun is refused (409).
"""

import asyncio
import inspect
import json
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from jobstream_contracts.messages import (
    EstimateError,
    EstimateErrorKind,
    EstimateReply,
    EstimateRequest,
)
from jobstream_contracts.ogc import ProcessDescription
from jobstream_contracts.process import PermanentError, Process, SnapshotGone, TooMuchWork
from jobstream_contracts.redaction import strip_url_secrets
from jobstream_contracts.subjects import (
    ESTIMATORS_QUEUE,
    estimate_cancel_subject,
    estimate_subject,
)
from jobstream_infra.provisioning import ensure_process_registry, ensure_registry, patiently

log = structlog.get_logger(__name__)

# For an asker that names no budget (an older gateway): what the gateway used to wait.
DEFAULT_BUDGET = 30.0
# Parameters the executor passes itself; never inputs.
_RUNTIME_PARAMETERS = ("budget", "size_only", "pinned_snapshots")


class EstimateStopped(Exception):
    """The estimate's budget ran out, or its asker went away."""


@dataclass
class Budget:
    """How long an estimate may work, and whether anyone still waits for it."""

    seconds: float
    deadline: float = field(init=False)
    cancelled: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def check(self) -> None:
        """Raise EstimateStopped once the work should stop; call it between steps."""
        if self.cancelled.is_set():
            raise EstimateStopped("the asker went away")
        if self.remaining() <= 0:
            raise EstimateStopped(f"no estimate within its budget of {self.seconds:g} s")


async def announce(js: JetStreamContext, processes: dict[str, Process]) -> None:
    registry = await ensure_process_registry(js)
    for process in processes.values():
        if not process.exposed:  # hidden from the gateway; withdrawn if announced before
            await patiently(partial(registry.delete, process.id), f"withdrawing {process.id}")
            continue
        description = announced(process).model_dump_json(by_alias=True, exclude_none=True)
        await _put(registry, process.id, description.encode())
        for bucket, documents in process.announces.items():
            registered = await ensure_registry(js, bucket)
            for key, document in documents.items():
                await _put(registered, key, document.encode())


def announced(process: Process) -> ProcessDescription:
    """The process's description as the gateway gets it: saying whether it offers an
    estimate, so that a submission of one without is not held up asking."""
    return process.description.model_copy(update={"offersEstimate": process.estimate is not None})


async def _put(bucket: KeyValue, key: str, value: bytes) -> None:
    # Puts repeat harmlessly: each key holds one document (history 1).
    await patiently(partial(bucket.put, key, value), f"announcing {key}")


# Estimates being answered: a subscription's callback returns at once, so a slow estimate
# never holds up the quick size checks queued behind it.
_answering: set[asyncio.Task] = set()


async def serve_estimates(nc: NATS, processes: dict[str, Process]) -> None:
    for process in processes.values():
        if process.estimate is not None:
            await nc.subscribe(
                estimate_subject(process.id),
                queue=ESTIMATORS_QUEUE,
                cb=partial(_answer_estimate, nc, process),
            )


async def _answer_estimate(nc: NATS, process: Process, msg: Msg) -> None:
    """Answer GET /processes/{id}/estimate, or the size check before an execute."""
    task = asyncio.create_task(_answer(nc, process, msg))
    _answering.add(task)
    task.add_done_callback(_answering.discard)


async def _answer(nc: NATS, process: Process, msg: Msg) -> None:
    try:
        request = EstimateRequest.decode(msg.data)
    except ValueError as exc:
        await msg.respond(_failure("invalid-input", str(exc)).encode())
        return
    budget = Budget(request.budget_seconds or DEFAULT_BUDGET)
    cancel = None
    if request.request_id is not None:
        subject = estimate_cancel_subject(request.request_id)
        cancel = await nc.subscribe(subject, cb=partial(_cancelled, budget))
    try:
        reply = await estimate_reply(process, request, budget)
    finally:
        if cancel is not None:
            await cancel.unsubscribe()
    if budget.cancelled.is_set():
        log.info("estimate stopped: the asker went away", process=process.id)
        return
    await msg.respond(reply.encode())


async def _cancelled(budget: Budget, msg: Msg) -> None:
    budget.cancelled.set()


def _failure(kind: EstimateErrorKind, detail: str) -> EstimateReply:
    # The detail reaches HTTP clients: source URLs lose their credentials and queries.
    return EstimateReply(error=EstimateError(kind=kind, detail=strip_url_secrets(detail)))


def _arguments(process: Process, request: EstimateRequest, budget: Budget) -> dict[str, Any]:
    """The estimate's keyword arguments: the inputs, and the budget and mode it declares."""
    assert process.estimate is not None
    reserved = sorted(set(request.inputs) & set(_RUNTIME_PARAMETERS))
    if reserved:
        raise TypeError(f"{reserved[0]} is not an input")
    parameters = inspect.signature(process.estimate).parameters
    runtime = {
        "budget": budget,
        "size_only": request.size_only,
        "pinned_snapshots": request.pinned_snapshots,
    }
    arguments = {**request.inputs, **{k: v for k, v in runtime.items() if k in parameters}}
    inspect.signature(process.estimate).bind(**arguments)
    return arguments


async def estimate_reply(
    process: Process, request: EstimateRequest, budget: Budget | None = None
) -> EstimateReply:
    assert process.estimate is not None
    budget = budget or Budget(request.budget_seconds or DEFAULT_BUDGET)
    try:
        arguments = _arguments(process, request, budget)
        if request.size_only and "size_only" not in arguments:
            return EstimateReply()  # the process plans nothing it could check
        work = asyncio.to_thread(process.estimate, **arguments)
        figures = await asyncio.wait_for(work, timeout=budget.remaining())
        return EstimateReply(estimate=_plain(figures))
    except TooMuchWork as exc:
        return EstimateReply(
            estimate=_plain(exc.estimate),
            error=EstimateError(kind="too-large", detail=strip_url_secrets(str(exc))),
        )
    except SnapshotGone as exc:
        return _failure("gone", str(exc))
    except (PermanentError, TypeError, ValueError) as exc:
        return _failure("invalid-input", str(exc))
    except (TimeoutError, EstimateStopped) as exc:
        if budget.remaining() > 0 and not budget.cancelled.is_set():
            return _failed(process, exc)  # the source's own timeout, not the budget
        return _failure("timed-out", f"no estimate within its budget of {budget.seconds:g} s")
    except Exception as exc:  # noqa: BLE001 - the source may be unreachable
        return _failed(process, exc)


def _plain(figures: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON: a source may hand back numpy numbers or datetimes."""
    return json.loads(json.dumps(figures, default=str))


def _failed(process: Process, exc: Exception) -> EstimateReply:
    log.warning("estimate failed", process=process.id, error=repr(exc))
    return _failure("failed", f"{type(exc).__name__}: {exc}")
