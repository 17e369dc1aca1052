"""A stalled executor (SIGSTOP: no heartbeats) loses its job to another delivery; when it wakes
(SIGCONT) it notices the newer attempt and stops without writing or acking: one final event."""

import signal
import time

from .conftest import final_events


def test_a_woken_zombie_executor_leaves_the_job_to_its_new_delivery(make_stack):
    stack = make_stack(ack_wait=2).start("projector", "gateway", wait=False)
    first = stack.start_component("executor")
    stack.wait_ready()
    job_id = stack.submit("count", {"n": 40, "interval": 0.1})
    stack.wait_job(job_id, statuses=("running",))
    first.send_signal(signal.SIGSTOP)
    try:
        stack.start_component("executor")
        status = stack.wait_job(job_id, statuses=("running",))
        deadline = time.monotonic() + 20
        while status["attempt"] < 2:
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
            status = stack.http.get(f"/jobs/{job_id}").json()
    finally:
        first.send_signal(signal.SIGCONT)
    status = stack.wait_job(job_id, timeout=30)
    assert status["status"] == "successful" and status["attempt"] == 2
    time.sleep(1)
    events = stack.events(job_id)
    assert final_events(events)[job_id] == 1
    winner = next(e for e in events if e.type == "JobSucceeded")
    assert winner.attempt == 2
    assert "a newer delivery of this job runs elsewhere" in stack.log("executor")
