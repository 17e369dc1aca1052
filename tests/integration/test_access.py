"""Who may do what, over real HTTP: API keys from the real CLI in the real key bucket, OIDC
tokens from a real issuer on loopback, roles and owners enforced by real gateways."""

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from jobstream_client import Client, oidc_client_credentials
from jobstream_infra.embedded import free_port
from tests.support.issuer import LocalIssuer
from tests.support.sse import frames
from tests.support.stack import TEST_PROCESSES, Stack, keyed_stack, wait_gateway
from tests.support.waiting import eventually

ERRORS = "https://jobstream.dev/errors"
DATA_PROCESSES = [*TEST_PROCESSES, "jobstream_datasets.processes"]


def client(gateway: Stack | str, token: str | None) -> httpx.Client:
    """A client of ``gateway`` (a stack's, or one at a URL) sending ``token``."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = gateway if isinstance(gateway, str) else gateway.url
    return httpx.Client(base_url=url, headers=headers, timeout=30)


def submit(http: httpx.Client, process: str, inputs: dict, **headers: str) -> httpx.Response:
    return http.post(
        f"/processes/{process}/execution",
        json={"inputs": inputs},
        headers={"Prefer": "respond-async", **headers},
    )


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """A stack with API keys on, and a key for each role (the admin's is the stack's own)."""
    workdir = tmp_path_factory.mktemp("access")
    with keyed_stack(workdir, process_modules=json.dumps(DATA_PROCESSES)) as (stack, admin):
        keys = {role: stack.new_key(role, role) for role in ("reader", "auditor")}
        keys["admin"] = admin
        keys["alice"] = stack.new_key("alice", "submitter")
        keys["bob"] = stack.new_key("bob", "submitter")
        assert all(key.startswith("jsk_") and len(key) > 40 for key in keys.values())
        stack.wait_ready(("echo", "spin", "ingest"))
        yield stack, keys


@contextmanager
def another_gateway(stack: Stack, **settings: object) -> Iterator[str]:
    """The URL of one more gateway on ``stack``'s stream and view, stopped afterwards."""
    port = free_port()
    process = stack.start_component("gateway", port=port, **settings)
    try:
        wait_gateway(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stack.processes["gateway"].remove(process)
        process.terminate()
        process.wait(20)


def _exception(response: httpx.Response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == f"{ERRORS}/{kind}" and body["status"] == status
    return body


def test_no_credential_or_an_unknown_key_is_401_with_a_bearer_challenge(keyed):
    stack, _ = keyed
    with client(stack, None) as anonymous:
        refused = anonymous.get("/jobs")
        body = _exception(refused, 401, "unauthenticated")
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="jobstream"'
        assert "Authorization: Bearer" in body["detail"]
        # The public documents stay public: clients discover the service before signing in.
        for path in ("/", "/conformance", "/api", "/health"):
            assert anonymous.get(path).status_code == 200, path
    with client(stack, "jsk_" + "x" * 43) as forged:
        refused = forged.get("/processes")
        _exception(refused, 401, "unauthenticated")
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
        assert "x" * 43 not in refused.text  # a credential is never echoed


def test_a_revoked_key_is_refused_by_every_gateway_within_seconds(keyed):
    stack, keys = keyed
    carl_key = stack.new_key("carl", "submitter")
    with (
        another_gateway(stack) as other_url,
        client(stack, carl_key) as carl,
        client(other_url, carl_key) as elsewhere,
    ):
        assert carl.get("/processes").status_code == 200
        assert elsewhere.get("/processes").status_code == 200
        revoked = stack.apikey("revoke", "carl")
        assert revoked.returncode == 0, revoked.stderr
        eventually(
            lambda: all(http.get("/processes").status_code == 401 for http in (carl, elsewhere)),
            5,
            "both gateways refusing the revoked key",
        )
    listed = stack.apikey("list")
    names = [json.loads(line)["name"] for line in listed.stdout.splitlines()]
    assert "carl" not in names and "bob" in names
    assert "digest" not in listed.stdout and keys["bob"] not in listed.stdout


def test_someone_elses_job_does_not_exist_for_a_submitter(keyed):
    stack, keys = keyed
    with client(stack, keys["alice"]) as alice, client(stack, keys["bob"]) as bob:
        created = submit(alice, "echo", {"message": "mine"})
        assert created.status_code == 201, created.text
        job_id = created.json()["jobID"]
        stack.wait_job(job_id)  # as admin
        assert alice.get(f"/jobs/{job_id}").json()["status"] == "successful"
        for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/results", f"/jobs/{job_id}/events"):
            missing = bob.get(path)
            assert missing.status_code == 404, (path, missing.text)
            assert missing.json()["type"].endswith("/no-such-job")
        assert bob.delete(f"/jobs/{job_id}").status_code == 404
        stack.wait_view(job_id)
        assert job_id in {job["jobID"] for job in alice.get("/jobs").json()["jobs"]}
        assert job_id not in {job["jobID"] for job in bob.get("/jobs").json()["jobs"]}
    owner = stack.events(job_id)[0]
    assert owner.owner == "key:alice"  # type: ignore[attr-defined]


def test_roles_bound_what_each_caller_may_do(keyed):
    stack, keys = keyed
    with client(stack, keys["alice"]) as alice:
        refused = submit(alice, "ingest", {"dataset_id": "anything"})
        body = _exception(refused, 403, "forbidden")
        assert "operator" in body["detail"]
        job_id = submit(alice, "spin", {"n": 2}).json()["jobID"]
    stack.wait_job(job_id)
    with client(stack, keys["auditor"]) as auditor:
        assert auditor.get(f"/jobs/{job_id}").status_code == 200
        assert auditor.get(f"/jobs/{job_id}/events").status_code == 200
        assert auditor.get("/datasets").status_code == 200
        _exception(auditor.delete(f"/jobs/{job_id}"), 403, "forbidden")
        _exception(submit(auditor, "echo", {"message": "no"}), 403, "forbidden")
    with client(stack, keys["reader"]) as reader:
        _exception(submit(reader, "echo", {"message": "no"}), 403, "forbidden")
        assert reader.get(f"/jobs/{job_id}").status_code == 404
        _exception(reader.get("/datasets"), 403, "forbidden")
    assert stack.http.get(f"/jobs/{job_id}").json()["status"] == "successful"
    assert all(type(e).__name__ != "JobDismissed" for e in stack.events(job_id))


def test_idempotency_keys_belong_to_their_caller(keyed):
    stack, keys = keyed
    with client(stack, keys["alice"]) as alice, client(stack, keys["bob"]) as bob:
        first = submit(alice, "echo", {"message": "a"}, **{"Idempotency-Key": "nightly"})
        again = submit(alice, "echo", {"message": "a"}, **{"Idempotency-Key": "nightly"})
        theirs = submit(bob, "echo", {"message": "b"}, **{"Idempotency-Key": "nightly"})
    assert first.status_code == again.status_code == theirs.status_code == 201
    assert first.json()["jobID"] == again.json()["jobID"] != theirs.json()["jobID"]


def test_a_callers_queued_and_running_jobs_are_capped(make_stack):
    stack = make_stack(auth="apikey", max_jobs_per_caller=2, executor_concurrency=1)
    stack.start(wait=False)
    admin = stack.new_key("admin", "admin")
    alice_key = stack.new_key("alice", "submitter")
    stack.http.headers["Authorization"] = f"Bearer {admin}"
    stack.wait_ready(("hold",))
    with client(stack, alice_key) as alice:
        held = [submit(alice, "hold", {"seconds": 3}).json()["jobID"] for _ in range(2)]
        for job_id in held:
            stack.wait_view(job_id, statuses=("accepted", "running"))
        refused = submit(alice, "hold", {"seconds": 3})
        body = _exception(refused, 429, "too-many-jobs")
        assert refused.headers["Retry-After"].isdigit() and "2" in body["detail"]
        # Another caller is not held up by alice's jobs.
        assert submit(stack.http, "echo", {"message": "admin"}).status_code == 201
        stack.wait_view(held[0])
        stack.wait_view(held[1])
        assert submit(alice, "hold", {"seconds": 0}).status_code == 201


def test_a_callers_event_stream_shows_only_their_jobs(keyed):
    stack, keys = keyed
    with client(stack, keys["alice"]) as alice, client(stack, keys["bob"]) as bob:
        with alice.stream("GET", "/events", timeout=30) as live:
            theirs = submit(bob, "echo", {"message": "bob's"}).json()["jobID"]
            stack.wait_job(theirs)  # bob's job is over before alice's starts
            mine = submit(alice, "echo", {"message": "alice's"}).json()["jobID"]
            seen = []
            for frame in frames(live):
                seen.append((frame.data["subject"], frame.event))
                if frame.event == "dev.jobstream.JobSucceeded":
                    break
    assert {job for job, _ in seen} == {mine}, seen
    assert seen[0][1] == "dev.jobstream.JobSubmitted"


def test_oidc_tokens_carry_the_principal_and_its_roles(keyed):
    # A gateway of its own that trusts the issuer, on the module's stream and view.
    stack, _ = keyed
    with LocalIssuer() as issuer:
        settings = dict(auth="oidc", oidc_issuer=issuer.url, oidc_audience=issuer.audience)
        with another_gateway(stack, **settings) as oidc:
            with client(oidc, issuer.mint("carol", ["submitter"])) as carol:
                created = submit(carol, "echo", {"message": "hi"})
                assert created.status_code == 201, created.text
            with client(oidc, issuer.mint("carol", ["submitter"], expires_in=-60)) as stale:
                _exception(stale.get("/jobs"), 401, "unauthenticated")
            with client(oidc, issuer.mint("dave", [])) as roleless:
                _exception(roleless.get("/jobs"), 403, "forbidden")
            with client(oidc, issuer.mint("erin", ["submitter"])) as erin:
                assert erin.get(f"/jobs/{created.json()['jobID']}").status_code == 404
        assert stack.events(created.json()["jobID"])[0].owner == "oidc:carol"  # type: ignore[attr-defined]


def test_the_clients_oidc_auth_gets_a_new_token_before_the_last_expires(keyed):
    stack, _ = keyed
    with LocalIssuer() as issuer:
        issuer.machines["nightly"] = ("s3cret", ["submitter"])
        issuer.machine_token_lifetime = 3
        settings = dict(auth="oidc", oidc_issuer=issuer.url, oidc_audience=issuer.audience)
        with another_gateway(stack, **settings) as url:
            auth = oidc_client_credentials(issuer.url, "nightly", "s3cret", early_expiry=1)
            with Client(url, auth=auth) as nightly:
                job = nightly.submit("count", {"n": 40, "interval": 0.1})
                # Polled for about 4 s: longer than a token lives.
                eventually(lambda: job.status().status == "successful", 30, "the job to end")
                assert job.results() == 40
    print(f"{issuer.machine_tokens} tokens of 3 s for a job of about 4 s")
    assert issuer.machine_tokens >= 2, "no token was renewed during the run"
    assert stack.events(job.id)[0].owner == "oidc:nightly"  # type: ignore[attr-defined]


def test_a_callers_backlog_holds_up_another_callers_job_by_one_run(make_stack):
    stack = make_stack(auth="apikey", executor_concurrency=2)
    stack.start(wait=False)
    stack.http.headers["Authorization"] = f"Bearer {stack.new_key('admin', 'admin')}"
    keys = {name: stack.new_key(name, "submitter") for name in ("alice", "bob")}
    stack.wait_ready(("hold", "echo"))
    with client(stack, keys["alice"]) as alice, client(stack, keys["bob"]) as bob:
        backlog = [submit(alice, "hold", {"seconds": 2}).json()["jobID"] for _ in range(40)]
        echo = submit(bob, "echo", {"message": "mine"}).json()["jobID"]
        stack.wait_job(echo, timeout=30)
        events = stack.events(echo)
        for job_id in backlog:
            alice.delete(f"/jobs/{job_id}")
    waited = next(e.time for e in events if e.type == "JobStarted") - events[0].time
    started = sum(e.type == "JobStarted" for j in backlog for e in stack.events(j))
    print(f"bob's echo started {waited.total_seconds():.1f} s after it was submitted")
    # Behind alice's jobs running on the two slots, not behind her forty (40 s of work).
    assert waited.total_seconds() < 2 + 2, waited
    assert started <= 6, started


def test_schedules_follow_the_roles_and_their_jobs_belong_to_the_owner(keyed):
    stack, keys = keyed
    spec = {"process": "echo", "inputs": {"message": "owned"}, "cron": "0 0 1 1 *"}
    with client(stack, keys["reader"]) as reader:
        refused = reader.post("/schedules", json=spec)
        assert refused.status_code == 403 and "submitter" in refused.json()["detail"]
    with client(stack, keys["alice"]) as alice, client(stack, keys["bob"]) as bob:
        created = alice.post("/schedules", json=spec)
        assert created.status_code == 201, created.text
        schedule = created.json()
        assert schedule["owner"] == "key:alice"
        url = f"/schedules/{schedule['id']}"
        # Bob may not see Alice's schedule, let alone change or run it.
        assert bob.get(url).status_code == 404
        assert bob.patch(url, json={"paused": True}).status_code == 404
        assert bob.post(f"{url}/trigger").status_code == 404
        assert schedule["id"] not in [s["id"] for s in bob.get("/schedules").json()["schedules"]]
        job = alice.post(f"{url}/trigger")
        assert job.status_code == 201, job.text
        job_id = job.json()["jobID"]
        assert bob.get(f"/jobs/{job_id}").status_code == 404
        assert alice.get(f"/jobs/{job_id}").status_code == 200
    with client(stack, keys["auditor"]) as auditor:
        assert auditor.get(url).status_code == 200
        assert auditor.patch(url, json={"paused": True}).status_code == 403
    # An operator (the admin) may change anyone's.
    assert stack.http.patch(url, json={"paused": True}).json()["paused"] is True
