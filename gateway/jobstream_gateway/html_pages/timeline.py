"""A job's history as the rows of its page: every event said in words, routine runs summarised.

Decisions:
- A data job records hundreds of progress reports and commits, interleaved; listed one per
  row they bury the few events that matter (started, estimated, a retry, the outcome). So a
  run of routine events between two others becomes one row per kind ("73 commits,
  2020-01-01 … 2020-12-31"), the events themselves kept inside it for whoever opens it.
- Every row says something: an event's detail is the few fields a person asks about it,
  never an empty cell.
- The rows are paged (``ROWS_PER_PAGE``); a history is read whole (to the events page's
  limit) so that a summary counts every event, on whichever page it lands.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

ROWS_PER_PAGE = 50
# Events a run records many of: summarised when several come together.
ROUTINE = ("JobProgressed", "DatasetCommitted")


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


_DETAILS: dict[str, Callable[[dict[str, Any]], str]] = {
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
}


def _row(position: int, event: dict[str, Any]) -> Row:
    data = event.get("data") or {}
    kind = str(data.get("type"))
    detail = _DETAILS.get(kind, lambda _: "")(data) or kind
    time = str(event.get("time") or "")
    return Row(position, position, time, time, kind, data.get("attempt") or None, detail, data)


def _summary(rows: list[Row]) -> Row:
    first, last = rows[0], rows[-1]
    if first.kind == "DatasetCommitted":
        span = f"{first.data.get('first')} … {last.data.get('last')}"
        detail = f"{len(rows)} commits, {span}; {last.data.get('stored')} stored"
    else:
        detail = f"{len(rows)} progress reports, the last: {last.detail}"
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
