"""Schedules: what a caller may write, the fold of a schedule's events, the id of a firing's
job, and what each firing of the clock decides (catch-up, overlap, redelivery)."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from jobstream_contracts.cadence import Cadence
from jobstream_contracts.events import EventDecodeError
from jobstream_contracts.schedule_events import (
    KEPT_FIRINGS,
    RECORDED_ONE_BY_ONE,
    FiringDecision,
    PreviousJob,
    ScheduleChanged,
    ScheduleCreated,
    ScheduleDeleted,
    ScheduleEvent,
    ScheduleFired,
    SchedulePaused,
    ScheduleResumed,
    ScheduleSkipped,
    ScheduleState,
    apply_schedule,
    decide_firing,
    decode_schedule_event,
    firing_job_id,
    fold_schedule,
)
from jobstream_contracts.schedules import CatchUp, Firing, FiringCause, Overlap, ScheduleSpec

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def at(minutes: float) -> datetime:
    """``minutes`` after T0: the instants of a schedule every minute created at T0."""
    return T0 + timedelta(minutes=minutes)


def spec(**members) -> ScheduleSpec:
    return ScheduleSpec.model_validate({"process": "echo", "every": "1m", **members})


def created(**members) -> ScheduleCreated:
    return ScheduleCreated(schedule_id="s1", time=T0, spec=spec(**members), owner="alice")


def fired(minute: float, job_id: str | None = None, cause: FiringCause = "clock") -> ScheduleFired:
    return ScheduleFired(
        schedule_id="s1",
        time=at(minute) + SECOND,
        instant=at(minute),
        job_id=job_id or f"job-{minute}",
        cause=cause,
    )


def skipped(minute: float, reason="overlap", cause: FiringCause = "clock") -> ScheduleSkipped:
    return ScheduleSkipped(
        schedule_id="s1", time=at(minute) + SECOND, instant=at(minute), reason=reason, cause=cause
    )


def state_of(*events: ScheduleEvent, **members) -> ScheduleState:
    state = fold_schedule([created(**members), *events])
    assert state is not None
    return state


def instants(skips: list[ScheduleSkipped]) -> list[datetime]:
    return [s.instant for s in skips]


# --- what a caller may write ----------------------------------------------------------------


def test_a_spec_takes_the_api_names_and_defaults_to_skip_overlap_and_the_latest_catch_up():
    written = ScheduleSpec.model_validate(
        {"process": "echo", "cron": "0 * * * *", "catchUp": "all", "catchUpLimit": 3}
    )
    assert written.catch_up is CatchUp.ALL and written.catch_up_limit == 3
    assert written.model_dump(by_alias=True)["catchUp"] == "all"
    default = spec()
    assert default.overlap is Overlap.SKIP
    assert default.catch_up is CatchUp.LATEST
    assert default.catch_up_limit == 10
    assert default.timezone == "UTC" and not default.paused and default.id is None


@pytest.mark.parametrize(
    "members",
    [
        {},
        {"cron": "0 * * * *", "every": "1h"},
        {"every": "1h", "onDatasetUpdated": "era5"},
    ],
    ids=["neither", "both", "clock-and-trigger"],
)
def test_a_spec_has_exactly_one_of_cron_every_and_a_trigger(members):
    with pytest.raises(ValidationError, match="give exactly one of cron, every and onDataset"):
        ScheduleSpec.model_validate({"process": "echo", **members})


@pytest.mark.parametrize("end", [T0, T0 - SECOND, T0 - timedelta(days=1)])
def test_a_spec_ends_after_it_starts(end):
    with pytest.raises(ValidationError, match="end must be after start"):
        spec(start=T0, end=end)


def test_an_end_after_the_start_in_another_zone_is_after_it():
    end = (T0 + SECOND).astimezone(ZoneInfo("America/New_York"))
    assert spec(start=T0, end=end).end == end


@pytest.mark.parametrize("member", ["start", "end"])
def test_a_time_without_a_zone_offset_is_refused(member):
    with pytest.raises(ValidationError, match="give a time zone offset") as refused:
        spec(**{member: "2027-01-01T00:00:00"})
    assert refused.value.errors()[0]["loc"] == (member,)


def test_a_member_the_spec_does_not_know_is_refused():
    with pytest.raises(ValidationError) as refused:
        spec(colour="red")
    assert refused.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize(
    ("members", "field"),
    [
        ({"cron": "61 * * * *", "every": None}, "cron"),
        ({"every": "soon"}, "every"),
        ({"every": "0s"}, "every"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"process": "no such/process"}, "process"),
        ({"overlap": "sometimes"}, "overlap"),
        ({"catchUp": "never"}, "catchUp"),
        ({"catchUpLimit": 0}, "catchUpLimit"),
        ({"catchUpLimit": 1001}, "catchUpLimit"),
    ],
)
def test_a_bad_member_is_refused_naming_it(members, field):
    with pytest.raises(ValidationError) as refused:
        spec(**members)
    assert [error["loc"] for error in refused.value.errors()] == [(field,)]


@pytest.mark.parametrize("schedule_id", ["nightly", "n", "Nightly-ingest_2", "a" * 64])
def test_an_id_is_a_token_of_letters_digits_dashes_and_underscores(schedule_id):
    assert spec(id=schedule_id).id == schedule_id


@pytest.mark.parametrize("schedule_id", ["", "-nightly", "_n", "a.b", "a b", "a*", "a>", "a" * 65])
def test_an_id_that_is_no_subject_token_is_refused(schedule_id):
    with pytest.raises(ValidationError) as refused:
        spec(id=schedule_id)
    assert refused.value.errors()[0]["loc"] == ("id",)


def clock_of(written: ScheduleSpec) -> Cadence:
    cadence = written.cadence(T0)
    assert cadence is not None
    return cadence


def test_a_dataset_update_trigger_has_no_clock():
    assert spec(every=None, onDatasetUpdated="era5").cadence(T0) is None


def test_an_intervals_cadence_counts_from_the_creation_without_a_start():
    assert clock_of(spec(every="1h")).upcoming(T0, 2) == [at(60), at(120)]


def test_an_intervals_cadence_counts_from_its_start():
    assert clock_of(spec(every="1h", start=at(30))).upcoming(T0, 2) == [at(30), at(90)]


def test_a_crons_cadence_is_in_its_zone_and_fires_from_its_start_on():
    berlin = spec(cron="0 9 * * *", every=None, timezone="Europe/Berlin")
    # T0 is 14:00 in Berlin (CEST): 09:00 is tomorrow, at 07:00 UTC.
    assert clock_of(berlin).after(T0) == datetime(2026, 5, 2, 7, tzinfo=UTC)
    later = spec(cron="0 9 * * *", every=None, start=datetime(2027, 1, 1, tzinfo=UTC))
    assert clock_of(later).after(T0) == datetime(2027, 1, 1, 9, tzinfo=UTC)


def test_a_cadence_ends_at_the_specs_end():
    assert clock_of(spec(every="1h", end=at(120))).upcoming(T0, 5) == [at(60), at(120)]


# --- the fold of a schedule's events --------------------------------------------------------


def test_a_creation_makes_a_schedule_of_its_spec_and_owner():
    state = fold_schedule([created()])
    assert state is not None
    assert (state.id, state.spec, state.owner, state.source) == ("s1", spec(), "alice", "api")
    assert (state.created, state.updated) == (T0, T0)
    assert not state.paused and not state.deleted
    assert state.handled is None and state.firings == () and state.last_job_id is None


def test_a_schedule_created_paused_is_paused():
    assert state_of(paused=True).paused


def test_events_before_a_creation_fold_to_nothing():
    events = [SchedulePaused(schedule_id="s1"), fired(1), ScheduleDeleted(schedule_id="s1")]
    assert fold_schedule(events) is None
    assert apply_schedule(None, fired(1)) is None


def test_a_change_replaces_the_spec_and_its_paused_but_not_the_creation():
    change = ScheduleChanged(schedule_id="s1", time=at(5), spec=spec(every="5m", paused=True))
    state = state_of(fired(1), change)
    assert state.spec.every == "5m"
    assert state.paused and state.spec.paused
    assert (state.created, state.updated) == (T0, at(5))
    assert state.handled == at(1) and state.last_job_id == "job-1"


def test_pause_and_resume_flip_the_schedule_and_its_spec():
    paused = state_of(SchedulePaused(schedule_id="s1", time=at(2), actor="bob"))
    assert paused.paused and paused.spec.paused and paused.updated == at(2)
    resumed = fold_schedule([ScheduleResumed(schedule_id="s1", time=at(3))], paused)
    assert resumed is not None
    assert not resumed.paused and not resumed.spec.paused and resumed.updated == at(3)


def test_a_deleted_schedule_is_kept_marked_deleted():
    state = state_of(fired(1), ScheduleDeleted(schedule_id="s1", time=at(2)))
    assert state.deleted and state.updated == at(2)
    assert state.handled == at(1) and len(state.firings) == 1


def test_a_firing_is_recorded_with_its_job_and_handles_its_instant():
    state = state_of(fired(1, job_id="j1"))
    assert state.firings == (Firing(instant=at(1), jobID="j1", cause="clock"),)
    assert state.handled == at(1)
    assert state.last_job_id == "j1"


def test_a_skipped_firing_handles_its_instant_and_keeps_the_previous_job():
    state = state_of(fired(1, job_id="j1"), skipped(2, reason="overlap: still running"))
    assert state.firings[-1] == Firing(instant=at(2), skipped="overlap: still running")
    assert state.handled == at(2)
    assert state.last_job_id == "j1"


def test_a_manual_firing_makes_the_latest_job_but_handles_no_instant_of_the_clock():
    state = state_of(fired(1, job_id="j1"), fired(1.5, job_id="manual", cause="manual"))
    assert state.handled == at(1)
    assert state.last_job_id == "manual"
    assert state.firings[-1].cause == "manual"
    assert state_of(fired(0.5, cause="manual")).handled is None


def test_the_handled_instant_never_moves_back():
    state = state_of(fired(5), fired(3), skipped(4))
    assert state.handled == at(5)
    assert [f.instant for f in state.firings] == [at(5), at(3), at(4)]


def test_the_fold_keeps_only_the_latest_firings():
    state = state_of(*[fired(n) for n in range(KEPT_FIRINGS + 5)])
    assert len(state.firings) == KEPT_FIRINGS
    assert state.firings[0].instant == at(5)
    assert state.firings[-1].instant == at(KEPT_FIRINGS + 4)
    assert state.handled == at(KEPT_FIRINGS + 4)


def test_skipped_firings_recorded_as_one_are_one_firing():
    many = ScheduleSkipped(
        schedule_id="s1", instant=at(150), first=at(1), count=150, reason="missed", cause="catch-up"
    )
    state = state_of(many)
    assert len(state.firings) == 1 and state.handled == at(150)


def test_a_fold_goes_on_from_a_given_state():
    state = state_of(fired(1))
    assert fold_schedule([], state) is state
    later = fold_schedule([fired(2)], state)
    assert later is not None and later.handled == at(2) and len(later.firings) == 2


# --- the schedule as the API shows it -------------------------------------------------------


def test_a_schedule_shows_its_spec_where_it_stands_and_its_next_firings():
    state = state_of(fired(1, job_id="j1"), skipped(2, reason="overlap"), catchUp="all")
    shown = state.schedule(at(2.5))
    assert (shown.id, shown.owner, shown.source) == ("s1", "alice", "api")
    assert (shown.process, shown.every, shown.catch_up) == ("echo", "1m", CatchUp.ALL)
    assert (shown.created, shown.updated) == (T0, T0)
    assert shown.next_firings == [at(3), at(4), at(5), at(6), at(7)]
    assert [(f.instant, f.job_id) for f in shown.last_firings] == [(at(2), None), (at(1), "j1")]
    assert state.schedule(at(2.5), upcoming=2).next_firings == [at(3), at(4)]


def test_a_paused_schedule_shows_no_next_firings():
    shown = state_of(SchedulePaused(schedule_id="s1", time=at(1))).schedule(at(2))
    assert shown.paused and shown.next_firings == []


def test_the_next_firings_come_after_the_handled_instant_when_it_is_ahead_of_now():
    state = state_of(fired(10))
    assert state.schedule(at(2), upcoming=2).next_firings == [at(11), at(12)]
    assert state.schedule(at(20), upcoming=2).next_firings == [at(21), at(22)]


def test_a_schedule_shows_no_firing_past_its_end():
    assert state_of(end=at(3)).schedule(at(1)).next_firings == [at(2), at(3)]


# --- the job id of a firing -----------------------------------------------------------------


def test_a_firings_job_id_is_the_same_however_often_it_is_asked():
    job_id = firing_job_id("s1", at(1))
    assert job_id == firing_job_id("s1", at(1))
    assert uuid.UUID(job_id).version == 5


def test_a_firings_job_id_differs_per_instant_and_per_schedule():
    ids = {
        firing_job_id("s1", at(1)),
        firing_job_id("s1", at(1) + SECOND),
        firing_job_id("s1", at(2)),
        firing_job_id("s2", at(1)),
    }
    assert len(ids) == 4


@pytest.mark.parametrize(
    "same",
    [
        at(1).astimezone(ZoneInfo("Europe/Berlin")),
        at(1).astimezone(ZoneInfo("America/New_York")),
        at(1).astimezone(timezone(timedelta(hours=-3, minutes=-30))),
    ],
)
def test_a_firings_job_id_is_of_the_instant_whatever_its_zone(same):
    assert firing_job_id("s1", same) == firing_job_id("s1", at(1))


# --- schedule events as stored --------------------------------------------------------------

EVENTS: list[ScheduleEvent] = [
    created(cron="30 2 * * *", every=None, timezone="Europe/Berlin", catchUp="all"),
    ScheduleChanged(schedule_id="s1", spec=spec(overlap="queue"), actor="bob"),
    SchedulePaused(schedule_id="s1", actor="bob"),
    ScheduleResumed(schedule_id="s1", actor="bob"),
    ScheduleDeleted(schedule_id="s1", actor="bob"),
    fired(1, cause="catch-up"),
    ScheduleSkipped(
        schedule_id="s1", instant=at(150), first=at(1), count=150, reason="m", cause="catch-up"
    ),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: type(event).__name__)
def test_a_schedule_event_decodes_to_itself_from_its_own_subject(event):
    assert decode_schedule_event(event.encode(), event.subject) == event


@pytest.mark.parametrize(
    ("event", "subject"),
    [
        (EVENTS[0], "jobstream.schedules.s1.created"),
        (EVENTS[2], "jobstream.schedules.s1.paused"),
        (EVENTS[5], "jobstream.schedules.s1.fired"),
        (EVENTS[6], "jobstream.schedules.s1.skipped"),
    ],
)
def test_a_schedule_events_subject_names_its_schedule_and_kind(event, subject):
    assert event.subject == subject


def test_an_event_stored_on_another_kinds_subject_is_refused():
    with pytest.raises(EventDecodeError, match="a ScheduleFired of 's1' stored on .*skipped"):
        decode_schedule_event(fired(1).encode(), "jobstream.schedules.s1.skipped")


def test_an_event_stored_on_another_schedules_subject_is_refused():
    with pytest.raises(EventDecodeError, match="a ScheduleFired of 's1' stored on .*s2.fired"):
        decode_schedule_event(fired(1).encode(), "jobstream.schedules.s2.fired")


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"\xff\xfe",
        b"",
        b"[]",
        b'{"type": "ScheduleExploded", "schedule_id": "s1"}',
        b'{"type": "ScheduleFired", "schedule_id": "s1"}',
    ],
)
def test_what_is_no_schedule_event_is_refused(data):
    with pytest.raises(EventDecodeError, match="not a schedule event"):
        decode_schedule_event(data, "jobstream.schedules.s1.fired")


# --- what a firing decides ------------------------------------------------------------------


def test_a_firing_on_time_fires_by_the_clock_and_arms_the_next_instant():
    decision = decide_firing(state_of(), at(1), at(1) + SECOND / 5, "none")
    assert decision == FiringDecision(fire=[(at(1), "clock")], skip=[], arm=at(2))


def test_a_firing_after_handled_ones_fires():
    decision = decide_firing(state_of(fired(1), fired(2)), at(3), at(3), "ended")
    assert decision.fire == [(at(3), "clock")] and decision.arm == at(4)


def test_a_firing_late_within_its_period_is_still_on_time():
    decision = decide_firing(state_of(), at(1), at(1.9), "none")
    assert decision == FiringDecision(fire=[(at(1), "clock")], arm=at(2))


@pytest.mark.parametrize("instant", [at(2), at(1)])
def test_a_redelivered_firing_fires_nothing_and_arms_the_next_instant(instant):
    decision = decide_firing(state_of(fired(1), fired(2)), instant, at(2) + 5 * SECOND, "ended")
    assert decision == FiringDecision(arm=at(3))


def test_a_firing_redelivered_after_a_manual_run_still_fires():
    state = state_of(fired(1), fired(1.5, cause="manual"))
    assert decide_firing(state, at(2), at(2), "ended").fire == [(at(2), "clock")]


def test_a_firing_of_a_paused_schedule_does_nothing_and_arms_nothing():
    state = state_of(SchedulePaused(schedule_id="s1", time=at(0.5)))
    assert decide_firing(state, at(1), at(1), "none") == FiringDecision(arm=None)


@pytest.mark.parametrize(
    "state",
    [None, state_of(ScheduleDeleted(schedule_id="s1", time=at(0.5)))],
    ids=["unknown", "deleted"],
)
def test_a_firing_of_no_schedule_or_a_deleted_one_does_nothing(state):
    assert decide_firing(state, at(1), at(1), "none") == FiringDecision()


def test_a_firing_at_the_end_fires_and_arms_nothing():
    decision = decide_firing(state_of(end=at(2)), at(2), at(2) + SECOND, "none")
    assert decision == FiringDecision(fire=[(at(2), "clock")], arm=None)


@pytest.mark.parametrize(
    ("catch_up", "limit", "runs", "missed"),
    [
        ("skip", 10, [], [1, 2, 3, 4]),
        ("latest", 10, [4], [1, 2, 3]),
        ("all", 10, [1, 2, 3, 4], []),
        ("all", 4, [1, 2, 3, 4], []),
        ("all", 2, [3, 4], [1, 2]),
        ("all", 1, [4], [1, 2, 3]),
    ],
)
def test_a_late_firing_runs_the_missed_instants_its_catch_up_policy_picks(
    catch_up, limit, runs, missed
):
    state = state_of(catchUp=catch_up, catchUpLimit=limit, overlap="allow")
    decision = decide_firing(state, at(1), at(4) + 10 * SECOND, "none")
    assert decision.fire == [(at(n), "catch-up") for n in runs]
    assert instants(decision.skip) == [at(n) for n in missed]
    assert all(s.cause == "catch-up" and s.reason.startswith("missed") for s in decision.skip)
    assert all(s.schedule_id == "s1" and s.count == 1 for s in decision.skip)
    # The clock goes on from now: never a burst.
    assert decision.arm == at(5)


def test_missed_instants_past_the_end_are_not_due():
    state = state_of(catchUp="all", overlap="allow", end=at(3))
    decision = decide_firing(state, at(1), at(10), "none")
    assert decision.fire == [(at(1), "catch-up"), (at(2), "catch-up"), (at(3), "catch-up")]
    assert decision.skip == [] and decision.arm is None


def test_a_late_firing_counts_missed_instants_from_its_own_not_from_the_handled_one():
    # The clock armed 3 and fired it late: 2 was handled, 3 to 5 are due.
    decision = decide_firing(state_of(fired(2), catchUp="latest"), at(3), at(5), "ended")
    assert decision.fire == [(at(5), "catch-up")]
    assert instants(decision.skip) == [at(3), at(4)]


def test_as_many_missed_as_recorded_one_by_one_are_each_recorded():
    due = RECORDED_ONE_BY_ONE + 1
    decision = decide_firing(state_of(catchUp="latest"), at(1), at(due), "none")
    assert decision.fire == [(at(due), "catch-up")]
    assert instants(decision.skip) == [at(n) for n in range(1, due)]


@pytest.mark.parametrize(("catch_up", "runs"), [("skip", 0), ("latest", 1), ("all", 10)])
def test_more_missed_than_recorded_one_by_one_are_recorded_as_one_with_their_count(catch_up, runs):
    due = RECORDED_ONE_BY_ONE + 50
    state = state_of(catchUp=catch_up, overlap="allow")
    decision = decide_firing(state, at(1), at(due) + SECOND, "none")
    missed = due - runs
    assert len(decision.fire) == runs
    [record] = decision.skip
    assert (record.count, record.first, record.instant) == (missed, at(1), at(missed))
    assert record.cause == "catch-up"


OVERLAP: list[tuple[str, PreviousJob, str | None]] = [
    ("skip", "none", None),
    ("skip", "ended", None),
    ("skip", "running", "overlap: the previous job is still running (overlap policy skip)"),
    ("skip", "waiting", "overlap: the previous job is still waiting (overlap policy skip)"),
    ("queue", "none", None),
    ("queue", "ended", None),
    ("queue", "running", None),
    (
        "queue",
        "waiting",
        "overlap: a job is already waiting behind the running one (overlap policy queue)",
    ),
    ("allow", "none", None),
    ("allow", "ended", None),
    ("allow", "running", None),
    ("allow", "waiting", None),
]


@pytest.mark.parametrize(("overlap", "previous", "reason"), OVERLAP)
def test_a_firing_makes_a_job_unless_its_overlap_policy_refuses_the_previous_jobs_standing(
    overlap, previous, reason
):
    decision = decide_firing(state_of(overlap=overlap), at(1), at(1), previous)
    if reason is None:
        assert decision == FiringDecision(fire=[(at(1), "clock")], arm=at(2))
    else:
        assert decision.fire == [] and decision.arm == at(2)
        [record] = decision.skip
        assert (record.instant, record.reason, record.cause) == (at(1), reason, "clock")


@pytest.mark.parametrize(
    ("overlap", "previous", "fired_minutes", "reasons"),
    [
        ("skip", "none", [2], ["still waiting"] * 2),
        ("skip", "ended", [2], ["still waiting"] * 2),
        ("skip", "running", [], ["still running"] * 3),
        ("queue", "none", [2], ["already waiting"] * 2),
        ("queue", "running", [2], ["already waiting"] * 2),
        ("queue", "waiting", [], ["already waiting"] * 3),
        ("allow", "running", [2, 3, 4], []),
    ],
)
def test_within_one_catch_up_the_jobs_it_fires_count_as_the_previous_job(
    overlap, previous, fired_minutes, reasons
):
    state = state_of(catchUp="all", catchUpLimit=3, overlap=overlap)
    decision = decide_firing(state, at(1), at(4), previous)
    assert decision.fire == [(at(n), "catch-up") for n in fired_minutes]
    missed, overlapped = decision.skip[:1], decision.skip[1:]
    assert instants(missed) == [at(1)] and missed[0].reason.startswith("missed")
    assert len(overlapped) == len(reasons)
    for record, reason in zip(overlapped, reasons, strict=True):
        assert reason in record.reason and record.cause == "catch-up"
    assert sorted(instants(overlapped) + [at(n) for n in fired_minutes]) == [at(2), at(3), at(4)]


def test_a_decision_once_recorded_makes_its_redelivery_fire_nothing():
    state = state_of(catchUp="all", overlap="allow")
    decision = decide_firing(state, at(1), at(3), "none")
    records: list[ScheduleEvent] = [
        *decision.skip,
        *(
            ScheduleFired(schedule_id="s1", instant=m, job_id=firing_job_id("s1", m), cause=c)
            for m, c in decision.fire
        ),
    ]
    after = fold_schedule(records, state)
    assert after is not None and after.handled == at(3)
    assert decide_firing(after, at(1), at(3) + SECOND, "running") == FiringDecision(arm=at(4))
    assert decide_firing(after, at(4), at(4), "running").fire == [(at(4), "clock")]
