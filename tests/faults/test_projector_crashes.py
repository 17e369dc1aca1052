"""Scenario 5: the projector SIGKILLed mid-run; after restart the view equals a fresh rebuild."""

import time

from ..support.rebuild import job_rows, rebuilt_view, wait_projected


def test_a_sigkilled_projector_catches_up_to_what_a_rebuild_gives(make_stack, tmp_path):
    stack = make_stack(projector_batch=20).start()
    ids = []
    for _ in range(4):
        ids += [stack.submit("count", {"n": 3, "interval": 0.01}) for _ in range(40)]
        time.sleep(0.3)
        stack.kill_one("projector")
        stack.start_component("projector")
    wait_projected(stack, ids)

    live, fresh = job_rows(stack.database_url), job_rows(rebuilt_view(stack, tmp_path))
    assert len(live) == len(ids) and {r["status"] for r in live} == {"successful"}
    assert live == fresh
