"""For auditors: `jobstream events export` and `jobstream projector rebuild --until`, checked
against the view and against the contracts' fold, on a history with retries, failures and
dismissals."""

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from jobstream_contracts.cloudevents import event_of
from jobstream_contracts.fold import JobState, fold
from jobstream_infra.embedded import EmbeddedNats
from jobstream_projector.view import create_view_engine, get_job

from ..support.stack import Stack

FINAL = {"successful", "failed", "dismissed"}


def jobstream(stack, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "JOBSTREAM_NATS_URL": stack.nats_url}
    return subprocess.run(
        [sys.executable, "-m", "jobstream", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def export(stack, *args: str) -> list[dict]:
    done = jobstream(stack, "events", "export", *args)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """A stack whose history holds a success, retries, a failure, a refusal and dismissals."""
    workdir = tmp_path_factory.mktemp("audited")
    with EmbeddedNats(workdir / "nats") as server:
        stack = Stack(workdir, server.url).start()
        try:
            yield stack, _history(stack, workdir)
        finally:
            stack.close()


@pytest.fixture(scope="module")
def everything(audited) -> list[dict]:
    """The whole export of that history, once: the history no longer changes."""
    stack, _ = audited
    return export(stack)


def _history(stack: Stack, workdir: Path) -> list[str]:
    jobs = [
        stack.submit("echo", {"message": "plain"}),
        stack.submit("flaky", {"marker": str(workdir / "flaky"), "failures": 1}),
        stack.submit("fail", {"message": "always"}),
        stack.submit("refuse", {"message": "never"}),
        stack.submit("hold", {"seconds": 30}),
    ]
    stack.wait_job(jobs[4], statuses={"running"})
    stack.http.delete(f"/jobs/{jobs[4]}")
    finished = stack.submit("echo", {"message": "then withdrawn"})
    stack.wait_job(finished)
    stack.http.delete(f"/jobs/{finished}")
    jobs.append(finished)
    for job_id in jobs:
        stack.wait_view(job_id, statuses=FINAL)
    return jobs


def _fold_by_job(cloudevents: list[dict]) -> dict[str, JobState]:
    events = defaultdict(list)
    for cloudevent in cloudevents:
        events[cloudevent["subject"]].append(event_of(cloudevent)[1])
    folded = {job_id: fold(history) for job_id, history in events.items()}
    return {job_id: state for job_id, state in folded.items() if state is not None}


def test_folding_an_export_gives_the_views_statuses(audited, everything):
    stack, jobs = audited
    sequences = [e["sequence"] for e in everything]
    assert sequences == sorted(sequences) and len(sequences) == len(stack.events())
    folded = _fold_by_job(everything)
    listed = {
        job["jobID"]: job for job in stack.http.get("/jobs", params={"limit": 100}).json()["jobs"]
    }
    assert set(folded) == set(jobs) == set(listed)
    for job_id, state in folded.items():
        row = listed[job_id]
        assert (row["status"], row.get("message"), row.get("attempt")) == (
            state.status.value,
            state.message,
            state.attempt or None,
        ), job_id
    statuses = sorted(state.status.value for state in folded.values())
    assert statuses == ["dismissed", "dismissed", "failed", "failed", "successful", "successful"]


def test_an_export_is_bounded_by_job_and_by_sequence(audited, everything):
    stack, jobs = audited
    one = export(stack, "--job", jobs[1])
    assert [e["id"] for e in one] == [e["id"] for e in everything if e["subject"] == jobs[1]]
    middle = export(stack, "--since", "3", "--until", "7")
    assert [int(e["sequence"]) for e in middle] == [3, 4, 5, 6, 7]
    cut = everything[len(everything) // 2]["recorded"]
    until_instant = export(stack, "--until", cut)
    assert [e["id"] for e in until_instant] == [
        e["id"]
        for e in everything
        if datetime.fromisoformat(e["recorded"]) <= datetime.fromisoformat(cut)
    ]


@pytest.mark.parametrize("bound", ["sequence", "instant"])
def test_a_view_rebuilt_until_a_point_is_the_fold_up_to_it(audited, everything, tmp_path, bound):
    stack, jobs = audited
    middle = everything[len(everything) // 2]
    until = str(middle["sequence"]) if bound == "sequence" else middle["recorded"]
    url = f"sqlite:///{tmp_path / 'then.sqlite'}"
    done = jobstream(stack, "projector", "rebuild", "--until", until, "--database-url", url)
    assert done.returncode == 0, done.stderr
    expected = _fold_by_job([e for e in everything if e["sequence"] <= middle["sequence"]])
    engine = create_view_engine(url)
    try:
        for job_id in jobs:
            state, checkpoint = get_job(engine, job_id)
            assert checkpoint == int(middle["sequence"])
            assert state == expected.get(job_id), job_id
    finally:
        engine.dispose()
    live = stack.http.get("/jobs", params={"limit": 100}).json()["jobs"]
    assert {job["status"] for job in live} <= FINAL  # the live view was left alone


def test_rebuilding_an_earlier_view_over_the_live_one_is_refused(audited):
    stack, _ = audited
    done = jobstream(stack, "projector", "rebuild", "--until", "3")
    assert done.returncode != 0 and "--database-url" in done.stderr
