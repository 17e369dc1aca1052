"""What a gateway in production serves from: NATS, the JetStream journal, the registries it
watches and the view, opened for the app's lifespan and closed after it."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from nats.js import JetStreamContext

from jobstream_contracts.subjects import DATASET_REGISTRY_BUCKET
from jobstream_infra.apikeys import api_key_bucket
from jobstream_infra.archive import Archive, ArchiveIndex
from jobstream_infra.connection import close_nats, connect_nats
from jobstream_infra.journal import JetStreamJournal, direct_reads
from jobstream_infra.journal_with_archive import JournalWithArchive
from jobstream_infra.provisioning import ensure_process_registry, ensure_registry, ensure_stream
from jobstream_infra.schedule_book import ensure_schedule_stream
from jobstream_infra.settings import GatewaySettings
from jobstream_projector.view import create_view, create_view_engine

from .catalog import DatasetCatalog, ProcessCatalog
from .context import Context
from .identity import ApiKeys, Identity
from .nats_parts import Connection, Executors, QuickLooks
from .oidc import OidcVerifier
from .schedule_files import record_files
from .scheduling import Schedules
from .slots import HeldRequests

log = structlog.get_logger(__name__)

# Room kept for an event's headers below the server's max_payload.
HEADER_ROOM = 4096


async def _identity(settings: GatewaySettings, js: JetStreamContext) -> Identity:
    api_keys = oidc = None
    if "apikey" in settings.auth_methods:
        api_keys = ApiKeys()
        await api_keys.start(await api_key_bucket(js))
    if "oidc" in settings.auth_methods:
        oidc = OidcVerifier(settings)
    return Identity(api_keys, oidc)


def journal_of(settings: GatewaySettings, stream: JetStreamJournal) -> JournalWithArchive:
    """The stream's journal with the archive: a job the archiver moved out of the stream
    reads as it did before. Nothing is read here; the archive is listed when a read first
    asks for a job the stream holds no beginning of."""
    return JournalWithArchive(stream, ArchiveIndex(Archive(settings.archive_location)))


@asynccontextmanager
async def nats_services(settings: GatewaySettings) -> AsyncIterator[Context]:
    """The gateway's context on the NATS server and view ``settings`` name."""
    engine = create_view_engine(settings.view_url)
    # The gateway may start before the projector ever ran: an empty view is a valid view.
    await asyncio.to_thread(create_view, engine, False)
    # A submission answered 503 must never be stored later: no publish waits out a reconnect.
    nc = await connect_nats(settings, "gateway", buffer_while_reconnecting=False)
    js = nc.jetstream()
    replicas = await ensure_stream(js, new_replicas=settings.replicas)
    catalog = ProcessCatalog()
    await catalog.start(await ensure_process_registry(js))
    dataset_templates = DatasetCatalog()
    await dataset_templates.start(await ensure_registry(js, DATASET_REGISTRY_BUCKET))
    identity = await _identity(settings, js)
    await ensure_schedule_stream(js, replicas)
    log.info("gateway ready", url=settings.base_url, processes=sorted(catalog.processes))
    schedules = Schedules(js)
    try:
        ctx = Context(
            settings,
            journal_of(settings, JetStreamJournal(nc, js, direct_reads(replicas))),
            engine,
            catalog,
            dataset_templates,
            HeldRequests.of(settings),
            identity,
            max_event_bytes=nc.max_payload - HEADER_ROOM,
            executors=Executors(nc),
            quicklooks=QuickLooks(js),
            connection=Connection(nc),
            schedules=schedules,
        )
        await schedules.start(ctx)
        await record_files(ctx, schedules, settings.plugins_dir)
        yield ctx
    finally:
        await schedules.stop()
        await catalog.stop()
        await dataset_templates.stop()
        if identity.api_keys is not None:
            await identity.api_keys.stop()
        await close_nats(nc, "gateway")
        engine.dispose()
