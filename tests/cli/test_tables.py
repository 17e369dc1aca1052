"""Lists whose ids are never cut: columns are left out, last first, where a terminal is too
narrow; the id column stays whole. Results as a table for people, JSON for scripts."""

import io
import json

from rich.console import Console

from jobstream.client_commands import Output, print_results
from jobstream.client_tables import datasets_table
from jobstream_contracts.dataset_records import DatasetRecord

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
