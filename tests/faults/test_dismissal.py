"""Scenario 6: dismissal of a queued and of a running job, through another gateway than the
one that submitted, with the executor in a third process: neither completes."""

import time

from .conftest import final_events


def test_queued_and_running_jobs_dismissed_elsewhere_never_complete(make_stack):
    front = make_stack().start("projector", "gateway", wait=False)
    front.start_component("executor")
    front.wait_ready()
    # A second gateway on the same stream and view, as on another host.
    back = make_stack(database_url=front.database_url).start("gateway")

    running = front.submit("count", {"n": 400, "interval": 0.05})
    front.wait_job(running, statuses=("running",))
    front.stop("executor")
    queued = front.submit("echo", {"message": "never"})
    for job_id in (running, queued):
        response = back.http.delete(f"/jobs/{job_id}")
        assert response.status_code == 200 and response.json()["status"] == "dismissed"
    front.start_component("executor")  # the queued job is delivered now, and skipped
    marker = front.submit("echo", {"message": "after"})
    assert front.wait_job(marker)["status"] == "successful"
    time.sleep(1)
    finals = final_events(front.events())
    assert finals[running] == 0 and finals[queued] == 0
    assert [e.type for e in front.events(queued)] == ["JobSubmitted", "JobDismissed"]
    for job_id in (running, queued):
        assert front.wait_view(job_id, statuses=("dismissed",))
