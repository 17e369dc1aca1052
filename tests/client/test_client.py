"""The Python client against real gateways, executors and projectors on a real nats-server."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from jobstream_client import (
    AsyncClient,
    Client,
    InvalidInput,
    InvalidParameter,
    JobDismissed,
    JobFailed,
    NoSuchJob,
    NoSuchProcess,
    NotFound,
    Unauthenticated,
)
from jobstream_contracts.events import JobSubmitted, JobSucceeded
from jobstream_contracts.ogc import StatusInfo
from jobstream_infra.embedded import free_port
from tests.support.stack import keyed_stack, wait_gateway
from tests.support.waiting import eventually

ERRORS = "https://jobstream.dev/errors"


@pytest.fixture
def client(stack):
    with Client(stack.url) as client:
        yield client


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """A stack with API keys on, and a submitter's key."""
    workdir = tmp_path_factory.mktemp("client-keyed")
    with keyed_stack(workdir, progress_interval=0.1) as (stack, _):
        stack.wait_ready(("echo", "count"))
        yield stack, stack.new_key("alice", "submitter")


def running(job, timeout: float = 10) -> StatusInfo:
    return eventually(
        lambda: (status := job.status()).status == "running" and status,
        timeout,
        f"job {job.id} running",
    )


def test_wait_reports_progress_as_it_grows_and_returns_the_success(client):
    seen: list[StatusInfo] = []
    job = client.submit("count", {"n": 10, "interval": 0.05})
    final = job.wait(progress=seen.append, timeout=30)
    assert final.status == "successful" and final.jobID == job.id
    done = [status.done for status in seen if status.status == "running" and status.done]
    assert len(done) >= 3 and done == sorted(set(done)), done  # each change once, in order
    assert seen[-1] == final
    assert job.results() == 10


def test_events_are_the_history_as_contracts_models_in_stream_order(client):
    job = client.submit("echo", {"message": "hello"})
    job.wait(timeout=30)
    history = job.events()
    assert isinstance(history[0].event, JobSubmitted)
    assert isinstance(history[-1].event, JobSucceeded)
    sequences = [entry.sequence for entry in history]
    assert sequences == sorted(set(sequences))
    assert job.results() == "hello"
    assert list(job.iter_events()) == history


def test_wait_with_progress_true_prints_one_line_on_stderr(client, capsys):
    client.submit("count", {"n": 3, "interval": 0.05}).wait(progress=True, timeout=30)
    printed = capsys.readouterr().err
    assert "count" in printed and "counted 3 of 3" in printed and "successful" in printed
    assert printed.endswith("\n") and "\r" in printed


def test_a_failing_job_raises_job_failed_with_its_error(client):
    job = client.submit("fail", {"message": "boom"})
    with pytest.raises(JobFailed) as failed:
        job.wait(timeout=30)
    assert failed.value.job is not None and failed.value.job.status == "failed"
    assert failed.value.error is not None and failed.value.error.detail == "boom"
    assert failed.value.type == f"{ERRORS}/job-failed"
    with pytest.raises(JobFailed, match="boom"):
        job.results()


def test_a_dismissed_running_job_ends_the_wait_with_job_dismissed(client):
    job = client.submit("count", {"n": 200, "interval": 0.05})
    running(job)
    assert job.dismiss().status == "dismissed"
    with pytest.raises(JobDismissed) as dismissed:
        job.wait(timeout=30)
    assert dismissed.value.job is not None and dismissed.value.job.status == "dismissed"
    with pytest.raises(JobDismissed):
        job.results()


