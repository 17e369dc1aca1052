"""A nats-server that requires TLS and verifies its clients' certificates: jobstream's
components connect with the authority, certificate and key they are given and run a job; a
client the handshake refuses ends its start at once, naming the setting to change."""

import asyncio
import os
import subprocess
import sys
import time
from typing import Any

import pytest
import trustme
from pydantic import SecretStr

from jobstream_infra.connection import NatsRefused, close_nats, connect_nats
from jobstream_infra.nats_credentials import NatsCredentials
from jobstream_infra.settings import NatsSettings, SettingsRefused, load_settings

from ..support.secured_nats import SERVER_NAME, SecuredNats, issue_client, tls_block
from ..support.stack import Stack, runs_an_echo_job


@pytest.fixture(scope="module")
def authority():
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, authority):
    folder = tmp_path_factory.mktemp("tls")
    with SecuredNats(folder / "nats", {"tls": tls_block(authority, folder / "server")}) as server:
        yield server


@pytest.fixture(scope="module")
def client_files(tmp_path_factory, authority):
    return issue_client(authority, tmp_path_factory.mktemp("client"))


def _settings(server: SecuredNats, **files: Any) -> NatsSettings:
    admin = SecretStr(server.credentials.passwords["admin"])
    return NatsSettings(nats_url=server.tls_url, nats_user="admin", nats_password=admin, **files)


def _refusal(settings: NatsSettings) -> str:
    """What connecting with ``settings`` is refused with; it must not wait for the server."""

    async def attempt() -> None:
        nc = await connect_nats(settings, "admin", wait=10)
        await close_nats(nc, "admin")

    began = time.monotonic()
    with pytest.raises(NatsRefused) as refused:
        asyncio.run(attempt())
    assert time.monotonic() - began < 5  # refused on its first attempt, not waited on
    return str(refused.value)


def test_a_stack_given_the_authority_and_its_certificates_runs_a_job(
    tmp_path, tls_server, client_files
):
    # Each component as its own user, over tls:// (the server would upgrade nats:// too).
    passwords = tls_server.credentials.passwords
    credentials = NatsCredentials(url=tls_server.tls_url, passwords=passwords)
    stack = Stack(tmp_path, tls_server.tls_url, None, credentials, **client_files.settings())
    runs_an_echo_job(stack, "over TLS")


def test_a_client_without_the_authority_is_refused_naming_the_setting(tls_server, client_files):
    settings = _settings(
        tls_server,
        nats_tls_cert_file=client_files.cert,
        nats_tls_key_file=client_files.key,
        nats_tls_server_name=SERVER_NAME,
    )
    refusal = _refusal(settings)  # verified against the system's authorities
    assert "certificate is not trusted" in refusal
    assert "JOBSTREAM_NATS_TLS_CA_FILE" in refusal


def test_a_name_the_certificate_does_not_hold_is_refused(tls_server, client_files):
    files = client_files.settings() | {"nats_tls_server_name": None}
    refusal = _refusal(_settings(tls_server, **files))  # 127.0.0.1, not nats.test
    assert "JOBSTREAM_NATS_TLS_SERVER_NAME" in refusal


def test_a_client_without_a_certificate_is_refused(tls_server, client_files):
    files = {"nats_tls_ca_file": client_files.ca, "nats_tls_server_name": SERVER_NAME}
    refusal = _refusal(_settings(tls_server, **files))
    assert "asks for a client certificate" in refusal


def test_a_certificate_of_another_authority_is_refused(tmp_path, tls_server, client_files):
    stranger = issue_client(trustme.CA(), tmp_path)
    files = client_files.settings() | {
        "nats_tls_cert_file": stranger.cert,
        "nats_tls_key_file": stranger.key,
    }
    refusal = _refusal(_settings(tls_server, **files))
    assert "refused this client's certificate" in refusal
    assert "JOBSTREAM_NATS_TLS_CERT_FILE" in refusal


def test_files_that_cannot_be_used_are_refused_with_the_settings(tmp_path, client_files):
    cases = {
        "JOBSTREAM_NATS_TLS_CA_FILE": {"JOBSTREAM_NATS_TLS_CA_FILE": str(tmp_path / "absent")},
        "no certificate read": {"JOBSTREAM_NATS_TLS_CA_FILE": str(client_files.key)},
        "go together": {"JOBSTREAM_NATS_TLS_CERT_FILE": str(client_files.cert)},
        "not a certificate and its key": {
            "JOBSTREAM_NATS_TLS_CERT_FILE": str(client_files.cert),
            "JOBSTREAM_NATS_TLS_KEY_FILE": str(client_files.ca),
        },
    }
    for expected, environ in cases.items():
        with pytest.MonkeyPatch.context() as patch:
            for name, value in environ.items():
                patch.setenv(name, value)
            with pytest.raises(SettingsRefused, match=expected):
                load_settings(NatsSettings)


def _component(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("JOBSTREAM_")}
    return subprocess.run(
        [sys.executable, "-m", "jobstream", *args],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_component_ends_its_start_with_one_line(tmp_path, tls_server, client_files):
    base = {
        "JOBSTREAM_DATA_DIR": str(tmp_path),
        "JOBSTREAM_NATS_URL": tls_server.tls_url,
        "JOBSTREAM_NATS_USER": "projector",
        "JOBSTREAM_NATS_PASSWORD": tls_server.credentials.passwords["projector"],
    }
    missing = _component(
        ["projector"], {**base, "JOBSTREAM_NATS_TLS_CA_FILE": str(tmp_path / "absent.pem")}
    )
    untrusted = _component(["projector"], base)  # the system's authorities
    for ended, setting in ((missing, "CA_FILE"), (untrusted, "CA_FILE")):
        assert ended.returncode != 0
        assert f"JOBSTREAM_NATS_TLS_{setting}" in ended.stderr
        assert "Traceback" not in ended.stderr, ended.stderr
