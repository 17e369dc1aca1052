"""Tables for people: jobs, one job's status, a job's history, datasets (rich tables).

Decisions: times are shown to the second as the gateway gives them (UTC); an event's own
members (beyond the envelope every event shares) are one compact JSON cell, cut to stay on
a line; the job's text is never read as rich markup.

Ids are never cut, so they can be copied: the lists of jobs and datasets keep their first
column whole and, in a terminal too narrow for every column, leave out the last columns
(finished, created, …) until the rest fits; ``--wide`` shows every column at its full width
and lets the terminal wrap the lines.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from jobstream_client import Recorded
from jobstream_contracts.dataset_records import DatasetRecord
from jobstream_contracts.ogc import AttemptError, StatusInfo
from jobstream_contracts.queue import KeyQueue, ProcessQueue, Queue

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
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


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
