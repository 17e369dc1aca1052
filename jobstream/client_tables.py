"""Tables for people: jobs, one job's status, a job's history, datasets (rich tables).

Decisions: times are shown to the second as the gateway gives them (UTC); an event's own
members (beyond the envelope every event shares) are one compact JSON cell, cut to stay on
a line; the job's text is never read as rich markup.
"""

import json
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from jobstream_client import Recorded
from jobstream_contracts.dataset_records import DatasetRecord
from jobstream_contracts.ogc import AttemptError, StatusInfo

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


def jobs_table(jobs: list[StatusInfo]) -> Table:
    table = Table("job", "process", "status", "progress", "created", "finished")
    for job in jobs:
        _row(
            table,
            job.jobID,
            job.processID or "",
            job.status.value,
            progress_of(job),
            when(job.created),
            when(job.finished),
        )
    return table


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


def datasets_table(datasets: list[DatasetRecord]) -> Table:
    table = Table("dataset", "kind", "title", "stored", "periods", "updated", "stale")
    for record in datasets:
        stored = record.stored
        span = f"{stored.first} … {stored.last}" if stored and stored.first else ""
        _row(
            table,
            record.id,
            record.kind,
            record.title,
            span,
            str(stored.periods) if stored else "",
            when(stored.updated) if stored else "",
            _staleness(record.derived.stale if record.derived else None),
        )
    return table


def _staleness(stale: bool | None) -> str:
    """A derived dataset is stale or fresh; a source dataset is neither."""
    return "" if stale is None else "stale" if stale else "fresh"


def history_line(entry: Recorded) -> str:
    """One event as a JSON line: its sequence, when it was stored, the event."""
    recorded = entry.recorded.isoformat() if entry.recorded else None
    event = entry.event.model_dump(mode="json")
    return json.dumps({"sequence": entry.sequence, "recorded": recorded, "event": event})
