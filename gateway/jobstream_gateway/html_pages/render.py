"""Templates: Jinja2 with autoescaping, and the few filters the pages share."""

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from jobstream_contracts.cloudevents import cloud_type
from jobstream_contracts.events import EVENT_TYPES

from .dataset_facts import facts, python_lines
from .forms import choices, field_kind
from .markdown import inline, markdown
from .pictures import attempts_svg, coverage_svg

_environment = Environment(
    loader=PackageLoader("jobstream_gateway", "html_pages/templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(value: str | None) -> str:
    """An ISO timestamp as people read it, in UTC, to the second."""
    if not value:
        return ""
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return instant.strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: float | None) -> str:
    """A count as people write it: 5, not 5.0; fractions to two places."""
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


_environment.filters["when"] = when
# The event stream names each event by its CloudEvents type; a page listens for every one.
_environment.globals["event_types"] = sorted(cloud_type(name) for name in EVENT_TYPES)
_environment.filters["number"] = number
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
