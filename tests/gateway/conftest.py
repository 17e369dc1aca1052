"""Fixtures of the in-process gateway tests: one nats-server for the session, a journal per
test on it, a SQLite view per test."""

from collections.abc import AsyncIterator, Iterator

import nats
import pytest
from nats.aio.client import Client as NATS

from jobstream_gateway.scheduling import Schedules
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.journal import JetStreamJournal, Journal
from jobstream_infra.provisioning import ensure_stream
from jobstream_infra.schedule_book import ensure_schedule_stream
from jobstream_infra.settings import GatewaySettings

from ..support.inprocess import Gateway, serving, view_engine


@pytest.fixture(scope="session")
def shared_nats(tmp_path_factory) -> Iterator[EmbeddedNats]:
    with EmbeddedNats(tmp_path_factory.mktemp("gateway") / "nats") as server:
        yield server


@pytest.fixture
async def nats_connection(shared_nats) -> AsyncIterator[NATS]:
    nc = await nats.connect(shared_nats.url)
    yield nc
    await nc.close()


@pytest.fixture
async def jetstream_journal(nats_connection) -> JetStreamJournal:
    js = nats_connection.jetstream()
    await ensure_stream(js)
    return JetStreamJournal(nats_connection, js)


@pytest.fixture
async def journal(jetstream_journal) -> Journal:
    """The journal every in-process test runs on: the record itself. All of tests/gateway
    passes on ``InMemoryJournal()`` too (88 tests, 12 s): return that to drop the server."""
    return jetstream_journal


@pytest.fixture
def settings(tmp_path) -> GatewaySettings:
    return GatewaySettings(data_dir=tmp_path, stream_keepalive=0.2)


@pytest.fixture
async def gateway(settings, journal, tmp_path) -> AsyncIterator[Gateway]:
    """An open gateway (no authentication) serving the test processes."""
    async with serving(settings, journal, view_engine(tmp_path)) as running:
        yield running


@pytest.fixture
async def scheduling_gateway(settings, jetstream_journal, tmp_path) -> AsyncIterator[Gateway]:
    """An open gateway that serves schedules too, as services.py builds one: their stream on
    the session's server, which every such test shares (ids are never reused; a test deletes
    its schedules, or gives them cadences that do not fire while the suite runs)."""
    js = jetstream_journal.js
    await ensure_schedule_stream(js)
    engine = view_engine(tmp_path)
    async with serving(settings, jetstream_journal, engine, schedules=Schedules(js)) as running:
        yield running
