"""The pages' SVG pictures, from the JSON the pages render: what they draw and what they say."""

import re
import xml.etree.ElementTree as ET
from datetime import datetime

from jobstream_gateway.html_pages.pictures import _after, attempts_svg, coverage_svg

SVG = "{http://www.w3.org/2000/svg}"


def _dataset(coverage, start="2020-01-01", period_type="daily", stale=None):
    doc = {
        "id": "d",
        "template": {"period_type": period_type, "extent": {"start": start}},
        "stored": {"coverage": coverage},
    }
    if stale is not None:
        doc["derived"] = {"stale": stale}
    return doc


def _rects(svg: str) -> list[tuple[str, float, float]]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return [
        (r.get("class") or "", float(r.get("x") or 0), float(r.get("width") or 0))
        for r in root.iter(f"{SVG}rect")
    ]


def test_stored_runs_are_filled_and_the_gaps_before_and_between_them_missing():
    svg = coverage_svg(_dataset([["2020-01-03", "2020-01-04"], ["2020-01-08", "2020-01-10"]]))
    rects = _rects(svg)
    assert [kind for kind, _, _ in rects] == ["missing", "stored", "missing", "stored"]
    # 10 days on 800 units: 80 a day; the leading gap is two days, the first run two.
    assert rects[0][1:] == (0.0, 160.0) and rects[1][1:] == (160.0, 160.0)
    assert rects[3][1] + rects[3][2] == 800.0
    assert (
        'aria-label="Coverage from 2020-01-01 to 2020-01-11: 2 stored runs, 2 missing gaps"' in svg
    )


def test_a_stale_derived_dataset_draws_its_runs_stale_and_says_so():
    svg = coverage_svg(_dataset([["2020-01", "2020-03"]], "2020-01", "monthly", stale=True))
    assert [kind for kind, _, _ in _rects(svg)] == ["stale"]
    assert "1 stale run, 0 missing gaps" in svg and "to 2020-04-01" in svg


def test_nothing_stored_draws_nothing_and_ids_that_are_no_periods_are_left_out():
    assert coverage_svg({"stored": None}) == ""
    svg = coverage_svg({"stored": {"coverage": [["2020", "2021"]]}})  # no template: by the ids
    assert "to 2022-01-01" in svg
    assert coverage_svg(_dataset([["2020-01-01", "<script>"]])) == ""


def test_the_end_of_a_period_follows_its_type():
    assert _after(datetime(2020, 12, 1), "2020-12", None) == datetime(2021, 1, 1)
    assert _after(datetime(2020, 1, 6), "2020-01-06", "weekly") == datetime(2020, 1, 13)
    assert _after(datetime(2020, 1, 6, 23), "2020-01-06T23", None) == datetime(2020, 1, 7)


def _event(second: int, kind: str, attempt: int | None = 1, **data):
    return {
        "time": f"2026-01-01T00:00:{second:02d}Z",
        "data": {"type": kind, "attempt": attempt, **data},
    }


def test_a_jobs_progress_is_one_line_per_attempt_with_its_retries_and_outcome():
    history = {
        "events": [
            _event(0, "JobSubmitted", None),
            _event(1, "JobStarted"),
            _event(2, "JobProgressed", done=1, total=4),
            _event(3, "JobRetryScheduled"),
            _event(5, "JobStarted", 2),
            _event(7, "JobProgressed", 2, done=4, total=4),
            _event(8, "JobSucceeded", 2),
        ]
    }
    svg = attempts_svg(history)
    root = ET.fromstring(svg)
    lines = [p.get("points") or "" for p in root.iter(f"{SVG}polyline")]
    assert len(lines) == 2 and all(len(points.split()) == 2 for points in lines)
    assert [c.get("class") for c in root.iter(f"{SVG}circle")] == ["retry", "succeeded"]
    assert len(list(root.iter(f"{SVG}line"))) == 2  # each attempt's start
    assert re.search(r'aria-label="Progress over 8.0 s in 2 attempts"', svg)


def test_a_history_without_times_draws_nothing():
    assert attempts_svg(None) == "" and attempts_svg({"events": [{"data": {}}]}) == ""
