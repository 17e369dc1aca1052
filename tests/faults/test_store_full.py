"""A full store: the embedded server's size cap reached, the gateway answers 503 with
Retry-After, and every job it accepted stays in the stream, across a restart too. A gateway
that knows the store's size keeps its reserve from callers: their submissions are refused
first, while outcomes and an operator's job still fit."""

from collections.abc import Callable

import httpx

from jobstream_contracts.events import JobSubmitted
from jobstream_infra.embedded import EmbeddedNats

from ..support.stack import Stack

# Each submission is an event of about this size: the cap is reached within a few dozen.
MESSAGE = "x" * 50_000


def _submit_until_refused(
    http: httpx.Client, limit: int = 200, then: Callable[[str], object] = lambda job_id: None
) -> tuple[list[str], httpx.Response]:
    """Submit echoes of MESSAGE, each followed by ``then(its job id)``, until one is refused."""
    accepted = []
    for _ in range(limit):
        response = http.post(
            "/processes/echo/execution",
            json={"inputs": {"message": MESSAGE}},
            headers={"Prefer": "respond-async"},
        )
        if response.status_code != 201:
            return accepted, response
        accepted.append(response.json()["jobID"])
        then(accepted[-1])
    raise AssertionError(f"{limit} jobs of {len(MESSAGE)} bytes fit in the capped store")


def _submitted(stack: Stack) -> set[str]:
    return {event.job_id for event in stack.events() if isinstance(event, JobSubmitted)}


def test_a_full_store_answers_503_and_keeps_every_accepted_job(tmp_path):
    with EmbeddedNats(tmp_path / "nats", max_store="1M") as server:
        stack = Stack(tmp_path / "stack", server.url, credentials=server.credentials)
        try:
            # The executor announces echo, then leaves: the store fills with submissions only.
            stack.start("executor", "gateway")
            stack.stop("executor")
            accepted, refused = _submit_until_refused(stack.http)

            assert len(accepted) >= 5
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"].isdigit()
            body = refused.json()
            assert body["status"] == 503 and body["type"].endswith("/service-unavailable")
            assert "event store is full" in body["detail"]
            assert set(accepted) <= _submitted(stack)

            stack.stop()
            server.stop()
            server.start()
            assert set(accepted) <= _submitted(stack)
        finally:
            stack.close()


def test_the_reserve_keeps_room_for_outcomes_and_an_operators_job(tmp_path):
    with EmbeddedNats(tmp_path / "nats", max_store="2M") as server:
        # The gateway told the store's size, as `jobstream up` tells it; a quarter kept.
        stack = Stack(
            tmp_path / "stack",
            server.url,
            None,
            server.credentials,
            auth="apikey",
            store_capacity="2M",
            store_reserve=0.25,
        )
        try:
            stack.start(wait=False)
            stack.http.headers["Authorization"] = f"Bearer {stack.new_key('olivia', 'operator')}"
            stack.wait_ready(("echo",))
            alice = stack.new_key("alice", "submitter")
            with httpx.Client(
                base_url=stack.url, timeout=30, headers={"Authorization": f"Bearer {alice}"}
            ) as client:
                # One job at a time, as a backfill's driver would: each outcome is in the
                # store before the next submission is checked.
                accepted, refused = _submit_until_refused(client, then=stack.wait_job)
            body = refused.json()
            assert refused.status_code == 503 and body["type"].endswith("/store-reserved"), body
            assert body["capacityBytes"] == 2 * 1024**2 and len(accepted) >= 5
            assert all(stack.wait_job(job_id)["status"] == "successful" for job_id in accepted)

            # The reserve still holds an operator's job and its outcome.
            operators = stack.submit("echo", {"message": MESSAGE})
            assert stack.wait_job(operators)["status"] == "successful"
        finally:
            stack.close()
