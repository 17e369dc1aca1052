"""A job's history as the rows of its page: routine runs summarised, every row said, paged."""

from jobstream_gateway.html_pages.render import duration
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
