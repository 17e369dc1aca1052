"""A full store: the embedded server's size cap reached, the gateway answers 503 with
Retry-After, and every job it accepted stays in the stream, across a restart too."""

import httpx

from jobstream_contracts.events import JobSubmitted
from jobstream_infra.embedded import EmbeddedNats

from ..support.stack import Stack

# Each submission is an event of about this size: the cap is reached within a few dozen.
MESSAGE = "x" * 50_000


def _submit_until_refused(stack: Stack, limit: int = 200) -> tuple[list[str], httpx.Response]:
    accepted = []
    for _ in range(limit):
        response = stack.http.post(
            "/processes/echo/execution",
            json={"inputs": {"message": MESSAGE}},
            headers={"Prefer": "respond-async"},
        )
        if response.status_code != 201:
            return accepted, response
        accepted.append(response.json()["jobID"])
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
            accepted, refused = _submit_until_refused(stack)

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
