"""Tables for people: jobs, one job's status, a job's history, datasets, schedules (rich
tables).

Decisions: times are shown to the second as the gateway gives them (UTC); an event's own
members (beyond the envelope every event shares) are one compact JSON cell, cut to stay on
a line; the job's text is never read as rich markup.

Ids are never cut, so they can be copied: the lists of jobs, datasets and schedules keep
their first column whole and, in a terminal too narrow for every column, leave out the last
columns (finished, created, …) until the rest fits; ``--wide`` shows every column at its full
width and lets the terminal wrap the lines.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from jobstream_client import Recorded
from jobstream_contracts.dataset_records import DatasetRecord
from jobstream_contracts.ogc import AttemptError, StatusInfo
from jobstream_contracts.queue import KeyQueue, ProcessQueue, Queue
from jobstream_contracts.schedule_events import (
    ScheduleChanged,
    ScheduleCreated,
    ScheduleEvent,
    ScheduleFired,
    ScheduleSkipped,
)
from jobstream_contracts.schedules import Firing, Schedule

# The members every event has; a history row shows the rest.
ENVELOPE = {
    "event_id",
    "job_id",
    "process_id",
    "schema_version",
    "time",
    "attempt",
    "trace",
    "type",
}
DETAIL_WIDTH = 80
# The width `--wide` tables are drawn at: wide enough for every column, however long.
FULL_WIDTH = 10_000

R = TypeVar("R")


@dataclass(frozen=True)
class Fitting(Generic[R]):
    """A list as a table whose first column (an id) is never cut, and whose columns after
    ``kept`` are left out, last first, where the terminal is too narrow for them."""

    columns: Sequence[tuple[str, Callable[[R], str]]]
    rows: Sequence[R]
    kept: int

    def build(self, count: int | None = None) -> Table:
        columns = self.columns[: count or len(self.columns)]
        table = Table(*(name for name, _ in columns))
        table.columns[0].no_wrap = True
        for row in self.rows:
            _row(table, *(cell(row) for _, cell in columns))
        return table

    def fitted(self, console: Console) -> Table:
        unbounded = console.options.update_width(FULL_WIDTH)
        for count in range(len(self.columns), self.kept, -1):
            table = self.build(count)
            if Measurement.get(console, unbounded, table).maximum <= console.width:
                return table
        return self.build(self.kept)


def when(moment: datetime | None) -> str:
    """To the second, in UTC (a schedule's instants come in its own zone)."""
    if moment is None:
        return ""
    return (moment.astimezone(UTC) if moment.tzinfo else moment).strftime("%Y-%m-%d %H:%M:%S")


def progress_of(status: StatusInfo) -> str:
    """``12/20 60%``, ``60%`` or nothing."""
    percent = status.percent if status.percent is not None else status.progress
    parts = []
    if status.done is not None:
        parts.append(f"{status.done:g}" + (f"/{status.total:g}" if status.total else ""))
    if percent is not None:
        parts.append(f"{percent:.0f}%")
    return " ".join(parts)


def _row(table: Table, *cells: str) -> None:
    """Cells as plain text: a job's message or a dataset's title is not rich markup."""
    table.add_row(*(Text(cell) for cell in cells))


JOB_COLUMNS: list[tuple[str, Callable[[StatusInfo], str]]] = [
    ("job", lambda job: job.jobID),
    ("process", lambda job: job.processID or ""),
    ("status", lambda job: job.status.value),
    ("progress", progress_of),
    ("created", lambda job: when(job.created)),
    ("finished", lambda job: when(job.finished)),
]


def jobs_table(jobs: list[StatusInfo]) -> Fitting[StatusInfo]:
    return Fitting(JOB_COLUMNS, jobs, kept=3)


QUEUE_COLUMNS: list[tuple[str, Callable[[ProcessQueue], str]]] = [
    ("process", lambda row: row.processID),
    ("waiting", lambda row: str(row.waiting)),
    ("running", lambda row: str(row.running)),
    ("oldest waiting since", lambda row: when(row.oldestWaiting)),
]


KEY_COLUMNS: list[tuple[str, Callable[[KeyQueue], str]]] = [
    ("key", lambda row: row.key),
    ("in use", lambda row: f"{row.running} of {row.limit}"),
    ("waiting", lambda row: str(row.waiting)),
    ("held by", lambda row: ", ".join(job[:8] for job in row.holders)),
]


def queue_table(queue: Queue) -> Fitting[ProcessQueue]:
    return Fitting(QUEUE_COLUMNS, queue.processes, kept=3)


def keys_table(queue: Queue) -> Fitting[KeyQueue]:
    return Fitting(KEY_COLUMNS, queue.keys, kept=3)


def status_table(status: StatusInfo) -> Table:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for name, value in _status_rows(status):
        if value:
            _row(table, name, value)
    return table


def _status_rows(status: StatusInfo) -> list[tuple[str, str]]:
    rows = [
        ("job", status.jobID),
        ("process", status.processID or ""),
        ("status", status.status.value),
        ("message", status.message or ""),
        ("progress", progress_of(status)),
        ("attempt", str(status.attempt or "")),
        ("created", when(status.created)),
        ("started", when(status.started)),
        ("finished", when(status.finished)),
        ("updated", when(status.updated)),
    ]
    rows += [(f"error ({e.attempt})", _error_text(e)) for e in status.errors or []]
    if status.estimate:
        rows.append(("estimate", json.dumps(status.estimate.model_dump(mode="json"))))
    return rows


def _error_text(error: AttemptError) -> str:
    return f"{error.type}: {error.detail}".strip(": ")


def history_table(history: list[Recorded]) -> Table:
    table = Table("seq", "recorded", "event", "attempt", "details")
    for entry in history:
        event = entry.event
        _row(
            table,
            str(entry.sequence),
            when(entry.recorded or event.time),
            getattr(event, "type", type(event).__name__),
            str(event.attempt),
            _details(event.model_dump(mode="json")),
        )
    return table


def _details(members: dict[str, Any]) -> str:
    own = {key: value for key, value in members.items() if key not in ENVELOPE and value}
    text = json.dumps(own, separators=(",", ":")) if own else ""
    return text if len(text) <= DETAIL_WIDTH else text[: DETAIL_WIDTH - 1] + "…"


def _stored_span(record: DatasetRecord) -> str:
    stored = record.stored
    return f"{stored.first} … {stored.last}" if stored and stored.first else ""


DATASET_COLUMNS: list[tuple[str, Callable[[DatasetRecord], str]]] = [
    ("dataset", lambda record: record.id),
    ("kind", lambda record: record.kind),
    ("title", lambda record: record.title),
    ("stored", _stored_span),
    ("periods", lambda record: str(record.stored.periods) if record.stored else ""),
    ("updated", lambda record: when(record.stored.updated) if record.stored else ""),
    ("stale", lambda record: _staleness(record.derived.stale if record.derived else None)),
]


def datasets_table(datasets: list[DatasetRecord]) -> Fitting[DatasetRecord]:
    return Fitting(DATASET_COLUMNS, datasets, kept=3)


def _staleness(stale: bool | None) -> str:
    """A derived dataset is stale or fresh; a source dataset is neither."""
    return "" if stale is None else "stale" if stale else "fresh"


def history_line(entry: Recorded) -> str:
    """One event as a JSON line: its sequence, when it was stored, the event."""
    recorded = entry.recorded.isoformat() if entry.recorded else None
    event = entry.event.model_dump(mode="json")
    return json.dumps({"sequence": entry.sequence, "recorded": recorded, "event": event})


def results_table(document: dict[str, Any]) -> Table:
    """A results document: one row per output, its value as text or compact JSON."""
    table = Table("output", "value")
    table.columns[1].overflow = "fold"
    for name, value in document.items():
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        _row(table, name, text)
    return table


# -- schedules -------------------------------------------------------------------------------
# The statuses of the jobs some firings made, by job id: what the tables say of those firings.
JobStatuses = dict[str, str]
# The last firings a schedule's table shows (its events have every one).
SHOWN_FIRINGS = 5


def cadence(schedule: Schedule) -> str:
    """``every 1h``, a cron and the zone it reads in (``0 6 * * * (Europe/Berlin)``), or
    ``on era5 updates``."""
    if schedule.on_dataset_updated is not None:
        return f"on {schedule.on_dataset_updated} updates"
    if schedule.every is not None:
        return f"every {schedule.every}"
    return f"{schedule.cron} ({schedule.timezone})"


def firing_outcome(firing: Firing, statuses: JobStatuses, whole: bool = False) -> str:
    """Its job's status (``successful``), after the job's id when ``whole``, else after its
    first 8 characters when the status is not known; or ``skipped: overlap`` (the reason's
    first word)."""
    if firing.job_id is None:
        return f"skipped: {(firing.skipped or '').partition(':')[0]}"
    status = statuses.get(firing.job_id)
    if whole:
        return f"{firing.job_id} {status}" if status else firing.job_id
    return status or f"job {firing.job_id[:8]}"


def _next_firing(schedule: Schedule) -> str:
    return when(schedule.next_firings[0]) if schedule.next_firings else ""


def _last_firing(schedule: Schedule, statuses: JobStatuses) -> str:
    if not schedule.last_firings:
        return ""
    newest = schedule.last_firings[0]
    return f"{when(newest.instant)} {firing_outcome(newest, statuses)}"


def _state(schedule: Schedule) -> str:
    return "paused" if schedule.paused else "active"


def schedules_table(schedules: list[Schedule], statuses: JobStatuses) -> Fitting[Schedule]:
    columns: list[tuple[str, Callable[[Schedule], str]]] = [
        ("schedule", lambda schedule: schedule.id),
        ("process", lambda schedule: schedule.process),
        ("cadence", cadence),
        ("state", _state),
        ("next firing", _next_firing),
        ("last firing", lambda schedule: _last_firing(schedule, statuses)),
    ]
    return Fitting(columns, schedules, kept=3)


def schedule_table(schedule: Schedule, statuses: JobStatuses) -> Table:
    """One schedule: what was written, its state, the next instants and the last firings,
    newest first, each job's id whole."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in _schedule_rows(schedule, statuses):
        if value:
            _row(table, name, value)
    return table


def _schedule_rows(schedule: Schedule, statuses: JobStatuses) -> list[tuple[str, str]]:
    catch_up = schedule.catch_up.value
    if catch_up == "all":
        catch_up += f" (up to {schedule.catch_up_limit})"
    shown = schedule.last_firings[:SHOWN_FIRINGS]
    last = [f"{when(f.instant)} {f.cause} {firing_outcome(f, statuses, True)}" for f in shown]
    if len(schedule.last_firings) > len(shown):
        more = len(schedule.last_firings) - len(shown)
        last.append(f"… {more} more: jobstream schedules events {schedule.id}")
    return [
        ("schedule", schedule.id),
        ("title", schedule.title or ""),
        ("process", schedule.process),
        ("inputs", json.dumps(schedule.inputs, separators=(",", ":"))),
        ("cadence", cadence(schedule)),
        ("timezone", schedule.timezone),
        ("start", when(schedule.start)),
        ("end", when(schedule.end)),
        ("overlap", schedule.overlap.value),
        ("catch-up", catch_up),
        ("priority", schedule.priority.value if schedule.priority else ""),
        ("state", _state(schedule)),
        ("owner", schedule.owner),
        ("source", schedule.source),
        ("created", when(schedule.created)),
        ("updated", when(schedule.updated)),
        ("next firings", "\n".join(when(moment) for moment in schedule.next_firings)),
        ("last firings", "\n".join(last)),
    ]


def schedule_events_table(events: list[ScheduleEvent]) -> Table:
    table = Table("time", "event", "details")
    table.columns[2].overflow = "fold"
    for event in events:
        kind = getattr(event, "type", type(event).__name__)
        _row(table, when(event.time), kind, _schedule_event_details(event))
    return table


def _schedule_event_details(event: ScheduleEvent) -> str:
    """A firing's job whole (it is copied), or why it made none; who changed what."""
    match event:
        case ScheduleFired():
            return f"{event.job_id} (job of the {event.cause} firing of {when(event.instant)})"
        case ScheduleSkipped():
            missed = f"{event.count} from {when(event.first)} to " if event.count > 1 else ""
            return f"skipped {missed}{when(event.instant)} ({event.cause}): {event.reason}"
        case ScheduleCreated() | ScheduleChanged():
            spec = json.dumps(event.spec.to_json(), separators=(",", ":"))
            text = f"by {event.actor}: {spec}"
            return text if len(text) <= DETAIL_WIDTH else text[: DETAIL_WIDTH - 1] + "…"
    return f"by {event.actor}"


def schedule_event_line(event: ScheduleEvent) -> str:
    """One schedule event as a JSON line."""
    return json.dumps(event.model_dump(mode="json"))
