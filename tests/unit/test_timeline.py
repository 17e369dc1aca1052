"""A job's or a schedule's history as the rows of its page: routine runs summarised, every
row said, paged."""

from datetime import UTC, datetime

from jobstream_contracts.cloudevents import schedule_cloudevent
from jobstream_contracts.schedule_events import (
    ScheduleCreated,
    ScheduleEvent,
    ScheduleFired,
    SchedulePaused,
    ScheduleSkipped,
)
from jobstream_contracts.schedules import ScheduleSpec
from jobstream_gateway.html_pages.render import duration, in_zone
from jobstream_gateway.html_pages.timeline import ROWS_PER_PAGE, summarised, timeline


def _event(kind: str, attempt: int = 1, **data) -> dict:
    return {"time": "2026-01-01T10:00:00Z", "data": {"type": kind, "attempt": attempt, **data}}


def _progress(attempt: int, done: int) -> dict:
    return _event("JobProgressed", attempt, done=done, total=10)


def test_a_retry_ends_a_run_of_progress_reports():
    error = {"type": "OSError", "detail": "source down"}
    events = [
        _event("JobSubmitted", 0, inputs={"n": 10}),
        _event("JobStarted", executor="e1"),
        *[_progress(1, done) for done in (1, 2, 3)],
        _event("JobRetryScheduled", error=error, delay=2),
        _event("JobStarted", 2, executor="e2"),
        *[_progress(2, done) for done in (1, 2)],
        _event("JobSucceeded", 2, results={"count": 10}),
    ]
    rows = summarised(events)
    assert [(row.kind, row.first, row.last) for row in rows] == [
        ("JobSubmitted", 1, 1),
        ("JobStarted", 2, 2),
        ("JobProgressed", 3, 5),
        ("JobRetryScheduled", 6, 6),
        ("JobStarted", 7, 7),
        ("JobProgressed", 8, 9),
        ("JobSucceeded", 10, 10),
    ]
    assert [row.detail for row in rows] == [
        "n=10",
        "on executor e1",
        "3 progress reports, the last: 3 of 10",
        "OSError: source down; retry in 2 s",
        "on executor e2",
        "2 progress reports, the last: 2 of 10",
        "results: count",
    ]
    assert rows[0].attempt is None and len(rows[2].events) == 3


def test_a_lone_routine_event_is_a_row_of_its_own():
    rows = summarised([_event("JobStarted", executor="e"), _progress(1, 5)])
    assert [row.detail for row in rows] == ["on executor e", "5 of 10"]
    assert rows[1].events == []


def test_rows_are_paged_and_the_newest_page_comes_first():
    events = [_event("JobStarted", executor=f"e{n}") for n in range(2 * ROWS_PER_PAGE + 3)]
    newest = timeline({"events": events})
    assert (newest.page, newest.pages, len(newest.rows)) == (3, 3, 3)
    first = timeline({"events": events}, "1")
    assert first.rows[0].first == 1 and len(first.rows) == ROWS_PER_PAGE
    assert timeline({"events": events}, "99").page == 3
    assert timeline(None).rows == [] and timeline(None).pages == 1


def test_durations_read_as_people_say_them():
    assert [duration(s) for s in (4.25, 42, 185, 7800)] == [
        "4.2 s",
        "42 s",
        "3 min 5 s",
        "2 h 10 min",
    ]


def _said(*events: ScheduleEvent) -> list[dict]:
    """Schedule events as their history answers them: CloudEvents."""
    return [schedule_cloudevent(event, sequence) for sequence, event in enumerate(events, 1)]


def test_a_schedules_firings_are_one_row_between_its_changes():
    spec = ScheduleSpec(process="echo", inputs={"message": "hi"}, cron="30 6 * * *")
    created = ScheduleCreated(
        schedule_id="daily", spec=spec.model_copy(update={"timezone": "Europe/Berlin"}), owner="a"
    )
    instants = [datetime(2026, 12, day, 5, 30, tzinfo=UTC) for day in (1, 2, 3)]
    fired = [
        ScheduleFired(schedule_id="daily", instant=at, job_id=f"job-{at.day}") for at in instants
    ]
    skipped = ScheduleSkipped(
        schedule_id="daily",
        instant=datetime(2026, 12, 4, 5, 30, tzinfo=UTC),
        reason="overlap: the previous job is still running (overlap policy skip)",
    )
    paused = SchedulePaused(schedule_id="daily", actor="alice")
    manual = ScheduleFired(schedule_id="daily", instant=instants[0], job_id="now", cause="manual")
    rows = summarised(_said(created, *fired, skipped, paused, manual))
    assert [(row.kind, row.first, row.last) for row in rows] == [
        ("ScheduleCreated", 1, 1),
        ("ScheduleFired", 2, 4),
        ("ScheduleSkipped", 5, 5),
        ("SchedulePaused", 6, 6),
        ("ScheduleFired", 7, 7),
    ]
    assert [row.detail for row in rows] == [
        "by clock: echo, cron 30 6 * * * (Europe/Berlin); message=hi",
        "3 firings, 2026-12-01 05:30:00 UTC … 2026-12-03 05:30:00 UTC, one job each",
        "clock firing of 2026-12-04 05:30:00 UTC skipped: overlap: the previous job is still "
        "running (overlap policy skip)",
        "by alice",
        "manual firing of 2026-12-01 05:30:00 UTC: job now",
    ]
    assert [event.data["job_id"] for event in rows[1].events] == ["job-1", "job-2", "job-3"]


def test_missed_firings_recorded_as_one_say_how_many():
    missed = ScheduleSkipped(
        schedule_id="s",
        instant=datetime(2026, 12, 7, 12, tzinfo=UTC),
        first=datetime(2026, 12, 1, 12, tzinfo=UTC),
        count=150,
        reason="missed while nothing ran (catch-up policy skip)",
        cause="catch-up",
    )
    late = ScheduleSkipped(
        schedule_id="s",
        instant=datetime(2026, 12, 7, 13, tzinfo=UTC),
        reason="missed while nothing ran (catch-up policy skip)",
    )
    (row,) = summarised(_said(missed, late))
    assert row.detail == (
        "151 firings skipped, the last: missed while nothing ran (catch-up policy skip)"
    )
    assert row.events[0].detail == (
        "150 instants, 2026-12-01 12:00:00 UTC … 2026-12-07 12:00:00 UTC skipped: "
        "missed while nothing ran (catch-up policy skip)"
    )


def test_a_firing_reads_in_its_schedules_zone():
    assert in_zone("2026-12-08T05:30:00Z", "Europe/Berlin") == "2026-12-08 06:30:00 CET"
    assert in_zone("2026-07-08T04:30:00Z", "Europe/Berlin") == "2026-07-08 06:30:00 CEST"
    assert in_zone("2026-07-08T04:30:00Z", "America/Sao_Paulo") == "2026-07-08 01:30:00 -03"
    assert in_zone("2026-07-08T04:30:00Z", "Mars/Base") == ""
    assert in_zone(None, "UTC") == ""
