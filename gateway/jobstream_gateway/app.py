"""The gateway application: publishes events, reads the view, never writes it."""

import asyncio
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI
from nats.js import JetStreamContext
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from starlette.types import ASGIApp

from jobstream_contracts import __version__
from jobstream_contracts.subjects import DATASET_REGISTRY_BUCKET
from jobstream_infra.apikeys import api_key_bucket
from jobstream_infra.connection import close_nats, connect_nats
from jobstream_infra.journal import direct_reads
from jobstream_infra.provisioning import ensure_process_registry, ensure_registry, ensure_stream
from jobstream_infra.settings import GatewaySettings
from jobstream_projector.view import create_view, create_view_engine

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
from .catalog import DatasetCatalog, ProcessCatalog
from .context import Context
from .errors import install_error_handlers
from .html_pages import HtmlPages, SessionCookies
from .identity import ApiKeys, Identity
from .limits import DeclaredBodyLimit
from .oidc import OidcVerifier
from .slots import StreamSlots

log = structlog.get_logger(__name__)


async def _identity(settings: GatewaySettings, js: JetStreamContext) -> Identity:
    api_keys = oidc = None
    if "apikey" in settings.auth_methods:
        api_keys = ApiKeys()
        await api_keys.start(await api_key_bucket(js))
    if "oidc" in settings.auth_methods:
        oidc = OidcVerifier(settings)
    return Identity(api_keys, oidc)


def create_app(settings: GatewaySettings) -> ASGIApp:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = create_view_engine(settings.view_url)
        # The gateway may start before the projector ever ran: an empty view is a valid view.
        await asyncio.to_thread(create_view, engine, False)
        nc = await connect_nats(settings, "gateway")
        js = nc.jetstream()
        replicas = await ensure_stream(js, new_replicas=settings.replicas)
        catalog = ProcessCatalog()
        await catalog.start(await ensure_process_registry(js))
        dataset_templates = DatasetCatalog()
        await dataset_templates.start(await ensure_registry(js, DATASET_REGISTRY_BUCKET))
        identity = await _identity(settings, js)
        app.state.context = Context(
            settings,
            nc,
            js,
            engine,
            catalog,
            dataset_templates,
            StreamSlots(settings.max_event_streams),
            identity,
            direct_reads(replicas),
        )
        log.info("gateway ready", url=settings.base_url, processes=sorted(catalog.processes))
        try:
            yield
        finally:
            await catalog.stop()
            await dataset_templates.stop()
            if identity.api_keys is not None:
                await identity.api_keys.stop()
            await close_nats(nc, "gateway")
            engine.dispose()

    app = FastAPI(
        title="jobstream",
        version=__version__,
        description="OGC API - Processes - Part 1: Core 1.0 on an event-sourced job log.",
        lifespan=lifespan,
        # Counted while the body streams in: 413 before it is buffered.
        max_body_size=settings.max_request_bytes,
        # The OGC API definition is served at /api (OpenAPI 3.0); FastAPI's 3.1 stays internal.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
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
    # Outside FastAPI's own body limit, which answers a declared oversize in plain text;
    # pages for browsers over the whole API, asking it with the signed-in browser's
    # credential; metrics count them by the route they render.
    pages = HtmlPages(DeclaredBodyLimit(app, settings.max_request_bytes), settings.authenticates)
    return metrics.RequestMetrics(SessionCookies(pages))
