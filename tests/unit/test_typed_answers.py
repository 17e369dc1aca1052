"""Dataset records, attempt errors and estimates are models: they read the JSON the gateway
answered before they were typed and write it back unchanged, /api describes them, and the
client hands them out."""

import httpx
from fastapi import FastAPI
from openapi_spec_validator import validate

from jobstream_client import calls
from jobstream_contracts.dataset_records import DatasetList, DatasetRecord
from jobstream_contracts.estimates import Estimate, EstimateAnswer
from jobstream_contracts.ogc import StatusInfo
from jobstream_gateway import datasets, estimates
from jobstream_gateway.openapi30 import openapi_30

URL = "http://gateway.test"
# An ingest's estimate as the data processes give it: unknown figures are null.
FIGURES = {
    "dataset_id": "demo",
    "first": "2020-01-01",
    "last": "2020-01-20",
    "periods": 20,
    "bbox": [0.0, 0.0, 4.0, 2.0],
    "cells_per_period": 8,
    "planned_bytes": 640,
    "stored": 0,
    "to_fetch": 20,
    "bytes": None,
    "bytes_basis": "unknown: the source does not tell sizes",
    "duration_seconds": None,
    "throughput_periods_per_second": None,
    "duration_basis": "unknown: no earlier job of this dataset to learn from",
}
SOURCE_RECORD = {
    "id": "demo",
    "title": "Demo",
    "description": "",
    "kind": "source",
    "template": {"id": "demo", "name": "Demo", "sync_kind": "source", "period_type": "daily"},
    "stored": {
        "first": "2020-01-01",
        "last": "2020-01-07",
        "periods": 5,
        "coverage": [["2020-01-01", "2020-01-03"], ["2020-01-06", "2020-01-07"]],
        "store": "file:///data/demo",
        "snapshot_id": "S2",
        "updated": "2026-12-06T20:00:00.123456+00:00",
        "process": {"id": "ingest", "version": "1.0.0"},
        "last_job": "j2",
    },
    "links": [
        {"href": f"{URL}/datasets/demo", "rel": "self", "type": "application/json"},
        {
            "href": f"{URL}/jobs/j2",
            "rel": "related",
            "type": "application/json",
            "title": "a job that wrote it",
        },
    ],
}
# A derived dataset nothing has computed yet: unknowns are null, not absent.
DERIVED_RECORD = {
    "id": "demo-monthly",
    "title": "Demo, monthly",
    "description": "Monthly means",
    "kind": "derived",
    "template": {"id": "demo-monthly", "name": "Demo, monthly", "sync_kind": "derived"},
    "stored": None,
    "links": [{"href": f"{URL}/datasets/demo-monthly", "rel": "self", "type": "application/json"}],
    "derived": {
        "source_dataset": "demo",
        "source_snapshot_id": None,
        "stale": None,
        "stale_because": [],
    },
}


def _as_answered(model) -> dict:
    """The gateway's serialisation of a response model (links drop their absent members)."""
    return model.model_dump(mode="json", exclude_none=True)


def test_an_estimate_keeps_its_nulls_and_leaves_out_what_it_was_not_given():
    estimate = Estimate.model_validate(FIGURES)
    assert estimate.bytes is None and estimate.end_clipped_from is None
    assert _as_answered(estimate) == FIGURES
    assert estimate.model_dump(mode="json") == FIGURES


def test_a_process_may_add_figures_of_its_own():
    estimate = Estimate.model_validate({"periods": 3, "tiles": 12, "note": None})
    assert _as_answered(estimate) == {"periods": 3, "tiles": 12, "note": None}


def test_the_estimate_answer_is_the_figures_with_what_was_asked():
    body = {"processID": "ingest", "inputs": {"dataset_id": "demo"}, **FIGURES}
    answer = EstimateAnswer.model_validate(body)
    assert answer.processID == "ingest" and answer.periods == 20
    assert answer.model_dump(mode="json") == body


def test_a_status_reads_its_attempt_errors_and_estimate_as_models():
    document = {
        "type": "process",
        "jobID": "j1",
        "status": "failed",
        "attempt": 2,
        "errors": [
            {"attempt": 1, "type": "RuntimeError", "detail": "flaky"},
            {"attempt": 2, "type": "PermanentError", "detail": "gone"},
        ],
        "estimate": FIGURES,
    }
    status = StatusInfo.model_validate(document)
    assert status.errors is not None and status.errors[-1].detail == "gone"
    assert status.estimate is not None and status.estimate.to_fetch == 20
    assert status.model_dump(mode="json", exclude_none=True) == document


def test_dataset_records_read_and_write_the_json_the_gateway_answered():
    for record in (SOURCE_RECORD, DERIVED_RECORD):
        assert _as_answered(DatasetRecord.model_validate(record)) == record
    listed = {"datasets": [SOURCE_RECORD, DERIVED_RECORD], "links": []}
    assert _as_answered(DatasetList.model_validate(listed)) == listed


def _api_document() -> dict:
    app = FastAPI()
    app.include_router(datasets.router)
    app.include_router(estimates.router)
    return openapi_30(app)


def _answer_schema(document: dict, path: str) -> dict:
    return document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]


def test_the_api_document_describes_the_dataset_and_estimate_answers():
    document = _api_document()
    validate(document)
    for path, model in (
        ("/datasets", "DatasetList"),
        ("/datasets/{dataset_id}", "DatasetRecord"),
        ("/processes/{process_id}/estimate", "EstimateAnswer"),
    ):
        assert _answer_schema(document, path) == {"$ref": f"#/components/schemas/{model}"}
    schemas = document["components"]["schemas"]
    assert set(schemas["StoredData"]["properties"]) >= {"coverage", "snapshot_id", "last_job"}
    assert schemas["Derivation"]["properties"]["stale"]["nullable"] is True
    assert schemas["EstimateAnswer"]["additionalProperties"] is True


def _answer(body: dict) -> httpx.Response:
    return httpx.Response(200, json=body, request=httpx.Request("GET", URL))


def test_the_client_hands_out_dataset_records():
    listed = calls.datasets().decode(_answer({"datasets": [SOURCE_RECORD], "links": []}))
    assert [record.id for record in listed] == ["demo"]
    record = calls.dataset("demo-monthly").decode(_answer(DERIVED_RECORD))
    assert record.derived is not None and record.derived.stale is None
    assert record.stored is None


def test_the_client_asks_an_estimate_in_the_query_and_hands_out_the_answer():
    call = calls.estimate(
        "ingest", {"dataset_id": "demo", "bbox": [4, 57, 6, 58], "overwrite": True}
    )
    sent = call.request(httpx.Client(), calls.Service(URL, calls.headers(None)))
    assert sent.url.path == "/processes/ingest/estimate"
    assert dict(sent.url.params) == {"dataset_id": "demo", "bbox": "4,57,6,58", "overwrite": "true"}
    body = {"processID": "ingest", "inputs": {"dataset_id": "demo"}, **FIGURES}
    answer = call.decode(_answer(body))
    assert isinstance(answer, EstimateAnswer) and answer.to_fetch == 20 and answer.bytes is None