def test_errors_are_typed_and_carry_the_ogc_exception(client):
    with pytest.raises(NoSuchProcess) as missing:
        client.submit("no-such-process", {})
    assert isinstance(missing.value, NotFound) and missing.value.status == 404
    assert missing.value.type.endswith("/no-such-process") and missing.value.title
    assert "no-such-process" in (missing.value.detail or "")
    with pytest.raises(InvalidInput) as invalid:
        client.submit("count", {"n": 0})
    assert invalid.value.status == 400 and invalid.value.field == "inputs.n"
    with pytest.raises(InvalidParameter) as parameter:
        client.jobs(status="bogus")
    assert parameter.value.field == "status"
    with pytest.raises(NoSuchJob):
        client.job("no-such-job")


def test_the_same_idempotency_key_is_the_same_job(client):
    first = client.submit("echo", {"message": "once"}, idempotency_key="client-test-once")
    again = client.submit("echo", {"message": "once"}, idempotency_key="client-test-once")
    assert first.id == again.id


def test_lists_and_descriptions(client):
    assert {"echo", "count"} <= {process.id for process in client.processes()}
    assert "n" in client.process("count").inputs
    job = client.submit("echo", {"message": "listed"})
    job.wait(timeout=30)
    eventually(
        lambda: job.id in {status.jobID for status in client.jobs(process="echo", limit=100)},
        10,
        "the job in the job list",
    )
    assert client.job(job.id).last.status == "successful"


async def test_the_async_client_submits_waits_and_dismisses(stack):
    async with AsyncClient(stack.url) as client:
        seen: list[StatusInfo] = []
        job = await client.submit("count", {"n": 5, "interval": 0.05})
        assert (await job.wait(progress=seen.append, timeout=30)).status == "successful"
        done = [s.done for s in seen if s.status == "running" and s.done]
        assert done and done == sorted(set(done)) and seen[-1].percent == 100
        assert await job.results() == 5
        history = await job.events()
        assert isinstance(history[-1].event, JobSucceeded)
        assert [recorded async for recorded in job.iter_events()] == history
        long = await client.submit("count", {"n": 200, "interval": 0.05})
        assert (await long.dismiss()).status == "dismissed"
        with pytest.raises(JobDismissed):
            await long.wait(timeout=30)
        with pytest.raises(NoSuchProcess):
            await client.submit("no-such-process", {})


def test_a_token_is_sent_and_no_token_is_unauthenticated(keyed, monkeypatch):
    stack, key = keyed
    with Client(stack.url) as anonymous, pytest.raises(Unauthenticated) as refused:
        anonymous.processes()
    assert refused.value.status == 401 and refused.value.type == f"{ERRORS}/unauthenticated"
    monkeypatch.setenv("JOBSTREAM_URL", stack.url)
    monkeypatch.setenv("JOBSTREAM_TOKEN", key)
    with Client() as alice:
        assert alice.submit("echo", {"message": "signed"}).wait(timeout=30).status == "successful"


def test_wait_long_polls_where_the_gateway_refuses_event_streams(keyed):
    stack, key = keyed
    port = free_port()
    gateway = stack.start_component("gateway", port=port, max_event_streams=1)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_gateway(url, gateway)
        with Client(url, token=key) as client, client.http.stream("GET", "/events") as taken:
            assert taken.status_code == 200  # the gateway's one stream
            sent: list[tuple[str, str | None]] = []
            client.http.event_hooks["request"].append(
                lambda request: sent.append((request.url.path, request.headers.get("Prefer")))
            )
            seen: list[StatusInfo] = []
            # 4 s: still running when the client, refused a stream, first long-polls, even on
            # a machine loaded enough to take a second over its first three requests (a CI run).
            job = client.submit("count", {"n": 20, "interval": 0.2})
            assert job.wait(progress=seen.append, timeout=30).status == "successful"
    finally:
        gateway.terminate()
        gateway.wait()
    assert sent[1] == (f"/jobs/{job.id}/events", None)  # refused: 503
    # A long-poll answers each change (20 steps): a loop of short polls would send hundreds.
    assert (f"/jobs/{job.id}", "wait=30") in sent[2:] and len(sent) < 30, sent
    done = [status.done for status in seen if status.status == "running" and status.done]
    assert len(done) >= 2 and done == sorted(set(done))


