"""Templates: Jinja2 with autoescaping, and the few filters the pages share."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from jobstream_contracts.cloudevents import cloud_type
from jobstream_contracts.events import EVENT_TYPES

from .dataset_facts import facts, python_lines
from .forms import choices, field_kind
from .markdown import inline, markdown
from .pictures import attempts_svg, coverage_svg
from .timeline import timeline

_environment = Environment(
    loader=PackageLoader("jobstream_gateway", "html_pages/templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _instant(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def when(value: str | None) -> str:
    """An ISO timestamp as people read it, in UTC, to the second."""
    if not value:
        return ""
    instant = _instant(value)
    return instant.strftime("%Y-%m-%d %H:%M:%S UTC") if instant else value


def in_zone(value: str | None, name: str) -> str:
    """An ISO timestamp as a clock in the IANA zone ``name`` reads it, to the second, with
    the zone's abbreviation (CET, CEST) or offset: a schedule's firings where it keeps time."""
    instant = _instant(value or "")
    try:
        local = instant.astimezone(ZoneInfo(name)) if instant else None
    except (ZoneInfoNotFoundError, ValueError):
        local = None
    return local.strftime("%Y-%m-%d %H:%M:%S %Z") if local else ""


def clock(value: str | None) -> str:
    """An ISO timestamp's time of day, to the second: a table's column, the day said above."""
    instant = _instant(value or "")
    return instant.strftime("%H:%M:%S") if instant else ""


def duration(seconds: float) -> str:
    """Seconds as people say them: 42 s, 3 min 5 s, 2 h 10 min."""
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"
    minutes, second = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {second} s"
    return f"{minutes // 60} h {minutes % 60} min"


def elapsed(started: str | None, finished: str | None) -> str:
    """From start to finish, or to now while the job runs; a dash before it starts."""
    begin = _instant(started or "")
    if begin is None:
        return "—"
    end = _instant(finished or "") or datetime.now(begin.tzinfo)
    return duration(max((end - begin).total_seconds(), 0.0))


def number(value: float | None) -> str:
    """A count as people write it: 5, not 5.0; fractions to two places."""
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


_environment.filters["when"] = when
# The event stream names each event by its CloudEvents type; a page listens for every one.
_environment.globals["event_types"] = sorted(cloud_type(name) for name in EVENT_TYPES)
_environment.filters["number"] = number
_environment.filters["clock"] = clock
_environment.filters["in_zone"] = in_zone
_environment.globals["elapsed"] = elapsed
# A job's history as the rows of its page (timeline.py).
_environment.globals["timeline"] = timeline
# Inline SVG pictures (pictures.py), drawn from the page's own JSON.
_environment.globals["coverage_svg"] = coverage_svg
_environment.globals["attempts_svg"] = attempts_svg
# Descriptions are Markdown (markdown.py); form fields follow their input's schema (forms.py).
_environment.filters["markdown"] = markdown
_environment.filters["inline"] = inline
_environment.globals["choices"] = choices
_environment.globals["field_kind"] = field_kind
# What a dataset page says of the data, and how to open it (dataset_facts.py).
_environment.globals["dataset_facts"] = facts
_environment.globals["python_lines"] = python_lines


# A page acts with its visitor's session (execute, dismiss): no other site may frame it
# (clickjacking), and links out do not carry its address.
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    page = _environment.get_template(template).render(**context)
    return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)
