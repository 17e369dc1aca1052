"""The fold of a job created before it runs (OGC API - Processes - Part 4): created until its
submission, changed only while created, replay-safe like every other job."""

from jobstream_contracts.events import (
    JobChanged,
    JobCreated,
    JobDismissed,
    JobStarted,
    JobSubmitted,
)
from jobstream_contracts.fold import fold
from jobstream_contracts.ogc import Priority, StatusCode

from .test_fold import JOB, at


def created(t=0, message="first"):
    return JobCreated(time=at(t), inputs={"message": message}, owner="alice", **JOB)


def changed(t=1, message="second"):
    return JobChanged(
        time=at(t), inputs={"message": message}, owner="alice", priority=Priority.LOW, **JOB
    )


def submitted(t=2, message="second"):
    return JobSubmitted(time=at(t), inputs={"message": message}, owner="alice", **JOB)


def test_a_created_job_is_created_with_its_request_and_owner():
    state = fold([created()])
    assert state is not None
    assert state.status == StatusCode.CREATED
    assert state.inputs == {"message": "first"}
    assert state.owner == "alice"
    assert state.created == state.updated == at(0)
    assert state.started is None and not state.is_final


def test_a_change_replaces_the_request_and_keeps_the_creation_time():
    state = fold([created(), changed()])
    assert state is not None
    assert state.status == StatusCode.CREATED
    assert state.inputs == {"message": "second"}
    assert state.priority == "low"
    assert (state.created, state.updated) == (at(0), at(1))


def test_the_submission_starts_it_accepted_created_when_it_was_defined():
    state = fold([created(), changed(), submitted()])
    assert state is not None
    assert state.status == StatusCode.ACCEPTED
    assert (state.created, state.updated) == (at(0), at(2))
    assert state.inputs == {"message": "second"}


def test_a_definition_after_the_start_changes_nothing():
    events = [created(), submitted(t=2, message="first")]
    late = changed(t=3, message="too late")
    assert fold([*events, late]) == fold(events)
    running = [*events, JobStarted(time=at(4), attempt=1, executor="x", **JOB)]
    state = fold([*running, late])
    assert state is not None
    assert state.status == StatusCode.RUNNING and state.inputs == {"message": "first"}


def test_replaying_a_created_jobs_events_changes_nothing():
    events = [created(), changed(), submitted()]
    once = fold(events)
    assert fold(events, once) == once
    assert fold([*events, *events]) == once


def test_a_dismissed_created_job_never_started():
    state = fold([created(), JobDismissed(time=at(5), by="alice", **JOB)])
    assert state is not None
    assert state.status == StatusCode.DISMISSED
    assert state.started is None and state.finished == at(5)
    assert fold([submitted(t=6)], state) == state


def test_a_part_1_job_is_still_accepted_from_its_submission():
    state = fold([submitted(t=0)])
    assert state is not None
    assert state.status == StatusCode.ACCEPTED
    assert state.created == state.updated == at(0)
