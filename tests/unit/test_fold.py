"""The job fold: (state, event) -> state, and the rules that make replays safe."""

from datetime import UTC, datetime, timedelta
from typing import TypedDict

import pytest

from jobstream_contracts.events import (
    ErrorInfo,
    JobDismissed,
    JobFailed,
    JobProgressed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.fold import JobState, apply, fold
from jobstream_contracts.ogc import StatusCode

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class _Job(TypedDict):
    job_id: str
    process_id: str


JOB: _Job = {"job_id": "job-1", "process_id": "echo"}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def submitted(t=0):
    return JobSubmitted(time=at(t), inputs={"x": 1}, outputs={"y": {}}, response="document", **JOB)


def started(t=1, attempt=1):
    return JobStarted(time=at(t), attempt=attempt, executor="executor-a", **JOB)


def progressed(
    t=2,
    attempt=1,
    done: float | None = 3.0,
    total: float | None = 4.0,
    message: str | None = "3 of 4",
):
    return JobProgressed(
        time=at(t), attempt=attempt, done=done, total=total, message=message, **JOB
    )


def succeeded(t=3, attempt=1, results=None):
    return JobSucceeded(
        time=at(t), attempt=attempt, results={"y": 42} if results is None else results, **JOB
    )


def failed(t=3, attempt=1, detail="boom"):
    return JobFailed(
        time=at(t), attempt=attempt, error=ErrorInfo(type="ValueError", detail=detail), **JOB
    )


def dismissed(t=4, reason="dismissed by request"):
    return JobDismissed(time=at(t), reason=reason, **JOB)


def running_state(done=None, total=None, status=StatusCode.RUNNING) -> JobState:
    return JobState(
        job_id="job-1",
        process_id="echo",
        status=status,
        created=at(0),
        updated=at(1),
        done=done,
        total=total,
    )


# --- the lifecycle ------------------------------------------------------------------------


def test_fold_of_no_events_is_none():
    assert fold([]) is None


def test_fold_of_no_events_keeps_the_given_state():
    state = fold([submitted()])
    assert fold([], state) is state


def test_a_submission_creates_an_accepted_job():
    state = fold([submitted()])
    assert state is not None
    assert state.job_id == "job-1"
    assert state.process_id == "echo"
    assert state.status == StatusCode.ACCEPTED
    assert state.created == at(0)
    assert state.updated == at(0)
    assert state.started is None
    assert state.finished is None
    assert state.attempt == 0
    assert state.inputs == {"x": 1}
    assert state.outputs == {"y": {}}
    assert state.response == "document"
    assert state.results is None
    assert state.percent is None
    assert state.progress is None
    assert not state.is_final


def test_a_start_makes_the_job_running():
    state = fold([submitted(), started(t=1)])
    assert state is not None
    assert state.status == StatusCode.RUNNING
    assert state.started == at(1)
    assert state.updated == at(1)
    assert state.created == at(0)
    assert state.attempt == 1
    assert state.finished is None
    assert not state.is_final


def test_a_full_lifecycle_ends_successful_with_results():
    state = fold([submitted(), started(t=1), progressed(t=2), succeeded(t=3)])
    assert state is not None
    assert state.status == StatusCode.SUCCESSFUL
    assert state.created == at(0)
    assert state.started == at(1)
    assert state.finished == at(3)
    assert state.updated == at(3)
    assert state.attempt == 1
    assert state.results == {"y": 42}
    assert state.error is None
    assert state.is_final


def test_success_without_a_start_event_sets_started_to_the_finish_time():
    state = fold([submitted(), succeeded(t=3)])
    assert state is not None
    assert state.started == at(3)
    assert state.finished == at(3)


def test_a_first_event_other_than_submitted_still_creates_the_job():
    state = fold([started(t=1)])
    assert state is not None
    assert state.status == StatusCode.RUNNING
    assert state.created == at(1)
    assert state.inputs == {}


def test_a_late_submission_event_does_not_reset_a_running_job():
    state = fold([started(t=1), submitted(t=0)])
    assert state is not None
    assert state.status == StatusCode.RUNNING
    assert state.created == at(0)
    assert state.inputs == {"x": 1}
    assert state.started == at(1)


def test_apply_does_not_change_the_state_it_is_given():
    before = fold([submitted()])
    assert before is not None
    apply(before, started())
    assert before.status == StatusCode.ACCEPTED
    assert before.started is None


# --- progress -----------------------------------------------------------------------------


def test_progress_records_done_total_and_message():
    state = fold([submitted(), started(t=1), progressed(t=2, done=3, total=4, message="3 of 4")])
    assert state is not None
    assert state.status == StatusCode.RUNNING
    assert state.done == 3.0
    assert state.total == 4.0
    assert state.message == "3 of 4"
    assert state.updated == at(2)
    assert state.percent == 75.0
    assert state.progress == 75


def test_progress_before_a_start_event_starts_the_job():
    state = fold([submitted(), progressed(t=2)])
    assert state is not None
    assert state.status == StatusCode.RUNNING
    assert state.started == at(2)


def test_a_later_progress_replaces_the_earlier_one():
    state = fold(
        [
            submitted(),
            started(),
            progressed(t=2, done=1, total=4, message="one"),
            progressed(t=3, done=None, total=None, message=None),
        ]
    )
    assert state is not None
    assert state.done is None
    assert state.total is None
    assert state.message is None
    assert state.percent is None
    assert state.updated == at(3)


@pytest.mark.parametrize(
    ("done", "total", "percent", "progress"),
    [
        (3, 4, 75.0, 75),
        (0, 4, 0.0, 0),
        (4, 4, 100.0, 100),
        (2, 3, pytest.approx(66.6667, abs=1e-3), 66),  # progress truncates, never rounds up
        (5, 4, 100.0, 100),  # clamped above
        (-1, 4, 0.0, 0),  # clamped below
        (None, 4, None, None),  # nothing done yet
        (3, None, None, None),  # total missing
        (3, 0, None, None),  # total zero
    ],
)
def test_percent_and_integer_progress_follow_done_over_total(done, total, percent, progress):
    state = running_state(done=done, total=total)
    assert state.percent == percent
    assert state.progress == progress


def test_percent_is_100_when_successful_even_without_progress_reports():
    state = fold([submitted(), started(), succeeded()])
    assert state is not None
    assert state.done is None
    assert state.percent == 100.0
    assert state.progress == 100


def test_percent_is_100_when_successful_even_if_progress_stopped_short():
    state = fold([submitted(), started(), progressed(done=1, total=4), succeeded()])
    assert state is not None
    assert state.percent == 100.0


def test_percent_of_a_failed_job_stays_where_progress_stopped():
    state = fold([submitted(), started(), progressed(done=1, total=4), failed()])
    assert state is not None
    assert state.percent == 25.0


# --- idempotency and replays -------------------------------------------------------------

HISTORY_BEFORE = {
    "submitted": ([], submitted()),
    "started": ([submitted()], started()),
    "progressed": ([submitted(), started()], progressed()),
    "succeeded": ([submitted(), started(), progressed()], succeeded()),
    "failed": ([submitted(), started(), progressed()], failed()),
    "dismissed": ([submitted(), started()], dismissed()),
}


@pytest.mark.parametrize("token", sorted(HISTORY_BEFORE))
def test_applying_an_event_twice_gives_the_same_state_as_once(token):
    history, event = HISTORY_BEFORE[token]
    before = fold(history)
    once = apply(before, event)
    assert once != before  # the event did something
    assert apply(once, event) == once


@pytest.mark.parametrize("token", sorted(HISTORY_BEFORE))
def test_each_event_type_carries_its_token(token):
    _, event = HISTORY_BEFORE[token]
    assert event.token == token


HISTORIES = {
    "success": [
        submitted(),
        started(t=1),
        progressed(t=2),
        progressed(t=3, done=4),
        succeeded(t=4),
    ],
    "failure": [submitted(), started(t=1), progressed(t=2), failed(t=3)],
    "redelivery": [
        submitted(),
        started(t=1),
        progressed(t=2, done=1),
        started(t=5, attempt=2),
        progressed(t=6, attempt=2, done=2),
        succeeded(t=7, attempt=2),
    ],
    "still running": [submitted(), started(t=1), progressed(t=2, done=1), progressed(t=3, done=2)],
    "dismissed after success": [submitted(), started(t=1), succeeded(t=3), dismissed(t=4)],
}


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_replaying_any_suffix_of_folded_events_gives_the_same_state(name):
    events = HISTORIES[name]
    state = fold(events)
    for start in range(len(events)):
        assert fold(events[start:], state) == state, f"replay from event {start}"


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_folding_the_history_twice_gives_the_same_state(name):
    events = HISTORIES[name]
    assert fold(events + events) == fold(events)


# --- final states -------------------------------------------------------------------------


def test_failure_after_success_is_ignored():
    state = fold([submitted(), started(), succeeded(t=3), failed(t=5)])
    assert state is not None
    assert state.status == StatusCode.SUCCESSFUL
    assert state.results == {"y": 42}
    assert state.error is None
    assert state.finished == at(3)
    assert state.updated == at(3)


def test_success_after_failure_is_ignored():
    state = fold([submitted(), started(), failed(t=3), succeeded(t=5)])
    assert state is not None
    assert state.status == StatusCode.FAILED
    assert state.results is None
    assert state.error == {"type": "ValueError", "detail": "boom"}
    assert state.finished == at(3)


LATE_EVENTS = [
    started(t=10, attempt=2),
    progressed(t=10, attempt=2, done=1, total=2, message="late"),
    succeeded(t=10, attempt=2, results={"y": "other"}),
    failed(t=10, attempt=2, detail="late failure"),
]


@pytest.mark.parametrize("late", LATE_EVENTS, ids=lambda e: e.token)
def test_events_after_success_are_ignored(late):
    final = fold([submitted(), started(), succeeded()])
    assert apply(final, late) == final


@pytest.mark.parametrize("late", LATE_EVENTS, ids=lambda e: e.token)
def test_events_after_failure_are_ignored(late):
    final = fold([submitted(), started(), failed()])
    assert apply(final, late) == final


def test_a_failed_job_keeps_the_error_and_its_detail_as_message():
    state = fold([submitted(), started(t=1), failed(t=3, detail="division by zero")])
    assert state is not None
    assert state.status == StatusCode.FAILED
    assert state.error == {"type": "ValueError", "detail": "division by zero"}
    assert state.message == "division by zero"
    assert state.finished == at(3)
    assert state.updated == at(3)
    assert state.results is None
    assert state.is_final


# --- dismissal ----------------------------------------------------------------------------


def test_dismissal_after_success_withdraws_the_results():
    state = fold(
        [submitted(), started(t=1), succeeded(t=3), dismissed(t=4, reason="no longer needed")]
    )
    assert state is not None
    assert state.status == StatusCode.DISMISSED
    assert state.results is None
    assert state.message == "no longer needed"
    assert state.finished == at(3)  # when it actually ended
    assert state.updated == at(4)
    assert state.is_final


def test_dismissal_after_failure_keeps_the_error():
    state = fold([submitted(), started(), failed(t=3), dismissed(t=4)])
    assert state is not None
    assert state.status == StatusCode.DISMISSED
    assert state.error == {"type": "ValueError", "detail": "boom"}
    assert state.message == "dismissed by request"


def test_dismissal_of_an_accepted_job_finishes_it_at_the_dismissal_time():
    state = fold([submitted(), dismissed(t=4)])
    assert state is not None
    assert state.status == StatusCode.DISMISSED
    assert state.finished == at(4)
    assert state.updated == at(4)
    assert state.started is None


@pytest.mark.parametrize(
    "late",
    [*LATE_EVENTS, dismissed(t=20, reason="again"), submitted(t=20)],
    ids=lambda e: e.token,
)
def test_dismissal_is_sticky(late):
    state = fold([submitted(), started(), dismissed(t=4)])
    assert apply(state, late) == state
    assert apply(state, late).status == StatusCode.DISMISSED


# --- attempts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "zombie",
    [
        started(t=8, attempt=1),
        progressed(t=8, attempt=1, done=4, total=4, message="zombie"),
    ],
    ids=lambda e: e.token,
)
def test_non_final_events_of_an_older_attempt_are_ignored(zombie):
    state = fold([submitted(), started(t=1, attempt=1), started(t=5, attempt=2)])
    assert apply(state, zombie) == state
    assert apply(state, zombie).attempt == 2


def test_a_redelivery_raises_the_attempt_but_keeps_the_first_start_time():
    state = fold([submitted(), started(t=1, attempt=1), started(t=5, attempt=2)])
    assert state is not None
    assert state.status == StatusCode.RUNNING
    assert state.attempt == 2
    assert state.started == at(1)
    assert state.updated == at(5)


def test_the_first_final_event_stands_whatever_its_attempt():
    # Executors append a final event only onto the history they know, so a stream holds at
    # most one; if an older attempt's executor wrote it, it still ends the job (a fold that
    # dropped it would leave the job running forever).
    state = fold(
        [
            submitted(),
            started(t=1, attempt=1),
            started(t=5, attempt=2),
            succeeded(t=6, attempt=1, results={"y": "first"}),
            succeeded(t=7, attempt=2, results={"y": "second"}),
        ]
    )
    assert state is not None
    assert state.status == StatusCode.SUCCESSFUL
    assert state.results == {"y": "first"}
    assert state.finished == at(6)
    assert state.attempt == 2
