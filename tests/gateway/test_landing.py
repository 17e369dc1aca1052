"""Landing page, conformance, the API document, health and readiness."""

import os

from openapi_spec_validator import validate

from jobstream_contracts import __version__
from jobstream_contracts.events import JobSubmitted
from jobstream_contracts.ogc import CONFORMANCE_CLASSES

from ..support.ogc_schemas import assert_valid


async def test_landing_page_links_every_resource(gateway):
    response = await gateway.http.get("/")
    assert response.status_code == 200
    body = response.json()
    assert_valid(body, "landingPage")
    assert body["version"] == __version__
    as_html = await gateway.http.get("/", headers={"Accept": "text/html"})
    assert f"jobstream {__version__}" in as_html.text
    rels = {link["rel"] for link in body["links"]}
    assert {
        "service-desc",
        "service-doc",
        "http://www.opengis.net/def/rel/ogc/1.0/conformance",
        "http://www.opengis.net/def/rel/ogc/1.0/processes",
        "http://www.opengis.net/def/rel/ogc/1.0/job-list",
    } <= rels


async def test_conformance_declares_the_classes_met(gateway):
    body = (await gateway.http.get("/conformance")).json()
    assert_valid(body, "confClasses")
    assert set(body["conformsTo"]) == set(CONFORMANCE_CLASSES)
    for name in ("core", "ogc-process-description", "json", "oas30", "job-list", "dismiss"):
        assert (
            f"http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/{name}" in body["conformsTo"]
        )


async def test_api_definition_is_valid_openapi_30(gateway):
    response = await gateway.http.get("/api")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    document = response.json()
    assert document["openapi"].startswith("3.0.")
    assert document["info"]["version"] == __version__
    validate(document)  # raises on any 3.0 violation
    for path in (
        "/processes",
        "/processes/{process_id}",
        "/processes/{process_id}/execution",
        "/jobs",
        "/jobs/{job_id}",
        "/jobs/{job_id}/results",
    ):
        assert path in document["paths"]
    html = await gateway.http.get("/api.html")
    assert html.status_code == 200 and "swagger" in html.text.lower()


async def test_health_answers_without_anything_behind_it(gateway):
    response = await gateway.http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "pid": os.getpid()}


async def test_ready_reports_how_far_the_view_trails_the_journal(gateway):
    await gateway.append(JobSubmitted(job_id="ready-1", process_id="echo"))
    behind = (await gateway.http.get("/ready")).json()
    await gateway.project()
    caught_up = (await gateway.http.get("/ready")).json()
    assert behind["status"] == caught_up["status"] == "ready"
    assert behind["projector_lag"] >= 1
    assert caught_up["projector_lag"] == 0
    assert caught_up["stream_last_sequence"] == caught_up["projector_checkpoint"]
    assert caught_up["parked_events"] == 0
