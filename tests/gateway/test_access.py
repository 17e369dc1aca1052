"""Who may do what: API keys and roles, owners, the public documents."""

from collections.abc import AsyncIterator

import httpx
import pytest

from jobstream_contracts.access import Role
from jobstream_contracts.events import JobChanged, JobCreated, JobDismissed, JobSubmitted
from jobstream_gateway import fairness

from ..support.inprocess import Gateway, keyed_identity, open_stream, serving, view_engine
from ..support.stack import TEST_PROCESSES

ERRORS = "https://jobstream.dev/errors"
ROLES = {
    "admin": Role.ADMIN,
    "olivia": Role.OPERATOR,
    "reader": Role.READER,
    "auditor": Role.AUDITOR,
    "alice": Role.SUBMITTER,
    "bob": Role.SUBMITTER,
}


@pytest.fixture
async def keyed(settings, journal, tmp_path) -> AsyncIterator[tuple[Gateway, dict[str, str]]]:
    """A gateway with API keys on, and a key for each name in ROLES."""
    identity, keys = keyed_identity(ROLES)
    with_keys = settings.model_copy(update={"auth": "apikey"})
    modules = [*TEST_PROCESSES, "jobstream_datasets.processes"]
    async with serving(
        with_keys, journal, view_engine(tmp_path), identity, modules=modules
    ) as gateway:
        yield gateway, keys


def as_(keys: dict[str, str], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[name]}"}


async def submit(
    gateway: Gateway, key: dict[str, str], process: str, inputs: dict, **headers: str
) -> httpx.Response:
    return await gateway.http.post(
        f"/processes/{process}/execution",
        json={"inputs": inputs},
        headers={"Prefer": "respond-async", **key, **headers},
    )


