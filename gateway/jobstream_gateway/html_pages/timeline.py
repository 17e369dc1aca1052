"""A job's or a schedule's history as the rows of its page: every event said in words,
routine runs summarised.

Decisions:
- A data job records hundreds of progress reports and commits, interleaved; listed one per
  row they bury the few events that matter (started, estimated, a retry, the outcome). So a
  run of routine events between two others becomes one row per kind ("73 commits,
  2020-01-01 … 2020-12-31"), the events themselves kept inside it for whoever opens it.
- Every row says something: an event's detail is the few fields a person asks about it,
  never an empty cell.
- The rows are paged (``ROWS_PER_PAGE``); a history is read whole (to the events page's
  limit) so that a summary counts every event, on whichever page it lands.
- A schedule's history is said the same way: an interval of a second records a firing a
  second, so a run of firings (and of firings skipped) is one row, between the changes.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

ROWS_PER_PAGE = 50
# Events a run (or a schedule's clock) records many of: summarised when several come together.
ROUTINE = ("JobProgressed", "DatasetCommitted", "ScheduleFired", "ScheduleSkipped")


@dataclass(frozen=True)
class Row:
    # Positions in the job's history (1 is its submission), first and last.
    first: int
    last: int
    time: str
    until: str
    kind: str
    attempt: int | None
    detail: str
    # The event's data (a single event's; empty for a summary).
    data: dict[str, Any]
    # The events a summary row stands for, as rows; empty for a single event.
    events: list["Row"] = field(default_factory=list)


@dataclass(frozen=True)
class Timeline:
    rows: list[Row]
    page: int
    pages: int
    events: int


def _joined(values: dict[str, Any], limit: int = 120) -> str:
    text = ", ".join(f"{name}={value}" for name, value in values.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error(data: dict[str, Any]) -> str:
    error = data.get("error") or {}
    return f"{error.get('type', 'Error')}: {error.get('detail', '')}"


def _counted(data: dict[str, Any]) -> str:
    done, total = data.get("done"), data.get("total")
    if done is None or not total:
        return ""
    return f"{done:,.0f} of {total:,.0f}"


def _progressed(data: dict[str, Any]) -> str:
    return data.get("message") or _counted(data) or "progress reported"


def _committed(data: dict[str, Any]) -> str:
    first, last = data.get("first"), data.get("last")
    span = first if first == last else f"{first} … {last}"
    periods = data.get("count")
    return f"{data.get('dataset_id')}: {span} ({periods} period{'s' * (periods != 1)})"


def _estimated(data: dict[str, Any]) -> str:
    estimate = data.get("estimate") or {}
    parts = [f"{estimate['periods']} periods" if estimate.get("periods") else ""]
    if estimate.get("to_fetch") is not None:
        parts.append(f"{estimate['to_fetch']} to fetch")
    if estimate.get("duration_seconds") is not None:
        parts.append(f"about {estimate['duration_seconds']:,.0f} s")
    return ", ".join(p for p in parts if p) or "estimated"


def _at(value: Any) -> str:
    """A firing's instant as people read it, in UTC, to the second."""
    try:
        instant = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return instant.strftime("%Y-%m-%d %H:%M:%S UTC")


def _spec(data: dict[str, Any]) -> str:
    """What a schedule runs and when, from a created or changed event's spec."""
    spec = data.get("spec") or {}
    if spec.get("onDatasetUpdated"):
        cadence = f"on each update of {spec['onDatasetUpdated']}"
    elif spec.get("cron"):
        cadence = f"cron {spec['cron']}"
    else:
        cadence = f"every {spec.get('every')}"
    paused = ", paused" if spec.get("paused") else ""
    when = f"{cadence} ({spec.get('timezone', 'UTC')}){paused}"
    inputs = _joined(spec.get("inputs") or {}) or "no inputs"
    return f"by {data.get('actor')}: {spec.get('process')}, {when}; {inputs}"


def _fired(data: dict[str, Any]) -> str:
    return f"{data.get('cause')} firing of {_at(data.get('instant'))}: job {data.get('job_id')}"


def _skipped(data: dict[str, Any]) -> str:
    count, reason = data.get("count") or 1, data.get("reason")
    if count > 1:
        span = f"{count} instants, {_at(data.get('first'))} … {_at(data.get('instant'))}"
        return f"{span} skipped: {reason}"
    return f"{data.get('cause')} firing of {_at(data.get('instant'))} skipped: {reason}"


