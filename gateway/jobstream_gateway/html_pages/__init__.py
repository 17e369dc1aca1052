"""HTML for people: every resource a browser asks for, rendered from the API's own JSON.

Decisions:
- One layer over the API, not a second API: for a page the middleware asks the application
  itself for the JSON (same path and query, same credentials) and renders that through a
  template. What a page shows is therefore exactly what a client reads, access checks and
  errors included, and no route handler knows about HTML.
- Content negotiation by ``?f=html`` / ``?f=json`` first, then ``Accept`` (a browser's prefers
  text/html; curl's ``*/*`` and clients' ``application/json`` get JSON).
- Server-rendered Jinja2 templates, no build step; every asset (CSS, the job page's script,
  Swagger UI's files) is served by the gateway: the pages work with no network.
"""

from .middleware import HtmlPages
from .session import SessionCookies

__all__ = ["HtmlPages", "SessionCookies"]
