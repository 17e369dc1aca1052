"""GET /asyncapi: an AsyncAPI 3.0 document of the events, valid against the official schema."""

import json
from pathlib import Path

from jsonschema import Draft7Validator

from jobstream_contracts import __version__
from jobstream_contracts.events import EVENT_TYPES

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "asyncapi" / "3.0.0.json"


def test_the_asyncapi_document_is_valid_and_names_every_event(stack):
    landing = stack.http.get("/").json()
    assert f"{stack.url}/asyncapi" in [link["href"] for link in landing["links"]]
    response = stack.http.get("/asyncapi")
    assert response.status_code == 200
    document = response.json()
    validator = Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, errors[:5]
    assert document["info"]["version"] == __version__
    messages = document["components"]["messages"]
    for name, cls in EVENT_TYPES.items():
        assert messages[name]["payload"] == {"$ref": f"#/components/schemas/{name}"}
        schema = document["components"]["schemas"][name]
        assert set(schema["properties"]) == set(cls.model_fields)
        assert f"{name}CloudEvent" in document["channels"]["jobEventStream"]["messages"]
    nats = document["channels"]["jobEvents"]
    assert nats["address"] == "jobstream.jobs.{processId}.{jobId}.{event}"
    tokens = {token for cls in EVENT_TYPES.values() for token in cls.tokens()}
    assert set(nats["parameters"]["event"]["enum"]) == tokens
    assert {"submitted", "submitted-high", "submitted-low"} <= tokens
    assert document["servers"]["gateway"]["host"] == stack.url.removeprefix("http://")


def test_an_invalid_document_fails_the_schema():
    """The schema copy is the real one: it refuses what AsyncAPI 3.0 refuses."""
    validator = Draft7Validator(json.loads(SCHEMA.read_text()))
    assert not validator.is_valid({"asyncapi": "2.6.0", "info": {"title": "x", "version": "1"}})
    assert not validator.is_valid({"asyncapi": "3.0.0", "info": {"title": "x"}})
    assert validator.is_valid({"asyncapi": "3.0.0", "info": {"title": "x", "version": "1"}})
