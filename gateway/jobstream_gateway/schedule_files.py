"""Schedules the operator declares in ``<plugins_dir>/schedules/*.yaml``, one per file.

A gateway reads them when it starts and brings the record in line: a new file's schedule is
created, a changed file's schedule changed, a removed file's schedule deleted; each as the
events an API call would record, by ``file:<name>``. They are shown with ``source: file`` and
changed only there (PATCH and DELETE answer 409). A file that does not validate (an unknown
member, a bad cron, inputs its process refuses) is reported with its path and field, and
nothing of it is recorded. Several gateways starting together record each change once: a
creation is conditional on the id being new, and a change is recorded only where it differs
from the fold.
"""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import structlog

from jobstream_contracts.schedule_events import (
    ScheduleChanged,
    ScheduleCreated,
    ScheduleDeleted,
    ScheduleEvent,
    ScheduleState,
)
from jobstream_contracts.schedules import ScheduleSpec
from jobstream_infra.schedule_book import ScheduleTaken
from jobstream_infra.yaml_files import load_yaml_model

from .context import Context
from .errors import OGCError
from .inputs import validate_inputs
from .scheduling import Schedules

log = structlog.get_logger(__name__)

# Seconds a file waits for its process to be announced, looked at every RECHECK_EVERY.
ANNOUNCE_WAIT = 600.0
RECHECK_EVERY = 2.0

# The owner of the operator's schedules: their jobs are read by whoever reads every job.
FILE_OWNER = "operator-file"


class BadScheduleFile(ValueError):
    """A schedule file that does not validate; its message names the file and field."""


def declared_schedules(plugins_dir: Path | None) -> dict[str, tuple[Path, ScheduleSpec]]:
    """Each valid schedule file's spec by id (the id is the file's stem unless it names one).
    Invalid files are logged and left out."""
    found: dict[str, tuple[Path, ScheduleSpec]] = {}
    if plugins_dir is None:
        return found
    for path in sorted((plugins_dir / "schedules").glob("*.y*ml")):
        try:
            spec = load_yaml_model(path, ScheduleSpec, BadScheduleFile, "a schedule")
        except BadScheduleFile as exc:
            log.error("schedule file not used", error=str(exc))
            continue
        found[spec.id or path.stem] = (path, spec.model_copy(update={"id": None}))
    return found


async def record_files(ctx: Context, schedules: Schedules, plugins_dir: Path | None) -> None:
    """Reconcile before the gateway serves; files whose process is not announced yet (an
    executor starting after the gateway) are looked at again in the background, for up to
    ANNOUNCE_WAIT seconds."""
    if await reconcile(ctx, schedules, plugins_dir):
        schedules.keep(_recheck(ctx, schedules, plugins_dir))


async def _recheck(ctx: Context, schedules: Schedules, plugins_dir: Path | None) -> None:
    deadline = asyncio.get_running_loop().time() + ANNOUNCE_WAIT
    while True:
        await asyncio.sleep(RECHECK_EVERY)
        if not await reconcile(ctx, schedules, plugins_dir):
            return
        if asyncio.get_running_loop().time() > deadline:
            log.error("schedule files not recorded: their process was never announced")
            return


async def reconcile(ctx: Context, schedules: Schedules, plugins_dir: Path | None) -> list[str]:
    """Record what the operator's files changed since the record last heard of them; the ids
    of files whose process is not announced yet (not recorded: their inputs are unchecked)."""
    declared = declared_schedules(plugins_dir)
    waiting = []
    for schedule_id, (path, spec) in declared.items():
        state = schedules.catalog.get(schedule_id)
        if state is not None and state.source != "file" and not state.deleted:
            log.error("schedule file not used: its id is an API schedule's", file=str(path))
            continue
        process = ctx.catalog.get(spec.process)
        if process is None:
            waiting.append(schedule_id)
            continue
        try:
            spec = spec.model_copy(update={"inputs": validate_inputs(process, spec.inputs)})
        except OGCError as exc:
            log.error("schedule file not used", file=str(path), error=exc.detail)
            continue
        await _record(schedules, _event(schedule_id, state, spec, path))
    for state in list(schedules.catalog.states.values()):
        if state.source == "file" and not state.deleted and state.id not in declared:
            await _record(schedules, ScheduleDeleted(schedule_id=state.id, actor="file"))
    return waiting


def _event(
    schedule_id: str, state: ScheduleState | None, spec: ScheduleSpec, path: Path
) -> ScheduleEvent | None:
    actor = f"file:{path.name}"
    if state is None or state.deleted:
        # A file's schedule deleted before and declared again: a new schedule can not take
        # the id (ids are never reused); the operator is told to rename it.
        if state is not None:
            log.error("schedule file not used: its id was deleted; rename it", file=str(path))
            return None
        return ScheduleCreated(
            schedule_id=schedule_id, spec=spec, owner=FILE_OWNER, source="file", actor=actor
        )
    if state.spec == spec:
        return None
    return ScheduleChanged(schedule_id=schedule_id, spec=spec, actor=actor)


async def _record(schedules: Schedules, event: ScheduleEvent | None) -> None:
    if event is None:
        return
    try:
        state = await schedules.record(event, expect_new=isinstance(event, ScheduleCreated))
    except ScheduleTaken:  # another gateway, starting beside this one, recorded it
        return
    await schedules.arm_next(state, datetime.now(UTC))
    log.info("schedule file recorded", schedule=event.schedule_id, kind=type(event).__name__)
