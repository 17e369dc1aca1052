"""Node-loss test 3: two projectors on one view, one active and one standing by.

SIGKILL the active one mid-run: the standby takes over from the checkpoint within seconds
and the view equals a rebuild. SIGSTOP it past its lease's TTL, then SIGCONT: it finds its
lease gone and writes nothing more, so the new active one never finds the checkpoint moved
under it.
"""

import signal
import time

import pytest
from sqlmodel import Session

from jobstream_projector.view import VIEW_VERSION, ViewMeta, create_view_engine, read_checkpoint

from ..support.rebuild import job_rows, rebuilt_view, wait_projected
from ..support.stack import Stack

# Short, through the setting production uses: the standby polls every third of it.
LEASE_TTL = 1.5
ACTIVE = "projector active"
STANDING_BY = "projector standing by"
LOST = "projector lease lost"
MOVED = "checkpoint moved"
MIGRATING = "view written by another version"


def _log(stack: Stack, index: int) -> str:
    return (stack.logs / f"projector-{index}.log").read_text(errors="replace")


def _wait_log(stack: Stack, index: int, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in _log(stack, index):
        assert time.monotonic() < deadline, f"no {text!r} in:\n{_log(stack, index)}"
        time.sleep(0.05)


def _two_projectors(make_stack, **settings) -> Stack:
    """A stack whose first projector is active and whose second stands by."""
    stack = make_stack(projector_lease_ttl=LEASE_TTL, projector_batch=20, **settings)
    stack.start()
    _wait_log(stack, 0, ACTIVE)
    stack.start_component("projector")
    _wait_log(stack, 1, STANDING_BY)
    return stack


def _submit_long_run(stack: Stack) -> list[str]:
    """About ten seconds of progress events on the default four executor slots, returned once
    the active projector is folding them: mid-run."""
    before = _checkpoint(stack.database_url)
    ids = [stack.submit("count", {"n": 20, "interval": 0.05}) for _ in range(40)]
    _wait_checkpoint_past(stack.database_url, before)
    return ids


def _checkpoint(url: str) -> int:
    engine = create_view_engine(url)
    try:
        return read_checkpoint(engine)
    finally:
        engine.dispose()


def _wait_checkpoint_past(url: str, sequence: int, timeout: float = 30) -> float:
    """Seconds until the view's checkpoint passes ``sequence``."""
    start = time.monotonic()
    while _checkpoint(url) <= sequence:
        assert time.monotonic() - start < timeout, f"the view stayed at {sequence}"
        time.sleep(0.02)
    return time.monotonic() - start


def _assert_view_equals_a_rebuild(stack: Stack, ids: list[str], tmp_path) -> None:
    wait_projected(stack, ids)
    rebuilt = rebuilt_view(stack, tmp_path)
    live, fresh = job_rows(stack.database_url), job_rows(rebuilt)
    assert len(live) == len(ids) and {r["status"] for r in live} == {"successful"}
    assert live == fresh
    assert _checkpoint(stack.database_url) == _checkpoint(rebuilt)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_standby_takes_over_from_a_sigkilled_active_projector(
    make_stack, tmp_path, request, database
):
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    stack = _two_projectors(make_stack, database_url=url)
    ids = _submit_long_run(stack)

    stack.kill_one("projector", 0)
    at_kill = _checkpoint(stack.database_url)
    takeover = _wait_checkpoint_past(stack.database_url, at_kill)
    print(f"\nprojector takeover ({database}): {takeover:.2f} s after SIGKILL")

    # The dead holder's lease expires within a TTL; the standby looks every third of it.
    assert takeover < LEASE_TTL * 4 / 3 + 2.0
    assert ACTIVE in _log(stack, 1)
    _assert_view_equals_a_rebuild(stack, ids, tmp_path)
    # Nobody else wrote under the new holder: no event was offered to the view twice.
    assert MOVED not in _log(stack, 1)


def test_a_projector_stopped_past_its_lease_writes_nothing_after_it(make_stack, tmp_path):
    stack = _two_projectors(make_stack)
    ids = _submit_long_run(stack)
    stalled = stack.processes["projector"][0]

    stalled.send_signal(signal.SIGSTOP)
    try:
        _wait_log(stack, 1, ACTIVE, timeout=LEASE_TTL * 4 / 3 + 5.0)
        _wait_checkpoint_past(stack.database_url, _checkpoint(stack.database_url))
    finally:
        stalled.send_signal(signal.SIGCONT)

    _wait_log(stack, 0, LOST, timeout=LEASE_TTL + 5.0)
    _assert_view_equals_a_rebuild(stack, ids, tmp_path)
    # Had the stalled one written after it resumed, the active one's next commit would have
    # found the checkpoint moved under it (and the stalled one, its own).
    assert MOVED not in _log(stack, 1)
    assert MOVED not in _log(stack, 0)
    assert stalled.poll() is None, "the stalled projector should stand by, not exit"
    assert _log(stack, 0).count(STANDING_BY) == 1  # back to standing by, after the loss


def _stamp_view_version(url: str, version: int) -> None:
    engine = create_view_engine(url)
    try:
        with Session(engine) as session, session.begin():
            session.merge(ViewMeta(name="jobs", version=version))
    finally:
        engine.dispose()


def test_a_standby_of_a_newer_version_migrates_only_once_it_holds_the_lease(make_stack, tmp_path):
    """A rolling upgrade: the view says an older version writes it. The new projector starting
    beside the active one stands by without dropping those tables, and replays into its own
    only after taking over."""
    stack = make_stack(projector_lease_ttl=LEASE_TTL)
    stack.start()
    _wait_log(stack, 0, ACTIVE)
    ids = [stack.submit("echo", {"message": str(n)}) for n in range(20)]
    wait_projected(stack, ids)
    _stamp_view_version(stack.database_url, VIEW_VERSION - 1)

    stack.start_component("projector")
    _wait_log(stack, 1, STANDING_BY)
    time.sleep(LEASE_TTL)
    assert len(job_rows(stack.database_url)) == len(ids)
    assert MIGRATING not in _log(stack, 1)

    stack.kill_one("projector", 0)
    _wait_log(stack, 1, MIGRATING, timeout=LEASE_TTL * 4 / 3 + 5.0)
    _assert_view_equals_a_rebuild(stack, ids, tmp_path)
