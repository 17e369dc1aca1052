"""What one caller's submissions may take of what every caller shares: jobs queued or running,
bytes stored in the stream over a window, and the store's reserve. Each refusal records
nothing and names its figures; other callers are not held back by one caller's use."""

from collections.abc import AsyncIterator

import pytest

from jobstream_contracts.access import Role
from jobstream_contracts.events import JobSubmitted
from jobstream_infra.memory_journal import InMemoryJournal

from ..support.inprocess import Gateway, keyed_identity, serving, view_engine
from .ogc import exception_of, submissions

ERRORS = "https://jobstream.dev/errors"
ROLES = {"alice": Role.SUBMITTER, "bob": Role.SUBMITTER, "olivia": Role.OPERATOR}
# An echo's message this long makes a submission and a success of ~20 kB each.
LONG = "x" * 20_000


class Callers:
    def __init__(self, gateway: Gateway, keys: dict[str, str]) -> None:
        self.gateway = gateway
        self.headers = {name: {"Authorization": f"Bearer {key}"} for name, key in keys.items()}

    async def submit(self, name: str, message: str = LONG):
        return await self.gateway.http.post(
            "/processes/echo/execution",
            json={"inputs": {"message": message}},
            headers={**self.headers[name], "Prefer": "respond-async"},
        )

    async def submit_and_run(self, name: str) -> str:
        answer = await self.submit(name)
        assert answer.status_code == 201, answer.text
        job_id = answer.json()["jobID"]
        await self.gateway.run(job_id, {"echo": LONG})
        await self.gateway.project()
        return job_id


@pytest.fixture
def quota_settings(settings):
    return settings.model_copy(
        update={"auth": "apikey", "max_stored_bytes_per_caller": 100_000, "max_jobs_per_caller": 3}
    )


@pytest.fixture
async def callers(quota_settings, journal, tmp_path) -> AsyncIterator[Callers]:
    identity, keys = keyed_identity(ROLES)
    async with serving(quota_settings, journal, view_engine(tmp_path), identity) as gateway:
        yield Callers(gateway, keys)


async def test_a_caller_past_its_stored_bytes_is_refused_with_the_figures(callers):
    # Two jobs run to success: about 80 kB of events (each message stored twice).
    for _ in range(2):
        await callers.submit_and_run("alice")
    before = submissions(await callers.gateway.events())

    refused = await callers.submit("alice")
    body = exception_of(refused, 429)
    assert body["type"] == f"{ERRORS}/too-much-stored"
    assert "MAX_STORED_BYTES_PER_CALLER" in body["detail"]
    assert body["limitBytes"] == 100_000 and body["windowSeconds"] == 86_400
    assert 80_000 < body["storedBytes"] <= 100_000 < body["storedBytes"] + body["requestBytes"]
    assert 86_000 < int(refused.headers["Retry-After"]) <= 86_400
    assert submissions(await callers.gateway.events()) == before  # nothing recorded

    # A smaller request still fits; another caller is not held back at all.
    assert (await callers.submit("alice", "short")).status_code == 201
    assert (await callers.submit("bob")).status_code == 201


async def test_a_caller_past_its_jobs_is_refused_while_others_submit(callers):
    for _ in range(3):
        assert (await callers.submit("alice", "queued")).status_code == 201
    await callers.gateway.project()
    body = exception_of(await callers.submit("alice", "one more"), 429)
    assert body["type"] == f"{ERRORS}/too-many-jobs" and "has 3 jobs" in body["detail"]
    assert (await callers.submit("bob", "mine")).status_code == 201


async def test_a_start_past_the_callers_jobs_is_refused_and_the_job_stays_created(callers):
    gateway, alice = callers.gateway, callers.headers["alice"]
    body = {"process": "echo", "inputs": {"message": "later"}}
    created = await gateway.http.post("/jobs", json=body, headers=alice)
    assert created.status_code == 201, created.text
    job_id = created.json()["jobID"]
    for _ in range(3):
        assert (await callers.submit("alice", "queued")).status_code == 201
    await gateway.project()
    before = submissions(await gateway.events())

    refused = exception_of(await gateway.http.post(f"/jobs/{job_id}/results", headers=alice), 429)
    assert refused["type"] == f"{ERRORS}/too-many-jobs" and "has 3 jobs" in refused["detail"]
    assert submissions(await gateway.events()) == before
    status = await gateway.http.get(f"/jobs/{job_id}", headers=alice)
    assert status.json()["status"] == "created"

    # One of them done, the start goes through.
    queued = [e for e in await gateway.events() if isinstance(e, JobSubmitted)]
    await gateway.run(queued[0].job_id, {"echo": "queued"})
    await gateway.project()
    started = await gateway.http.post(f"/jobs/{job_id}/results", headers=alice)
    assert started.status_code == 200, started.text


@pytest.fixture
async def nearly_full(quota_settings, tmp_path) -> AsyncIterator[Callers]:
    """A store of 1 MB with its 5% reserve, and alice's job already in it; the quotas are
    out of the way."""
    journal = InMemoryJournal(capacity=1_000_000)
    roomy = quota_settings.model_copy(update={"max_stored_bytes_per_caller": 10**9})
    identity, keys = keyed_identity(ROLES)
    async with serving(roomy, journal, view_engine(tmp_path), identity) as gateway:
        gateway.ctx.room.max_age = 0  # read the store afresh at every submission
        yield Callers(gateway, keys)


async def test_the_reserve_is_kept_from_callers_but_not_from_operators(nearly_full):
    first = (await nearly_full.submit("alice")).json()["jobID"]
    # Fill the store up to just short of the reserve (50 kB), as other callers would have.
    usage = await nearly_full.gateway.journal.usage()
    filler = 1_000_000 - 50_000 - usage.used - 10_000
    assert isinstance(nearly_full.gateway.journal, InMemoryJournal)
    nearly_full.gateway.journal.append_bytes("jobstream.jobs.echo.filler.submitted", b"x" * filler)

    body = exception_of(await nearly_full.submit("bob"), 503)
    assert body["type"] == f"{ERRORS}/store-reserved" and "STORE_RESERVE" in body["detail"]
    assert body["capacityBytes"] == 1_000_000 and body["reserveBytes"] == 50_000
    assert int((await nearly_full.submit("bob")).headers["Retry-After"]) > 0

    # An operator's job and a dismissal may use the reserve.
    assert (await nearly_full.submit("olivia")).status_code == 201
    dismissed = await nearly_full.gateway.http.delete(
        f"/jobs/{first}", headers=nearly_full.headers["alice"]
    )
    assert dismissed.status_code == 200, dismissed.text
    kinds = [type(event) for event in await nearly_full.gateway.events()]
    assert kinds.count(JobSubmitted) == 2