def exception_of(response: httpx.Response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == f"{ERRORS}/{kind}" and body["status"] == status
    return body


async def test_no_credential_or_an_unknown_key_is_401_with_a_bearer_challenge(keyed):
    gateway, _ = keyed
    refused = await gateway.http.get("/jobs")
    body = exception_of(refused, 401, "unauthenticated")
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="jobstream"'
    assert "Authorization: Bearer" in body["detail"]
    # The public documents stay public: clients discover the service before signing in.
    for path in ("/", "/conformance", "/api", "/health"):
        assert (await gateway.http.get(path)).status_code == 200, path
    forged = {"Authorization": "Bearer jsk_" + "x" * 43}
    refused = await gateway.http.get("/processes", headers=forged)
    exception_of(refused, 401, "unauthenticated")
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert "x" * 43 not in refused.text  # a credential is never echoed


async def test_someone_elses_job_does_not_exist_for_a_submitter(keyed):
    gateway, keys = keyed
    alice, bob = as_(keys, "alice"), as_(keys, "bob")
    created = await submit(gateway, alice, "echo", {"message": "mine"})
    assert created.status_code == 201, created.text
    job_id = created.json()["jobID"]
    await gateway.run(job_id, {"echo": "mine"})
    assert (await gateway.http.get(f"/jobs/{job_id}", headers=alice)).json()["status"] == (
        "successful"
    )
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/results", f"/jobs/{job_id}/events"):
        missing = await gateway.http.get(path, headers=bob)
        assert missing.status_code == 404, (path, missing.text)
        assert missing.json()["type"].endswith("/no-such-job")
    assert (await gateway.http.delete(f"/jobs/{job_id}", headers=bob)).status_code == 404
    await gateway.project()
    listed = {
        name: {
            job["jobID"] for job in (await gateway.http.get("/jobs", headers=key)).json()["jobs"]
        }
        for name, key in (("alice", alice), ("bob", bob))
    }
    assert listed == {"alice": {job_id}, "bob": set()}
    submitted = (await gateway.events())[0]
    assert isinstance(submitted, JobSubmitted) and submitted.owner == "key:alice"


async def test_roles_bound_what_each_caller_may_do(keyed):
    gateway, keys = keyed
    alice, auditor, reader = as_(keys, "alice"), as_(keys, "auditor"), as_(keys, "reader")
    refused = await submit(gateway, alice, "ingest", {"dataset_id": "anything"})
    assert "operator" in exception_of(refused, 403, "forbidden")["detail"]
    job_id = (await submit(gateway, alice, "spin", {"n": 2})).json()["jobID"]
    assert (await gateway.http.get(f"/jobs/{job_id}", headers=auditor)).status_code == 200
    assert (await gateway.http.get(f"/jobs/{job_id}/events", headers=auditor)).status_code == 200
    assert (await gateway.http.get("/datasets", headers=auditor)).status_code == 200
    exception_of(await gateway.http.delete(f"/jobs/{job_id}", headers=auditor), 403, "forbidden")
    exception_of(await submit(gateway, auditor, "echo", {"message": "no"}), 403, "forbidden")
    exception_of(await submit(gateway, reader, "echo", {"message": "no"}), 403, "forbidden")
    assert (await gateway.http.get(f"/jobs/{job_id}", headers=reader)).status_code == 404
    exception_of(await gateway.http.get("/datasets", headers=reader), 403, "forbidden")
    assert not [e for e in await gateway.events() if isinstance(e, JobDismissed)]


async def test_idempotency_keys_belong_to_their_caller(keyed):
    gateway, keys = keyed
    nightly = {"Idempotency-Key": "nightly"}
    first = await submit(gateway, as_(keys, "alice"), "echo", {"message": "a"}, **nightly)
    again = await submit(gateway, as_(keys, "alice"), "echo", {"message": "a"}, **nightly)
    theirs = await submit(gateway, as_(keys, "bob"), "echo", {"message": "b"}, **nightly)
    assert first.status_code == again.status_code == theirs.status_code == 201
    assert first.json()["jobID"] == again.json()["jobID"] != theirs.json()["jobID"]


async def test_a_callers_event_stream_shows_only_their_jobs(keyed):
    gateway, keys = keyed
    async with open_stream(gateway.app, "/events", as_(keys, "alice")) as live:
        assert await live.started() == 200
        theirs = (await submit(gateway, as_(keys, "bob"), "echo", {"message": "b"})).json()
        await gateway.run(theirs["jobID"], {"echo": "b"})
        mine = (await submit(gateway, as_(keys, "alice"), "echo", {"message": "a"})).json()
        await gateway.run(mine["jobID"], {"echo": "a"})
        seen = await live.first(3)
    assert [(f.data["subject"], f.event) for f in seen] == [
        (mine["jobID"], "dev.jobstream.JobSubmitted"),
        (mine["jobID"], "dev.jobstream.JobStarted"),
        (mine["jobID"], "dev.jobstream.JobSucceeded"),
    ]


async def test_the_queue_counts_only_the_callers_jobs_unless_they_read_every_job(keyed):
    gateway, keys = keyed
    for name, count in (("alice", 2), ("bob", 1)):
        for n in range(count):
            created = await submit(gateway, as_(keys, name), "echo", {"message": str(n)})
            assert created.status_code == 201, created.text
    await gateway.project()

    async def waiting(name: str) -> int:
        answer = await gateway.http.get("/queue", headers=as_(keys, name))
        assert answer.status_code == 200, answer.text
        rows = {row["processID"]: row for row in answer.json()["processes"]}
        return rows["echo"]["waiting"]

    assert (await waiting("alice"), await waiting("bob"), await waiting("auditor")) == (2, 1, 3)
    assert (await gateway.http.get("/queue")).status_code == 401


async def test_anyone_may_lower_a_jobs_priority_and_only_an_operator_raise_it(keyed):
    gateway, keys = keyed

    async def execute(name: str, priority: str) -> httpx.Response:
        body = {"inputs": {"message": priority}, "priority": priority}
        headers = {"Prefer": "respond-async", **as_(keys, name)}
        return await gateway.http.post("/processes/echo/execution", json=body, headers=headers)

    refused = exception_of(await execute("alice", "high"), 403, "forbidden")
    assert refused["detail"] == (
        "priority: high, above normal, needs the operator role; key:alice has submitter"
    )
    unknown = exception_of(await execute("alice", "urgent"), 400, "invalid-parameter")
    assert unknown["detail"] == "body.priority: Input should be 'high', 'normal' or 'low'"
    assert (await execute("alice", "low")).status_code == 201
    assert (await execute("admin", "high")).status_code == 201
    submitted = [e for e in await gateway.events() if isinstance(e, JobSubmitted)]
    assert [(e.inputs["message"], e.priority) for e in submitted] == [
        ("low", "low"),
        ("high", "high"),
    ]
    assert [e.subject.rsplit(".", 1)[1] for e in submitted] == ["submitted-low", "submitted-high"]


@pytest.mark.parametrize("refresh", [0.0, 3600.0], ids=["read-each-time", "counted-since"])
async def test_a_callers_jobs_that_find_their_own_waiting_go_a_lane_lower(
    keyed, monkeypatch, refresh
):
    monkeypatch.setattr(fairness, "REFRESH", refresh)
    gateway, keys = keyed
    alice, bob, admin = as_(keys, "alice"), as_(keys, "bob"), as_(keys, "admin")
    await submit(gateway, alice, "echo", {"message": "a1"})
    await gateway.project()
    await submit(gateway, alice, "echo", {"message": "a2"})
    await submit(gateway, bob, "echo", {"message": "b1"})
    await submit(gateway, alice, "echo", {"message": "a3"})
    # An operator's raised job keeps the lane asked for.
    raised = {"inputs": {"message": "x"}, "priority": "high"}
    headers = {"Prefer": "respond-async", **admin}
    await gateway.http.post("/processes/echo/execution", json=raised, headers=headers)
    await gateway.http.post("/processes/echo/execution", json=raised, headers=headers)
    submitted = [e for e in await gateway.events() if isinstance(e, JobSubmitted)]
    assert [(e.inputs["message"], e.priority) for e in submitted] == [
        ("a1", "normal"),
        ("a2", "low"),
        ("b1", "normal"),
        ("a3", "low"),
        ("x", "high"),
        ("x", "high"),
    ]


async def create(gateway: Gateway, key: dict[str, str], message: str, **headers: str):
    body = {"process": "echo", "inputs": {"message": message}}
    return await gateway.http.post("/jobs", json=body, headers={**key, **headers})


async def test_a_reader_may_not_create_change_or_start_a_job(keyed):
    gateway, keys = keyed
    reader = as_(keys, "reader")
    exception_of(await create(gateway, reader, "no"), 403, "forbidden")
    job_id = (await create(gateway, as_(keys, "alice"), "hers")).json()["jobID"]
    patched = await gateway.http.patch(f"/jobs/{job_id}", json={}, headers=reader)
    started = await gateway.http.post(f"/jobs/{job_id}/results", headers=reader)
    for answer in (patched, started):  # another's job: as if it did not exist
        assert answer.status_code == 404 and answer.json()["type"].endswith("/no-such-job")
    assert [type(event) for event in await gateway.events()] == [JobCreated]


async def test_someone_elses_created_job_does_not_exist_for_a_submitter(keyed):
    gateway, keys = keyed
    alice, bob, auditor = as_(keys, "alice"), as_(keys, "bob"), as_(keys, "auditor")
    job_id = (await create(gateway, alice, "hers")).json()["jobID"]
    for method, path in (
        ("GET", f"/jobs/{job_id}"),
        ("GET", f"/jobs/{job_id}/definition"),
        ("PATCH", f"/jobs/{job_id}"),
        ("POST", f"/jobs/{job_id}/results"),
    ):
        body = {} if method == "PATCH" else None
        missing = await gateway.http.request(method, path, json=body, headers=bob)
        assert missing.status_code == 404, (method, path, missing.text)
        assert missing.json()["type"].endswith("/no-such-job")
    # An auditor reads every job and changes none.
    assert (await gateway.http.get(f"/jobs/{job_id}/definition", headers=auditor)).is_success
    patch = {"inputs": {"message": "audited"}}
    refused = await gateway.http.patch(f"/jobs/{job_id}", json=patch, headers=auditor)
    assert "may read job" in exception_of(refused, 403, "forbidden")["detail"]
    started = await gateway.http.post(f"/jobs/{job_id}/results", headers=auditor)
    exception_of(started, 403, "forbidden")
    assert [type(event) for event in await gateway.events()] == [JobCreated]


@pytest.mark.parametrize("name", ["olivia", "admin"])
async def test_an_operator_may_change_and_start_anyones_job_which_stays_theirs(keyed, name):
    gateway, keys = keyed
    job_id = (await create(gateway, as_(keys, "alice"), "hers")).json()["jobID"]
    patch = {"inputs": {"message": "fixed"}}
    changed = await gateway.http.patch(f"/jobs/{job_id}", json=patch, headers=as_(keys, name))
    assert changed.status_code == 200, changed.text
    started = await gateway.http.post(f"/jobs/{job_id}/results", headers=as_(keys, name))
    assert started.status_code == 200 and started.json()["status"] == "accepted"
    events = await gateway.events()
    assert [type(event) for event in events] == [JobCreated, JobChanged, JobSubmitted]
    assert {getattr(event, "owner", None) for event in events} == {"key:alice"}
    assert events[-1].inputs == {"message": "fixed"}
    mine = await gateway.http.get(f"/jobs/{job_id}", headers=as_(keys, "alice"))
    assert mine.json()["status"] == "accepted"


async def test_idempotency_keys_for_created_jobs_belong_to_their_caller(keyed):
    gateway, keys = keyed
    # Not the key the execution test uses: the session's stream keeps that job.
    nightly = {"Idempotency-Key": "nightly-created"}
    first = await create(gateway, as_(keys, "alice"), "a", **nightly)
    again = await create(gateway, as_(keys, "alice"), "a", **nightly)
    theirs = await create(gateway, as_(keys, "bob"), "b", **nightly)
    assert first.status_code == again.status_code == theirs.status_code == 201
    assert first.json()["jobID"] == again.json()["jobID"] != theirs.json()["jobID"]