def test_wait_survives_a_gateway_restart(keyed):
    stack, key = keyed
    seen: list[StatusInfo] = []
    with Client(stack.url, token=key) as client, ThreadPoolExecutor(1) as pool:
        resumed_from: list[str | None] = []
        client.http.event_hooks["request"].append(
            lambda request: resumed_from.append(request.headers.get("Last-Event-ID"))
        )
        job = client.submit("count", {"n": 60, "interval": 0.1})
        waiting = pool.submit(job.wait, progress=seen.append, timeout=60)
        eventually(lambda: bool(seen and seen[-1].done), 30, "the job's first progress")
        stack.stop("gateway")
        before = seen[-1].done
        stack.start_component("gateway")
        stack.wait_ready(("echo", "count"))
        assert waiting.result(timeout=60).status == "successful"
    assert before is not None and before < 60, "the job ended before the gateway stopped"
    done = [status.done for status in seen if status.status == "running" and status.done]
    assert done == sorted(set(done)), done  # resumed where it stopped: nothing seen twice
    assert seen[-1].status == "successful" and seen[-1].done == 60
    # One stream from the start, then (after refused connections) one resumed where it broke.
    assert resumed_from[1] is None and resumed_from[-1] is not None, resumed_from


class KeyAuth(httpx.Auth):
    """An httpx.Auth as a caller writes one (OIDC's would refresh its token): counts its uses."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.used = 0

    def auth_flow(self, request: httpx.Request):
        self.used += 1
        request.headers["Authorization"] = f"Bearer {self.key}"
        yield request


def test_a_client_of_your_own_carries_the_auth_and_headers_and_stays_open(keyed):
    stack, key = keyed
    sent: list[httpx.Request] = []
    # No base URL: the client joins the service's URL to every path itself.
    mine = httpx.Client(event_hooks={"request": [sent.append]}, timeout=30)
    auth = KeyAuth(key)
    with Client(stack.url, http_client=mine, auth=auth, headers={"X-Request-Source": "nb"}) as c:
        job = c.submit("count", {"n": 5, "interval": 0.05})
        assert job.wait(timeout=30).status == "successful"
        assert job.results() == 5
    assert not mine.is_closed  # the caller's to close
    mine.close()
    assert len(sent) >= 3 and auth.used == len(sent)
    assert all(r.headers["X-Request-Source"] == "nb" for r in sent)
    assert all(r.headers["User-Agent"].startswith("jobstream-client/0.") for r in sent)


async def test_the_async_client_takes_a_client_of_your_own_too(keyed):
    stack, key = keyed
    async with httpx.AsyncClient(timeout=30) as mine:
        async with AsyncClient(stack.url, http_client=mine, auth=KeyAuth(key)) as client:
            job = await client.submit("echo", {"message": "mine"})
            assert (await job.wait(timeout=30)).status == "successful"
        assert not mine.is_closed


def test_iter_jobs_gives_every_job_once_across_pages(keyed):
    stack, key = keyed
    with Client(stack.url, token=key) as client:
        ids = {client.submit("echo", {"message": str(i)}).id for i in range(7)}

        def listed() -> list[str] | None:
            # The list is the view's, which the projector brings up to date a moment later.
            found = [job.jobID for job in client.iter_jobs(process="echo", page=3)]
            return found if ids <= set(found) else None

        found = eventually(listed, 30, "the jobs in the list")
    assert len(found) == len(set(found)) and len(found) >= 7


def test_a_job_submitted_at_a_lower_priority_goes_in_that_lane(client, stack):
    job = client.submit("echo", {"message": "later"}, priority="low")
    assert job.wait(timeout=30).status == "successful"
    submitted = next(e for e in stack.events(job.id) if isinstance(e, JobSubmitted))
    assert submitted.priority == "low" and submitted.subject.endswith(".submitted-low")
