"""Schedules as resources: create, read, change (pause, resume), delete, run now, history.

A schedule's jobs belong to its owner. Whoever may run its process may create one; its owner
or an operator may change, trigger or delete it; who may read it follows who may read jobs.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ConfigDict

from jobstream_contracts.access import Principal
from jobstream_contracts.cloudevents import MEDIA_TYPE, schedule_cloudevent
from jobstream_contracts.ogc import ExceptionType, Link, Model
from jobstream_contracts.schedule_events import (
    ScheduleChanged,
    ScheduleCreated,
    ScheduleDeleted,
    SchedulePaused,
    ScheduleResumed,
    ScheduleState,
)
from jobstream_contracts.schedules import Schedule, ScheduleList, ScheduleSpec
from jobstream_contracts.status import status_info
from jobstream_infra.schedule_book import ScheduleTaken

from .callers import caller, forbidden, require
from .context import UNREACHABLE, Context, base_url, context, unavailable
from .errors import OGCError, invalid_parameter, validated
from .execution import process_or_404
from .inputs import validate_inputs
from .scheduling import FiringRefused, Schedules

router = APIRouter(tags=["Schedules"])


def _schedules(ctx: Context) -> Schedules:
    if ctx.schedules is None:
        raise OGCError(
            503,
            ExceptionType.SERVICE_UNAVAILABLE,
            "schedules need the NATS schedules stream, which this gateway does not serve from",
            "Service unavailable",
        )
    return ctx.schedules


def _no_such_schedule(schedule_id: str) -> OGCError:
    return OGCError(
        404,
        ExceptionType.NO_SUCH_SCHEDULE,
        f"no schedule with id {schedule_id!r}",
        "No such schedule",
    )


def _readable(ctx: Context, principal: Principal, schedule_id: str) -> ScheduleState:
    # A gateway without the schedules stream has no schedule to show.
    state = ctx.schedules.catalog.get(schedule_id) if ctx.schedules else None
    if state is None or state.deleted or not principal.may_read(state.owner):
        raise _no_such_schedule(schedule_id)
    return state


def _changeable(ctx: Context, principal: Principal, schedule_id: str) -> ScheduleState:
    state = _readable(ctx, principal, schedule_id)
    if not principal.may_change(state.owner):
        raise forbidden(f"changing schedule {schedule_id} needs its owner or the operator role")
    return state


def _not_from_a_file(state: ScheduleState) -> None:
    if state.source == "file":
        raise OGCError(
            409,
            ExceptionType.NOT_ALLOWED,
            f"schedule {state.id} is declared in the operator's file; change it there",
            "Declared in a file",
        )


def _document(state: ScheduleState, url: str) -> dict[str, Any]:
    schedule = state.schedule(datetime.now(UTC))
    href = f"{url}/schedules/{state.id}"
    schedule.links = [
        Link(href=href, rel="self", type="application/json"),
        Link(href=f"{href}/events", rel="history", type="application/json", title="its events"),
        Link(href=f"{url}/processes/{state.spec.process}", rel="process"),
    ]
    return schedule.to_json()


def _checked(ctx: Context, principal: Principal, spec: ScheduleSpec) -> ScheduleSpec:
    """The spec with its inputs as the process takes them; 404 for an unknown process, 403
    for a caller who may not run it, 400 naming the input."""
    process = process_or_404(ctx, spec.process)
    require(principal, process.role, f"scheduling {process.id}")
    return spec.model_copy(update={"inputs": validate_inputs(process, spec.inputs)})


async def _unless_unreachable(coro):
    try:
        return await coro
    except UNREACHABLE as exc:
        raise unavailable(exc, publishing=True) from exc


@router.get("/schedules", response_model=ScheduleList, response_model_exclude_none=True)
async def list_schedules(
    request: Request, ctx: Context = Depends(context), principal: Principal = Depends(caller)
) -> JSONResponse:
    url = base_url(request)
    known = ctx.schedules.catalog.states.values() if ctx.schedules else []
    states = sorted(known, key=lambda state: state.id)
    shown = [s for s in states if not s.deleted and principal.may_read(s.owner)]
    body = {
        "schedules": [_document(state, url) for state in shown],
        "links": [Link(href=f"{url}/schedules", rel="self").to_json()],
    }
    return JSONResponse(body)


@router.post("/schedules", status_code=201, response_model=Schedule)
async def create_schedule(
    request: Request,
    spec: Annotated[ScheduleSpec, Body()],
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> JSONResponse:
    schedules = _schedules(ctx)
    spec = _checked(ctx, principal, spec)
    schedule_id = spec.id or uuid.uuid4().hex[:12]
    event = ScheduleCreated(
        schedule_id=schedule_id,
        spec=spec.model_copy(update={"id": None}),
        owner=principal.id,
        actor=principal.id,
    )
    try:
        state = await _unless_unreachable(schedules.record(event, expect_new=True))
    except ScheduleTaken:
        raise OGCError(
            409,
            ExceptionType.INVALID_PARAMETER,
            f"id: a schedule {schedule_id!r} exists or existed; choose another id",
            "Schedule id taken",
        ) from None
    await _unless_unreachable(schedules.arm_next(state, datetime.now(UTC)))
    url = base_url(request)
    headers = {"Location": f"{url}/schedules/{schedule_id}"}
    return JSONResponse(_document(state, url), status_code=201, headers=headers)


@router.get("/schedules/{schedule_id}", response_model=Schedule)
async def get_schedule(
    schedule_id: str,
    request: Request,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> JSONResponse:
    return JSONResponse(_document(_readable(ctx, principal, schedule_id), base_url(request)))


@router.patch("/schedules/{schedule_id}", response_model=Schedule)
async def change_schedule(
    schedule_id: str,
    request: Request,
    changes: Annotated[dict[str, Any] | None, Body()] = None,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> JSONResponse:
    """Change members of the schedule; ``{"paused": true}`` pauses it, ``false`` resumes it
    from the next instant after now (missed firings of a pause are not run)."""
    state = _changeable(ctx, principal, schedule_id)
    _not_from_a_file(state)
    changes = changes or {}
    if "id" in changes and changes["id"] != schedule_id:
        raise invalid_parameter("id", "a schedule's id cannot change")
    merged = {**state.spec.model_dump(by_alias=True, exclude_none=True), **changes, "id": None}
    spec = _checked(ctx, principal, validated(ScheduleSpec, merged))
    event = _change_event(state, spec, principal)
    schedules = _schedules(ctx)
    if event is not None:
        state = await _unless_unreachable(schedules.record(event))
        await _unless_unreachable(schedules.arm_next(state, datetime.now(UTC)))
    return JSONResponse(_document(state, base_url(request)))


def _change_event(state: ScheduleState, spec: ScheduleSpec, principal: Principal):
    if spec == state.spec:
        return None
    if spec.model_copy(update={"paused": state.paused}) == state.spec:
        kind = SchedulePaused if spec.paused else ScheduleResumed
        return kind(schedule_id=state.id, actor=principal.id)
    return ScheduleChanged(schedule_id=state.id, spec=spec, actor=principal.id)


@router.delete("/schedules/{schedule_id}", status_code=204)
async def delete_schedule(
    schedule_id: str, ctx: Context = Depends(context), principal: Principal = Depends(caller)
) -> Response:
    state = _changeable(ctx, principal, schedule_id)
    _not_from_a_file(state)
    schedules = _schedules(ctx)
    event = ScheduleDeleted(schedule_id=state.id, actor=principal.id)
    await _unless_unreachable(schedules.record(event))
    await _unless_unreachable(schedules.book.disarm(state.id))
    return Response(status_code=204)


@router.post("/schedules/{schedule_id}/trigger", status_code=201)
async def trigger_schedule(
    schedule_id: str,
    request: Request,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> JSONResponse:
    """Run the schedule's process now, as a firing of its own (not instead of the next)."""
    state = _changeable(ctx, principal, schedule_id)
    schedules = _schedules(ctx)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        job_id = await _unless_unreachable(
            schedules.submit(ctx, state, now, "manual", actor=principal.id)
        )
    except FiringRefused as exc:
        raise OGCError(
            409, ExceptionType.NOT_ALLOWED, f"schedule {schedule_id}: {exc}", "Cannot run now"
        ) from None
    job = await ctx.job(job_id)
    if job is None:  # pragma: no cover - just published
        raise _no_such_schedule(schedule_id)
    url = base_url(request)
    return JSONResponse(
        status_info(job, url).to_json(),
        status_code=201,
        headers={"Location": f"{url}/jobs/{job_id}"},
    )


