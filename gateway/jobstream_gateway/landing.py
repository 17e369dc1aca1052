"""Landing page, conformance, the API definition (OpenAPI 3.0) and health."""

import asyncio
import os
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from jobstream_contracts.asyncapi import asyncapi_document
from jobstream_contracts.ogc import (
    CONFORMANCE_CLASSES,
    ConfClasses,
    LandingPage,
    Link,
    html_alternate,
)
from jobstream_contracts.status import HISTORY_REL
from jobstream_projector.view import count_held, count_parked, read_checkpoint

from .callers import caller
from .context import Context, base_url, context
from .errors import OGCError, first_line_of
from .openapi30 import OPENAPI_30_MEDIA_TYPE, openapi_30

router = APIRouter()

# The datasets the data processes store (OGC has no relation for them).
DATASETS_REL = "https://jobstream.dev/rel/datasets"
# AsyncAPI registers no media type; its documents are JSON.
ASYNCAPI_MEDIA_TYPE = "application/json"


@router.get(
    "/", response_model=LandingPage, response_model_exclude_none=True, tags=["Capabilities"]
)
async def landing_page(request: Request) -> LandingPage:
    url = base_url(request)
    return LandingPage(
        title="jobstream",
        description="OGC API - Processes on an event-sourced job log (NATS JetStream)",
        version=request.app.version,
        links=[
            Link(href=f"{url}/", rel="self", type="application/json", title="this document"),
            html_alternate(f"{url}/"),
            Link(
                href=f"{url}/api",
                rel="service-desc",
                type=OPENAPI_30_MEDIA_TYPE,
                title="the API definition",
            ),
            Link(
                href=f"{url}/api.html",
                rel="service-doc",
                type="text/html",
                title="the API documentation",
            ),
            Link(
                href=f"{url}/conformance",
                rel="http://www.opengis.net/def/rel/ogc/1.0/conformance",
                type="application/json",
                title="conformance classes",
            ),
            Link(
                href=f"{url}/processes",
                rel="http://www.opengis.net/def/rel/ogc/1.0/processes",
                type="application/json",
                title="processes",
            ),
            Link(
                href=f"{url}/jobs",
                rel="http://www.opengis.net/def/rel/ogc/1.0/job-list",
                type="application/json",
                title="jobs",
            ),
            Link(
                href=f"{url}/datasets", rel=DATASETS_REL, type="application/json", title="datasets"
            ),
            Link(
                href=f"{url}/asyncapi",
                rel="service-desc",
                type=ASYNCAPI_MEDIA_TYPE,
                title="the job events: NATS subjects and event streams (AsyncAPI 3.0)",
            ),
            Link(
                href=f"{url}/events",
                rel=HISTORY_REL,
                type="text/event-stream",
                title="every job's events, live",
            ),
        ],
    )


@router.get("/asyncapi", tags=["Capabilities"], response_class=JSONResponse)
async def asyncapi(request: Request) -> JSONResponse:
    """The AsyncAPI 3.0 document of the job events."""
    url = urlsplit(base_url(request))
    document = asyncapi_document(url.netloc, url.scheme, request.app.version)
    return JSONResponse(document, media_type=ASYNCAPI_MEDIA_TYPE)


@router.get("/conformance", response_model=ConfClasses, tags=["Capabilities"])
async def conformance() -> ConfClasses:
    return ConfClasses(conformsTo=CONFORMANCE_CLASSES)


@router.get("/api", tags=["Capabilities"], response_class=JSONResponse)
async def api_definition(request: Request) -> JSONResponse:
    return JSONResponse(openapi_30(request.app), media_type=OPENAPI_30_MEDIA_TYPE)


@router.get("/api.html", include_in_schema=False)
async def api_documentation(request: Request) -> HTMLResponse:
    # Swagger UI's files come from the gateway (html_pages): the page works with no network.
    url = base_url(request)
    return get_swagger_ui_html(
        openapi_url=f"{url}/api",
        title="jobstream API",
        swagger_js_url=f"{url}/static/swagger/swagger-ui-bundle.js",
        swagger_css_url=f"{url}/static/swagger/swagger-ui.css",
        swagger_favicon_url=f"{url}/static/swagger/favicon-32x32.png",
    )


@router.get("/health", tags=["Health"])
async def health() -> dict:
    """Liveness: the gateway process answers; its pid tells `jobstream up` that the gateway
    answering is the one it started, not another on the same port."""
    return {"status": "ok", "pid": os.getpid()}


@router.get("/ready", tags=["Health"])
async def ready(request: Request, ctx: Context = Depends(context)) -> JSONResponse:
    """Readiness: NATS reachable, and how far the projector trails the stream. The report is
    for a caller who sees everything (as /metrics); anyone else gets its status alone."""
    report = await _readiness(ctx)
    code = 200 if report["status"] == "ready" else 503
    if not await _sees_everything(request):
        report = {"status": report["status"]}
    return JSONResponse(report, status_code=code)


async def _readiness(ctx: Context) -> dict:
    report: dict = {}
    nats_ok = True
    if ctx.connection is not None:
        nats_ok = ctx.connection.connected
        report["nats"] = "connected" if nats_ok else "disconnected"
    try:
        last = await ctx.journal.last_sequence()
        checkpoint = await asyncio.to_thread(read_checkpoint, ctx.engine)
        parked = await asyncio.to_thread(count_parked, ctx.engine)
        held = await asyncio.to_thread(count_held, ctx.engine)
        report.update(
            stream_last_sequence=last,
            projector_checkpoint=checkpoint,
            projector_lag=last - checkpoint,
            parked_events=parked,
            held_events=held,
        )
    except Exception as exc:  # noqa: BLE001 - readiness reports whatever failed
        nats_ok = False
        report["error"] = first_line_of(exc)
    report["status"] = "ready" if nats_ok else "unavailable"
    return report


async def _sees_everything(request: Request) -> bool:
    """Whether the request's credential is one of a caller who sees everything (with
    ``AUTH=none`` every caller is)."""
    try:
        return (await caller(request)).reads_everything
    except OGCError:  # no credential, a bad one, or no role: no details
        return False
