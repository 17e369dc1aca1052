"""Pictures for the pages, drawn as inline SVG from the same JSON the page renders.

Decisions:
- SVG written as text here, no plotting library and no script: the picture is in the page as
  served, scales with it, prints, and works with no network. Every shape has a <title> (a
  tooltip) and the picture an aria-label that says what it shows in words.
- Coverage: one bar from the template's start (or the first stored period, when earlier or
  the template gives none) to the end of the newest stored period. Stored runs are filled,
  the gaps between them are missing; a stale derived dataset draws its stored runs as stale.
  Periods come as their ids (``2020``, ``2020-01``, ``2020-01-31``, ``2020-01-31T06``); the
  period type, when the template names it, says how long the last one lasts.
- A job: its progress (done / total, in %) over time, one line per attempt, each attempt's
  start marked, retries and the outcome as dots: what the history table lists, at a glance.
"""

from datetime import datetime, timedelta
from html import escape
from typing import Any

from markupsafe import Markup

WIDTH, BAR_TOP, BAR_HEIGHT = 800, 4, 28
_FORMATS = ("%Y-%m-%dT%H", "%Y-%m-%d", "%Y-%m", "%Y")
_LENGTH = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(days=7)}


def _instant(period: str) -> datetime | None:
    """The first instant of a period id or an ISO date prefix; None when it is neither."""
    text = period.strip().removesuffix("Z")[:13]
    for form in _FORMATS:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    return None


def _after(start: datetime, period: str, period_type: str | None) -> datetime:
    """The first instant after the period ``period`` that starts at ``start``."""
    kind = period_type or {4: "yearly", 7: "monthly", 10: "daily", 13: "hourly"}.get(len(period))
    if kind == "yearly":
        return start.replace(year=start.year + 1)
    if kind == "monthly":
        year, month = divmod(start.month, 12)
        return start.replace(year=start.year + year, month=month + 1)
    return start + _LENGTH.get(kind or "daily", timedelta(days=1))


def _rect(x0: float, x1: float, kind: str, label: str) -> str:
    width = max(x1 - x0, 1.0)  # a one-period gap stays visible on a long axis
    return (
        f'<rect class="{kind}" x="{x0:.1f}" y="{BAR_TOP}" width="{width:.1f}" '
        f'height="{BAR_HEIGHT}"><title>{escape(label)}</title></rect>'
    )


