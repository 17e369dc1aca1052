"""A nats-server whose users log in with NKEYs: each component finds its own seed in the
credentials folder and gets its own user's permissions; a seed the server does not know is
refused at once, and a file that is no seed is refused before connecting."""

import asyncio
import time

import pytest

from jobstream_contracts.subjects import STREAM
from jobstream_infra.connection import (
    NatsNotConfigured,
    NatsRefused,
    close_nats,
    connect_nats,
)
from jobstream_infra.nats_conf import nkey_authorization
from jobstream_infra.provisioning import provision
from jobstream_infra.settings import NatsSettings

from ..support.secured_nats import SecuredNats, new_user_seed, seed_folder
from ..support.stack import Stack, runs_an_echo_job


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """The server, and the folder holding every user's seed."""
    folder = tmp_path_factory.mktemp("nkeys")
    seeds = folder / "seeds"
    blocks = {"authorization": nkey_authorization(seed_folder(seeds))}
    with SecuredNats(folder / "nats", blocks) as server:
        yield server, seeds


def _settings(server: SecuredNats, seeds) -> NatsSettings:
    return NatsSettings(nats_url=server.address, nats_credentials_dir=seeds)


async def _denied_purge(settings: NatsSettings, component: str) -> bool:
    """Connected as ``component``: whether the server refuses it a purge of the stream (no
    component may purge it; the admin is refused by the stream itself)."""
    nc = await connect_nats(settings, component, wait=10)
    try:
        js = nc.jetstream(timeout=1)
        assert (await js.stream_info(STREAM)).config.name == STREAM
        try:
            await js.purge_stream(STREAM)
        except TimeoutError:
            return True  # the server does not answer what it does not let through
        return False
    finally:
        await close_nats(nc, component)


def test_a_stack_whose_components_log_in_with_their_own_seeds_runs_a_job(tmp_path, keyed):
    server, seeds = keyed
    settings = _settings(server, seeds)
    asyncio.run(provision(settings))  # as the admin, from admin.nk
    runs_an_echo_job(Stack(tmp_path, server.address, nats_credentials_dir=seeds), "signed")
    # Each as its own user, with that user's permissions: none may purge the log.
    components = ("gateway", "executor", "projector", "notifier", "export")
    assert asyncio.run(_all_denied_purges(settings, components)) == [True] * len(components)


async def _all_denied_purges(settings: NatsSettings, components: tuple[str, ...]) -> list[bool]:
    return list(await asyncio.gather(*(_denied_purge(settings, c) for c in components)))


def test_a_seed_the_server_does_not_know_is_refused_at_once(tmp_path, keyed):
    server, _ = keyed
    (tmp_path / "gateway.nk").write_bytes(new_user_seed())
    began = time.monotonic()
    with pytest.raises(NatsRefused, match="gateway.nk"):
        asyncio.run(connect_nats(_settings(server, tmp_path), "gateway"))
    assert time.monotonic() - began < 5  # not retried


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"gateway.nk": "not a seed\n"}, "holds no NKEY seed"),
        ({"gateway.creds": "no blocks\n"}, "is no creds file"),
        ({"gateway.nk": new_user_seed().decode(), "gateway.creds": ""}, "keep one"),
        ({"executor.nk": new_user_seed().decode()}, "no gateway.creds or gateway.nk"),
    ],
)
def test_an_unusable_credentials_folder_is_refused_before_connecting(
    tmp_path, keyed, files, expected
):
    server, _ = keyed
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(NatsNotConfigured, match="JOBSTREAM_NATS_CREDENTIALS_DIR") as refused:
        asyncio.run(connect_nats(_settings(server, tmp_path), "gateway"))
    assert expected in str(refused.value)
