"""/ready: its status for anyone, its report for a caller who sees everything, and no
credentials in either."""

from collections.abc import AsyncIterator

import pytest

from jobstream_contracts.access import Role

from ..support.inprocess import (
    UNREACHABLE_VIEW_PASSWORD,
    UNREACHABLE_VIEW_USER,
    Gateway,
    keyed_identity,
    serving,
    unreachable_view,
    view_engine,
)

REPORT = {
    "stream_last_sequence",
    "projector_checkpoint",
    "projector_lag",
    "parked_events",
    "held_events",
}


@pytest.fixture
async def keyed(settings, journal) -> AsyncIterator[tuple[Gateway, dict[str, str]]]:
    """A gateway with API keys on, and the bearer header of an auditor and a submitter."""
    identity, keys = keyed_identity({"auditor": Role.AUDITOR, "alice": Role.SUBMITTER})
    with_keys = settings.model_copy(update={"auth": "apikey"})
    engine = view_engine(settings.data_dir)
    async with serving(with_keys, journal, engine, identity) as gateway:
        yield gateway, {name: f"Bearer {key}" for name, key in keys.items()}


async def test_anyone_but_a_caller_who_sees_everything_gets_the_status_alone(keyed):
    gateway, keys = keyed
    for headers in ({}, {"Authorization": keys["alice"]}, {"Authorization": "Bearer nonsense"}):
        answer = await gateway.http.get("/ready", headers=headers)
        assert (answer.status_code, answer.json()) == (200, {"status": "ready"}), headers
    report = (await gateway.http.get("/ready", headers={"Authorization": keys["auditor"]})).json()
    assert report["status"] == "ready" and REPORT <= set(report), report


async def test_a_view_out_of_reach_is_reported_without_its_credentials(settings, journal):
    identity, keys = keyed_identity({"auditor": Role.AUDITOR})
    with_keys = settings.model_copy(update={"auth": "apikey"})
    async with serving(with_keys, journal, unreachable_view(), identity) as gateway:
        anonymous = await gateway.http.get("/ready")
        auditor = {"Authorization": f"Bearer {keys['auditor']}"}
        detailed = await gateway.http.get("/ready", headers=auditor)
    assert (anonymous.status_code, anonymous.json()) == (503, {"status": "unavailable"})
    assert detailed.status_code == 503
    assert detailed.json()["error"].startswith("OperationalError: "), detailed.text
    assert UNREACHABLE_VIEW_PASSWORD not in detailed.text
    assert f"{UNREACHABLE_VIEW_USER}:" not in detailed.text
