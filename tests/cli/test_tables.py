"""Lists whose ids are never cut: columns are left out, last first, where a terminal is too
narrow; the id column stays whole. Results as a table for people, JSON for scripts. A
schedule's firings with their jobs' ids whole, statuses or why they made none."""

import io
import json

from rich.console import Console

from jobstream_client.cli.commands import Output, print_results
from jobstream_client.cli.tables import datasets_table, schedule_table, schedules_table
from jobstream_contracts.dataset_records import DatasetRecord
from jobstream_contracts.schedules import Schedule

LONG_ID = "synthetic-daily-monthly-mean-resampled-to-a-coarse-grid"


def dataset(id_: str) -> DatasetRecord:
    return DatasetRecord.model_validate(
        {
            "id": id_,
            "title": "Synthetic daily values, resampled to monthly means on a coarse grid",
            "description": "",
            "kind": "derived",
            "template": {},
            "stored": None,
            "links": [],
        }
    )


def drawn(width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(datasets_table([dataset(LONG_ID)]).fitted(console))
    return console.export_text()


def test_a_long_dataset_id_is_whole_at_80_columns():
    text = drawn(80)
    assert LONG_ID in text and max(map(len, text.splitlines())) <= 80, text
    assert "stale" not in text  # left out for the id's sake


def test_a_wide_terminal_shows_every_column():
    text = drawn(250)
    assert LONG_ID in text and "stale" in text and "updated" in text, text


INGESTED = {"dataset_id": "synthetic-daily", "periods": {"fetched": 10}, "commits": 1}


def printed_results(value, terminal: bool, as_json: bool = False) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=80, color_system=None)
    print_results(value, Output(as_json, out=console))
    return out.getvalue()


def test_a_results_document_is_a_table_in_a_terminal():
    text = printed_results(INGESTED, terminal=True)
    assert "dataset_id" in text and "synthetic-daily" in text and '{"fetched":10}' in text
    assert not text.startswith("{"), text


def test_a_results_document_is_json_for_scripts():
    assert json.loads(printed_results(INGESTED, terminal=False)) == INGESTED
    assert json.loads(printed_results(INGESTED, terminal=True, as_json=True)) == INGESTED


def test_a_text_result_is_printed_as_it_is():
    assert printed_results("hello", terminal=False) == "hello\n"


LONG_SCHEDULE = "nightly-resample-of-the-synthetic-daily-dataset"
JOB = "1736755f-1dc2-55a3-91d8-76bcef52fa3b"


def schedule(firings: list[dict]) -> Schedule:
    return Schedule.model_validate(
        {
            "id": LONG_SCHEDULE,
            "process": "echo",
            "inputs": {"message": "x"},
            "cron": "0 6 * * *",
            "timezone": "Europe/Berlin",
            "owner": "alice",
            "created": "2026-12-01T05:00:00Z",
            "updated": "2026-12-01T05:00:00Z",
            # 06:00 in Berlin is 05:00 UTC, as the tables show every time.
            "nextFirings": ["2026-12-08T06:00:00+01:00"],
            "lastFirings": firings,
        }
    )


def drawn_schedules(width: int, firings: list[dict], statuses: dict[str, str]) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(schedules_table([schedule(firings)], statuses).fitted(console))
    return console.export_text()


def test_a_long_schedule_id_is_whole_at_80_columns_beside_its_cadence():
    text = drawn_schedules(80, [], {})
    assert LONG_SCHEDULE in text and "0 6 * * *" in text and "(Europe/Berlin)" in text, text
    assert "next firing" not in text  # left out for the id's sake
    assert max(map(len, text.splitlines())) <= 80, text


def test_the_last_firing_is_its_jobs_status_or_why_it_made_none():
    fired = [{"instant": "2026-12-07T05:00:00Z", "jobID": JOB}]
    text = drawn_schedules(250, fired, {JOB: "successful"})
    assert "2026-12-08 05:00:00" in text and "2026-12-07 05:00:00 successful" in text, text
    assert "job 1736755f" in drawn_schedules(250, fired, {})  # a status not known (yet)
    skipped = [{"instant": "2026-12-07T05:00:00Z", "skipped": "overlap: the previous job…"}]
    assert "2026-12-07 05:00:00 skipped: overlap" in drawn_schedules(250, skipped, {})


def test_one_schedule_shows_each_firings_job_whole_and_points_to_the_rest():
    firings = [
        {"instant": f"2026-12-07T05:{minute:02d}:00Z", "jobID": JOB, "cause": "catch-up"}
        for minute in range(7)
    ]
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(schedule_table(schedule(firings), {JOB: "failed"}))
    text = console.export_text()
    assert "2026-12-07 05:00:00 catch-up" in text and f"{JOB} failed" in text, text
    assert "05:04:00" in text and "05:05:00" not in text, text  # the newest 5, then a pointer
    assert "… 2 more: jobstream schedules events" in text and LONG_SCHEDULE in text, text