_DETAILS: dict[str, Callable[[dict[str, Any]], str]] = {
    "JobCreated": lambda d: _joined(d.get("inputs") or {}) or "no inputs",
    "JobChanged": lambda d: _joined(d.get("inputs") or {}) or "no inputs",
    "JobSubmitted": lambda d: _joined(d.get("inputs") or {}) or "no inputs",
    "JobWaiting": lambda d: (
        f"waiting for a {d.get('key')} slot: {d.get('in_use')} of {d.get('limit')} in use"
    ),
    "JobStarted": lambda d: f"on executor {d.get('executor')}",
    "JobEstimated": _estimated,
    "JobProgressed": _progressed,
    "DatasetCommitted": _committed,
    "JobSucceeded": lambda d: "results: " + (", ".join(d.get("results") or {}) or "none"),
    "JobFailed": _error,
    "JobRetryScheduled": lambda d: f"{_error(d)}; retry in {d.get('delay', 0):,.0f} s",
    "JobDismissed": lambda d: str(d.get("reason") or "dismissed"),
    "CallbackDelivered": lambda d: f"{d.get('kind')} to {d.get('uri')}: {d.get('status_code')}",
    "CallbackAbandoned": lambda d: f"{d.get('kind')} to {d.get('uri')}: {d.get('error')}",
    "ScheduleCreated": _spec,
    "ScheduleChanged": _spec,
    "SchedulePaused": lambda d: f"by {d.get('actor')}",
    "ScheduleResumed": lambda d: f"by {d.get('actor')}",
    "ScheduleDeleted": lambda d: f"by {d.get('actor')}",
    "ScheduleFired": _fired,
    "ScheduleSkipped": _skipped,
}


def _row(position: int, event: dict[str, Any]) -> Row:
    data = event.get("data") or {}
    kind = str(data.get("type"))
    detail = _DETAILS.get(kind, lambda _: "")(data) or kind
    time = str(event.get("time") or "")
    return Row(position, position, time, time, kind, data.get("attempt") or None, detail, data)


def _commits(rows: list[Row]) -> str:
    span = f"{rows[0].data.get('first')} … {rows[-1].data.get('last')}"
    return f"{len(rows)} commits, {span}; {rows[-1].data.get('stored')} stored"


def _firings(rows: list[Row]) -> str:
    span = f"{_at(rows[0].data.get('instant'))} … {_at(rows[-1].data.get('instant'))}"
    return f"{len(rows)} firings, {span}, one job each"


def _skips(rows: list[Row]) -> str:
    instants = sum(row.data.get("count") or 1 for row in rows)
    return f"{instants} firings skipped, the last: {rows[-1].data.get('reason')}"


_SUMMARIES: dict[str, Callable[[list[Row]], str]] = {
    "DatasetCommitted": _commits,
    "JobProgressed": lambda rows: f"{len(rows)} progress reports, the last: {rows[-1].detail}",
    "ScheduleFired": _firings,
    "ScheduleSkipped": _skips,
}


def _summary(rows: list[Row]) -> Row:
    first, last = rows[0], rows[-1]
    detail = _SUMMARIES[first.kind](rows)
    return Row(
        first.first, last.last, first.time, last.time, first.kind, first.attempt, detail, {}, rows
    )


def _grouped(run: list[Row]) -> Iterator[Row]:
    """A run of rows as one row per kind, in the order each kind first came."""
    for kind in dict.fromkeys(row.kind for row in run):
        same = [row for row in run if row.kind == kind]
        yield _summary(same) if len(same) > 1 else same[0]


def _run(row: Row) -> tuple[bool, int | None]:
    """What a row shares with its neighbours in a run: routine events of one attempt run
    together; any other event is a run of its own."""
    return (True, row.attempt) if row.kind in ROUTINE else (False, row.first)


def summarised(events: list[dict[str, Any]]) -> list[Row]:
    rows = [_row(position, event) for position, event in enumerate(events, start=1)]
    return [summary for _, run in groupby(rows, key=_run) for summary in _grouped(list(run))]


def timeline(history: dict[str, Any] | None, page: str | None = None) -> Timeline:
    """Page ``page`` of the history's rows, from 1; the newest page unless one is asked for,
    so a running job's page shows what it did last."""
    events = (history or {}).get("events") or []
    rows = summarised(events)
    pages = max(1, -(-len(rows) // ROWS_PER_PAGE))
    shown = min(max(int(page), 1), pages) if page and page.isdigit() else pages
    start = (shown - 1) * ROWS_PER_PAGE
    return Timeline(rows[start : start + ROWS_PER_PAGE], shown, pages, len(events))
