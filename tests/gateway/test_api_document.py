"""What the API document declares of security and errors holds for the routes."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from jobstream_contracts.access import Role

from ..support.inprocess import Gateway, keyed_identity, serving, view_engine
from ..support.ogc_schemas import assert_valid


@pytest.fixture
async def authenticating(settings, journal, tmp_path) -> AsyncIterator[Gateway]:
    identity, _ = keyed_identity({"admin": Role.ADMIN})
    with_keys = settings.model_copy(update={"auth": "apikey"})
    async with serving(with_keys, journal, view_engine(tmp_path), identity) as gateway:
        yield gateway


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


async def _as_anyone(gateway: Gateway, method: str, path: str) -> httpx.Response:
    concrete = path.replace("{process_id}", "echo").replace("{job_id}", "0")
    concrete = concrete.replace("{dataset_id}", "0")
    body = {"inputs": {"message": "hi"}} if method == "post" else None
    return await gateway.http.request(method, concrete, json=body)


async def test_exactly_the_operations_declared_public_answer_without_credentials(authenticating):
    document = (await authenticating.http.get("/api")).json()
    assert document["security"] == [{"bearerAuth": []}]
    public = set()
    for method, path, operation in _operations(document):
        answer = await _as_anyone(authenticating, method, path)
        if operation.get("security") == []:
            public.add(path)
            assert answer.status_code != 401, (method, path)
            continue
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert_valid(answer.json(), "exception")
    assert public == {"/", "/conformance", "/api", "/asyncapi", "/health", "/ready"}


async def test_every_error_answer_declared_is_an_ogc_exception(authenticating):
    document = (await authenticating.http.get("/api")).json()
    declared = document["components"]["responses"]
    exception = {"$ref": "#/components/schemas/OGCException"}
    assert document["components"]["schemas"]["OGCException"]["required"] == ["type"]
    for _, path, operation in _operations(document):
        for code, response in operation["responses"].items():
            if int(code) < 400 or (path, code) == ("/ready", "503"):
                continue  # readiness answers 503 with its report
            response = declared[response["$ref"].rsplit("/", 1)[1]]
            assert response["content"]["application/json"]["schema"] == exception, (path, code)
    assert "HTTPValidationError" not in json.dumps(document)  # FastAPI's 422; the gateway says 400
