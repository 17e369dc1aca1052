"""Scenario 7: one Idempotency-Key sent 50 times at once, and again after a full restart of
every component and the nats-server: one job."""

from concurrent.futures import ThreadPoolExecutor

import httpx


def test_one_key_is_one_job_concurrently_and_across_restarts(make_stack, nats_server):
    stack = make_stack().start()
    body = {"inputs": {"message": "exactly once"}}
    headers = {"Prefer": "respond-async", "Idempotency-Key": "backfill-2026-11"}

    def submit(_: int) -> httpx.Response:
        with httpx.Client(base_url=stack.url, timeout=30) as client:
            return client.post("/processes/echo/execution", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(submit, range(50)))
    assert {r.status_code for r in responses} == {201}
    job_ids = {r.json()["jobID"] for r in responses}
    assert len(job_ids) == 1
    (job_id,) = job_ids
    assert stack.wait_job(job_id)["status"] == "successful"

    stack.stop()
    nats_server.stop()
    nats_server.start()
    stack.start()
    again = stack.http.post("/processes/echo/execution", json=body, headers=headers)
    assert again.status_code == 201 and again.json()["jobID"] == job_id
    assert again.json()["status"] == "successful"
    types = [e.type for e in stack.events(job_id)]
    assert types.count("JobSubmitted") == 1 and types.count("JobSucceeded") == 1
