"""The Host allow-list: a page that rebinds its name to the gateway's address is refused."""

import pytest

from jobstream_infra.settings import GatewaySettings

from ..support.inprocess import serving, view_engine
from .ogc import exception_of, submissions

ERRORS = "https://jobstream.dev/errors"


async def test_a_host_the_gateway_does_not_answer_to_is_400_and_records_nothing(gateway):
    evil = {"Host": "evil.example"}
    refused = await gateway.http.get("/jobs", headers=evil)
    body = exception_of(refused, 400)
    assert body["type"] == f"{ERRORS}/invalid-parameter"
    assert body["detail"].startswith("Host: 'evil.example'") and "ALLOWED_HOSTS" in body["detail"]
    posted = await gateway.http.post(
        "/processes/echo/execution",
        json={"inputs": {"message": "from another site"}},
        headers={**evil, "Prefer": "respond-async"},
    )
    exception_of(posted, 400)
    assert submissions(await gateway.events()) == 0


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"]
)
async def test_the_loopback_names_are_answered_on_any_port(gateway, host):
    answer = await gateway.http.get("/jobs", headers={"Host": host})
    assert answer.status_code == 200, answer.text


async def test_health_answers_whatever_the_host(gateway):
    assert (await gateway.http.get("/health", headers={"Host": "10.1.2.3:8000"})).status_code == 200


@pytest.mark.parametrize(
    ("settings_given", "host", "status"),
    [
        ({"host": "192.0.2.7"}, "192.0.2.7:8000", 200),
        ({"host": "2001:db8::7"}, "[2001:DB8::7]:8000", 200),
        ({"public_url": "https://jobs.example.org/api/"}, "jobs.example.org", 200),
        ({"allowed_hosts": ["evil.example"]}, "evil.example:8080", 200),
        ({"allowed_hosts": ["*.example.net"]}, "a.example.net", 200),
        ({"allowed_hosts": ["*.example.net"]}, "example.net", 400),
        ({"allowed_hosts": ["*"]}, "anything.example", 200),
        ({"public_url": "https://jobs.example.org"}, "evil.example", 400),
    ],
)
async def test_the_settings_widen_the_hosts_answered(
    tmp_path, journal, settings_given, host, status
):
    settings = GatewaySettings(data_dir=tmp_path, **settings_given)
    async with serving(settings, journal, view_engine(tmp_path)) as gateway:
        answer = await gateway.http.get("/jobs", headers={"Host": host})
    assert answer.status_code == status, answer.text


def test_allowed_hosts_are_set_as_a_json_list(monkeypatch, tmp_path):
    monkeypatch.setenv("JOBSTREAM_ALLOWED_HOSTS", '["jobs.example.org", "*.corp.example"]')
    settings = GatewaySettings(data_dir=tmp_path)
    assert settings.allowed_hosts == ["jobs.example.org", "*.corp.example"]
