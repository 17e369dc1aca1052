"""The gateway's Prometheus metrics: requests by route template and status, and the jobs it
stored (``scrape`` serves them at ``/metrics``).

Decisions:
- Requests are labelled by the route's template (``/jobs/{job_id}``), never the raw path, and
  by a known method or ``other``: the series stay bounded whatever callers send.
- Latency is until the response starts: an event stream or long-poll would otherwise report
  how long its client listened.
- The middleware wraps the whole application, so the body limit's 413s and unhandled 500s are
  counted too.
"""

from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobstream_contracts.events import Event, JobDismissed, JobSubmitted
from jobstream_infra.metrics import HTTP_LATENCY, HTTP_REQUESTS, JOBS_DISMISSED, JOBS_SUBMITTED

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The route label of a request no route matched (404, 405, or refused before routing).
UNMATCHED = "unmatched"


def count_published(event: Event) -> None:
    """Count a job event the gateway stored: submissions and dismissals."""
    if isinstance(event, JobSubmitted):
        JOBS_SUBMITTED.labels(event.process_id).inc()
    elif isinstance(event, JobDismissed):
        JOBS_DISMISSED.labels(event.process_id).inc()


def _route_of(scope: Scope) -> str:
    # Routing stores the matched route in the scope it was given, which is this one.
    return getattr(scope.get("route"), "path", UNMATCHED)


def _method_of(scope: Scope) -> str:
    method = scope["method"]
    return method if method in METHODS else "other"


class RequestMetrics:
    """ASGI middleware counting requests and timing them until their response starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = perf_counter()
        status = 500  # unless a response starts: an exception with no answer

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                elapsed = perf_counter() - began
                HTTP_LATENCY.labels(_method_of(scope), _route_of(scope)).observe(elapsed)
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            HTTP_REQUESTS.labels(_method_of(scope), _route_of(scope), str(status)).inc()
