"""Scenario 5: the projector SIGKILLed mid-run; after restart the view equals a fresh rebuild."""

import subprocess
import sys
import time

from sqlmodel import Session, select

from jobstream_projector.view import JobRow, create_view_engine

from ..support.stack import ROOT


def _rows(url: str) -> list[dict]:
    engine = create_view_engine(url)
    with Session(engine) as session:
        rows = [r.model_dump() for r in session.exec(select(JobRow).order_by(JobRow.job_id))]
    engine.dispose()
    return rows


def test_a_sigkilled_projector_catches_up_to_what_a_rebuild_gives(make_stack, tmp_path):
    stack = make_stack(projector_batch=20).start()
    ids = []
    for _ in range(4):
        ids += [stack.submit("count", {"n": 3, "interval": 0.01}) for _ in range(40)]
        time.sleep(0.3)
        stack.kill_one("projector")
        stack.start_component("projector")
    for job_id in ids:
        stack.wait_job(job_id, timeout=60)
    deadline = time.monotonic() + 60
    while (ready := stack.http.get("/ready").json())["projector_lag"] != 0:
        assert time.monotonic() < deadline, ready
        time.sleep(0.1)

    rebuilt = f"sqlite:///{tmp_path / 'rebuilt.sqlite'}"
    result = subprocess.run(
        [sys.executable, "-m", "jobstream", "projector", "rebuild"],
        env={**stack.env, "JOBSTREAM_DATABASE_URL": rebuilt},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    live, fresh = _rows(stack.database_url), _rows(rebuilt)
    assert len(live) == len(ids) and {r["status"] for r in live} == {"successful"}
    assert live == fresh
