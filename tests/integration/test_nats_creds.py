"""A nats-server in operator mode: each component logs in with its own creds file (a user
JWT its account signed, and the user's seed), with its user's permissions written in the
JWT; creds the server will never accept are refused at once, saying why."""

import asyncio
import time
from pathlib import Path

import pytest

from jobstream_infra.connection import NatsRefused, connect_nats
from jobstream_infra.nats_users import Grant, Permissions
from jobstream_infra.provisioning import provision
from jobstream_infra.settings import NatsSettings

from ..support.operator_nats import Operator
from ..support.secured_nats import SecuredNats
from ..support.stack import Stack, runs_an_echo_job


@pytest.fixture(scope="module")
def operated(tmp_path_factory):
    """The server, its operator, and the folder holding every user's creds file."""
    folder = tmp_path_factory.mktemp("operator")
    operator = Operator()
    operator.write_creds(folder / "creds")
    with SecuredNats(folder / "nats", operator.server_blocks()) as server:
        yield server, operator, folder / "creds"


def _refusal(server: SecuredNats, folder: Path) -> str:
    settings = NatsSettings(nats_url=server.address, nats_credentials_dir=folder)
    began = time.monotonic()
    with pytest.raises(NatsRefused) as refused:
        asyncio.run(connect_nats(settings, "gateway"))
    assert time.monotonic() - began < 5  # not retried
    return str(refused.value)


def test_a_stack_whose_components_log_in_with_their_own_creds_runs_a_job(tmp_path, operated):
    server, _, creds = operated
    asyncio.run(provision(NatsSettings(nats_url=server.address, nats_credentials_dir=creds)))
    runs_an_echo_job(Stack(tmp_path, server.address, nats_credentials_dir=creds), "operator mode")


def test_creds_of_an_account_the_server_does_not_know_are_refused(tmp_path, operated):
    server, _, _ = operated
    Operator().write_creds(tmp_path)
    assert "gateway.creds" in _refusal(server, tmp_path)


def test_a_jwt_longer_than_the_servers_control_line_is_refused_naming_it(tmp_path, operated):
    server, operator, _ = operated
    padding = Grant(publish=tuple(f"jobstream.padding.{n}" for n in range(1000)))
    operator.write_creds(tmp_path, {"gateway": Permissions(padding)})  # a JWT of over 16 KB
    assert "max_control_line" in _refusal(server, tmp_path)
