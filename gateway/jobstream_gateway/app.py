"""The gateway application: publishes events, reads the view, never writes it."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware import Middleware
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from jobstream_infra.settings import Settings

from . import (
    datasets,
    estimates,
    history,
    jobs,
    landing,
    metrics,
    oidc_login,
    processes,
    quicklooks,
    signin,
)
from .callers import caller, sees_everything
from .context import Context
from .errors import install_error_handlers
from .html_pages import HtmlPages, SessionCookies
from .limits import DeclaredBodyLimit
from .services import nats_services

# Opens what the gateway serves from for the app's lifespan, and closes it after.
Services = Callable[[], AbstractAsyncContextManager[Context]]


def create_app(settings: Settings, services: Services) -> FastAPI:
    """The gateway serving from the context ``services`` opens: in production
    ``nats_services`` (see ``gateway_app``), in tests any journal, view and identity."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with services() as ctx:
            app.state.context = ctx
            yield

    app = FastAPI(
        title="jobstream",
        version="0.1.0",
        description="OGC API - Processes - Part 1: Core 1.0 on an event-sourced job log.",
        lifespan=lifespan,
        # Counted while the body streams in: 413 before it is buffered.
        max_body_size=settings.max_request_bytes,
        # The OGC API definition is served at /api (OpenAPI 3.0); FastAPI's 3.1 stays internal.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        middleware=_middleware(settings),
    )
    install_error_handlers(app)
    # A server span per request, continuing the caller's traceparent; a no-op unless tracing
    # exports (jobstream_infra.tracing). Probes and scrapes make no spans.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health,ready,metrics")
    app.include_router(landing.router)
    app.include_router(signin.router)
    app.include_router(oidc_login.router)
    for module in (processes, estimates, jobs, history):
        app.include_router(module.router, dependencies=[Depends(caller)])
    app.include_router(datasets.router, dependencies=[Depends(sees_everything)])
    app.include_router(quicklooks.router, dependencies=[Depends(sees_everything)])
    app.include_router(metrics.router, dependencies=[Depends(sees_everything)])
    return app


def _middleware(settings: Settings) -> list[Middleware]:
    """Outermost first. Metrics count every answer, by the route it rendered; the session
    cookie stands in for a browser's credential; pages for browsers over the whole API,
    asking it with that credential; the declared body limit inside FastAPI's own, which
    answers a declared oversize in plain text."""
    return [
        Middleware(metrics.RequestMetrics),
        Middleware(SessionCookies),
        Middleware(HtmlPages, sign_in=settings.authenticates),
        Middleware(DeclaredBodyLimit, max_bytes=settings.max_request_bytes),
    ]


def gateway_app(settings: Settings) -> FastAPI:
    """The gateway of ``jobstream gateway``: on NATS, with the JetStream journal."""
    return create_app(settings, lambda: nats_services(settings))