# The most instants one backfill submits: a longer range is several backfills.
MAX_BACKFILL = 1000


class Backfill(Model):
    """``POST /schedules/{id}/backfill``: the instants of [start, end] as firings; with
    ``plan``, only what it would submit."""

    model_config = ConfigDict(extra="forbid")
    start: datetime
    end: datetime
    plan: bool = False


@router.post("/schedules/{schedule_id}/backfill")
async def backfill_schedule(
    schedule_id: str,
    request: Annotated[dict[str, Any] | None, Body(title="Backfill")] = None,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> JSONResponse:
    """Submit a job for each instant of the range that has none yet (an instant's job id is
    the one its firing has: a backfill over firings that ran makes no second job). The body
    is a :class:`Backfill`."""
    state = _changeable(ctx, principal, schedule_id)
    body = validated(Backfill, request or {})
    instants = _backfill_instants(state, body)
    planned = {"process": state.spec.process, "inputs": state.spec.inputs, "count": len(instants)}
    if body.plan:
        return JSONResponse({**planned, "instants": [i.isoformat() for i in instants]})
    schedules = _schedules(ctx)
    fired, skipped = [], []
    for instant in instants:
        try:
            job_id = await _unless_unreachable(
                schedules.submit(ctx, state, instant, "backfill", actor=principal.id)
            )
            fired.append({"instant": instant.isoformat(), "jobID": job_id})
        except FiringRefused as exc:
            skipped.append({"instant": instant.isoformat(), "reason": str(exc)})
    return JSONResponse({**planned, "jobs": fired, "skipped": skipped})


def _backfill_instants(state: ScheduleState, body: Backfill) -> list[datetime]:
    for name in ("start", "end"):
        if getattr(body, name).tzinfo is None:
            raise invalid_parameter(name, "give a time zone offset (e.g. 2027-01-01T00:00:00Z)")
    if body.end < body.start:
        raise invalid_parameter("end", "must not be before start")
    cadence = state.spec.cadence(state.created, bounded=False)
    if cadence is None:
        raise OGCError(
            409,
            ExceptionType.NOT_ALLOWED,
            f"schedule {state.id} runs on a dataset's updates: it has no instants to backfill",
            "Nothing to backfill",
        )
    instants = cadence.between(body.start - timedelta(microseconds=1), body.end, MAX_BACKFILL + 1)
    if len(instants) > MAX_BACKFILL:
        raise invalid_parameter(
            "end", f"the range holds over {MAX_BACKFILL} instants; backfill it in parts"
        )
    return instants


@router.get("/schedules/{schedule_id}/events")
async def schedule_events(
    schedule_id: str,
    request: Request,
    after: Annotated[int, Query(ge=0, description="the stream sequence to read after")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="events in a page")] = 1000,
    ctx: Context = Depends(context),
    principal: Principal = Depends(caller),
) -> JSONResponse:
    """The schedule's events as CloudEvents, oldest first, ``limit`` a page (a full page has
    a ``Link: rel="next"``): who created and changed it, and each firing with its job or why
    it made none."""
    state = _readable(ctx, principal, schedule_id)
    records = await _unless_unreachable(_schedules(ctx).book.read(state.id, after, limit))
    body = [schedule_cloudevent(event, sequence) for sequence, event in records]
    headers = {"Content-Type": f"{MEDIA_TYPE}-batch"}
    if len(records) == limit:
        following = f"{base_url(request)}/schedules/{state.id}/events?after={records[-1][0]}"
        headers["Link"] = f'<{following}&limit={limit}>; rel="next"'
    return JSONResponse(body, headers=headers)
