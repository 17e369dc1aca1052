"""The gateway application: publishes events, reads the view, never writes it."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware import Middleware
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from jobstream_contracts import __version__
from jobstream_infra.settings import GatewaySettings
from jobstream_infra.tracing import exporting

from . import (
    datasets,
    estimates,
    history,
    jobs,
    landing,
    management,
    metrics,
    oidc_login,
    processes,
    provenance,
    queue,
    quicklooks,
    reruns,
    schedules,
    scrape,
    signin,
)
from .callers import caller, sees_everything
from .context import Context
from .errors import install_error_handlers
from .hosts import TrustedHosts
from .html_pages import HtmlPages, SessionCookies
from .limits import DeclaredBodyLimit
from .services import nats_services

# Opens what the gateway serves from for the app's lifespan, and closes it after.
Services = Callable[[], AbstractAsyncContextManager[Context]]


def create_app(settings: GatewaySettings, services: Services) -> FastAPI:
    """The gateway serving from the context ``services`` opens: in production
    ``nats_services`` (see ``gateway_app``), in tests any journal, view and identity."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with services() as ctx:
            app.state.context = ctx
            yield

    app = FastAPI(
        title="jobstream",
        version=__version__,
        description="OGC API - Processes - Part 1: Core 1.0 on an event-sourced job log.",
        lifespan=lifespan,
        # The OGC API definition is served at /api (OpenAPI 3.0); FastAPI's 3.1 stays internal.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        middleware=_middleware(settings),
    )
    install_error_handlers(app)
    if exporting():
        # A server span per request, continuing the caller's traceparent; probes and scrapes
        # make none. Not otherwise: its two middlewares cost every request CPU for spans
        # that go nowhere, and a submission carries the caller's traceparent on regardless.
        FastAPIInstrumentor.instrument_app(app, excluded_urls="health,ready,metrics")
    anyone, callers, everything = [], [Depends(caller)], [Depends(sees_everything)]
    for router, dependencies in (
        (landing.router, anyone),
        (signin.router, anyone),
        (oidc_login.router, anyone),
        (processes.router, callers),
        (estimates.router, callers),
        (jobs.router, callers),
        (management.router, callers),
        (reruns.router, callers),
        (queue.router, callers),
        (schedules.router, callers),
        (history.router, callers),
        (provenance.jobs_router, callers),
        (datasets.router, everything),
        (provenance.datasets_router, everything),
        (quicklooks.router, everything),
        (scrape.router, everything),
    ):
        # Per route, so inside the middleware: a body is counted while it streams in and
        # refused (413) before it is buffered; a declared oversize never reaches it.
        app.include_router(
            router, dependencies=dependencies, max_body_size=settings.max_request_bytes
        )
    return app


def _middleware(settings: GatewaySettings) -> list[Middleware]:
    """Outermost first. Metrics count every answer, by the route it rendered; a Host the
    gateway does not answer to is refused before anything reads the request; the session
    cookie stands in for a browser's credential; pages for browsers over the whole API,
    asking it with that credential; a declared oversize answered at once with an OGC body."""
    return [
        Middleware(metrics.RequestMetrics),
        Middleware(TrustedHosts, settings=settings),
        Middleware(SessionCookies),
        Middleware(HtmlPages, sign_in=settings.authenticates),
        Middleware(DeclaredBodyLimit, max_bytes=settings.max_request_bytes),
    ]


def gateway_app(settings: GatewaySettings) -> FastAPI:
    """The gateway of ``jobstream gateway``: on NATS, with the JetStream journal."""
    return create_app(settings, lambda: nats_services(settings))