def _svg(height: int, label: str, body: list[str], css_class: str) -> Markup:
    return Markup(
        f'<svg class="{css_class}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y}" text-anchor="{anchor}">{escape(text)}</text>'


def _runs(doc: dict[str, Any], period_type: str | None) -> list[tuple[datetime, datetime, str]]:
    """The stored runs as (start, end, "first – last"), those whose ids parse, in order."""
    runs = []
    for first, last in (doc.get("stored") or {}).get("coverage") or []:
        begin, final = _instant(first), _instant(last)
        if begin is not None and final is not None:
            runs.append((begin, _after(final, last, period_type), f"{first} – {last}"))
    return sorted(runs)


def _axis_start(doc: dict[str, Any], first: datetime) -> datetime:
    extent = (doc.get("template") or {}).get("extent") or {}
    declared = _instant(str(extent.get("start") or ""))
    return min(declared, first) if declared is not None else first


def coverage_svg(doc: dict[str, Any]) -> Markup:
    """The dataset's coverage over time: stored, missing, stale; empty when nothing is stored."""
    period_type = (doc.get("template") or {}).get("period_type")
    runs = _runs(doc, period_type)
    if not runs:
        return Markup("")
    start, end = _axis_start(doc, runs[0][0]), runs[-1][1]
    span = (end - start).total_seconds() or 1.0

    def x(moment: datetime) -> float:
        return WIDTH * (moment - start).total_seconds() / span

    stale = bool((doc.get("derived") or {}).get("stale"))
    body, cursor, gaps = [], start, 0
    for begin, stop, label in runs:
        if begin > cursor:
            gaps += 1
            body.append(_rect(x(cursor), x(begin), "missing", f"missing: before {label}"))
        kind = "stale" if stale else "stored"
        body.append(_rect(x(begin), x(stop), kind, f"{kind}: {label}"))
        cursor = max(cursor, stop)
    body += [_text(0, 50, f"{start:%Y-%m-%d}"), _text(WIDTH, 50, f"{end:%Y-%m-%d}", "end")]
    state = "stale" if stale else "stored"
    label = (
        f"Coverage from {start:%Y-%m-%d} to {end:%Y-%m-%d}: {len(runs)} {state} "
        f"run{'s' * (len(runs) != 1)}, {gaps} missing gap{'s' * (gaps != 1)}"
    )
    return _svg(56, label, body, "coverage")


PLOT_TOP, PLOT_HEIGHT = 8, 120
_OUTCOMES = {"JobRetryScheduled": "retry", "JobFailed": "failed", "JobSucceeded": "succeeded"}


def _timed(events: list[dict[str, Any]]) -> list[tuple[datetime, dict[str, Any]]]:
    """The events whose time parses, as (time, data), in the history's order."""
    timed = []
    for event in events:
        try:
            moment = datetime.fromisoformat(str(event.get("time")).replace("Z", "+00:00"))
        except ValueError:
            continue
        timed.append((moment, event.get("data") or {}))
    return timed


def _percent(data: dict[str, Any]) -> float | None:
    done, total = data.get("done"), data.get("total")
    if data.get("type") != "JobProgressed" or not total or done is None:
        return None
    return max(0.0, min(100.0, 100.0 * done / total))


def _attempt_lines(timed, x, y) -> list[str]:
    """One polyline of progress per attempt, and a dashed mark where each attempt started."""
    lines: dict[int, list[str]] = {}
    marks = []
    for moment, data in timed:
        attempt = int(data.get("attempt") or 1)
        if data.get("type") == "JobStarted":
            lines.setdefault(attempt, []).append(f"{x(moment):.1f},{y(0):.1f}")
            marks.append(
                f'<line class="attempt" x1="{x(moment):.1f}" x2="{x(moment):.1f}" '
                f'y1="{PLOT_TOP}" y2="{PLOT_TOP + PLOT_HEIGHT}"><title>attempt {attempt} '
                f"started</title></line>"
            )
        elif (percent := _percent(data)) is not None:
            lines.setdefault(attempt, []).append(f"{x(moment):.1f},{y(percent):.1f}")
    polylines = [
        f'<polyline class="progress" points="{" ".join(points)}">'
        f"<title>attempt {attempt}</title></polyline>"
        for attempt, points in lines.items()
    ]
    return marks + polylines


def _outcome_dots(timed, x, y) -> list[str]:
    dots = []
    for moment, data in timed:
        kind = _OUTCOMES.get(str(data.get("type")))
        if kind is not None:
            level = 100.0 if kind == "succeeded" else 0.0
            dots.append(
                f'<circle class="{kind}" cx="{x(moment):.1f}" cy="{y(level):.1f}" r="5">'
                f"<title>{kind} (attempt {escape(str(data.get('attempt') or ''))})</title>"
                f"</circle>"
            )
    return dots


def attempts_svg(history: dict[str, Any] | None) -> Markup:
    """A job's progress over time, per attempt; empty when the history has no times."""
    timed = _timed((history or {}).get("events") or [])
    if not timed:
        return Markup("")
    start, end = timed[0][0], max(moment for moment, _ in timed)
    span = (end - start).total_seconds() or 1.0

    def x(moment: datetime) -> float:
        return 4 + (WIDTH - 8) * (moment - start).total_seconds() / span

    def y(percent: float) -> float:
        return PLOT_TOP + PLOT_HEIGHT * (1 - percent / 100)

    attempts = max(int(data.get("attempt") or 1) for _, data in timed)
    body = [
        f'<rect class="frame" x="0" y="{PLOT_TOP}" width="{WIDTH}" height="{PLOT_HEIGHT}"/>',
        *_attempt_lines(timed, x, y),
        *_outcome_dots(timed, x, y),
        _text(0, PLOT_TOP + PLOT_HEIGHT + 18, f"{start:%H:%M:%S}"),
        _text(WIDTH, PLOT_TOP + PLOT_HEIGHT + 18, f"{end:%H:%M:%S} UTC", "end"),
    ]
    seconds = (end - start).total_seconds()
    label = f"Progress over {seconds:,.1f} s in {attempts} attempt{'s' * (attempts != 1)}"
    return _svg(PLOT_TOP + PLOT_HEIGHT + 24, label, body, "attempts")
