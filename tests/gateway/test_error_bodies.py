"""Every 4xx and 5xx the gateway answers is an OGC exception body with a type URI and a
detail: no route, no such method, a request FastAPI cannot read, an unknown resource on
every route that names one, a missing static file, and an error no route expected."""

import re

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from ..support.inprocess import BASE_URL, Gateway
from .ogc import exception_of

ERRORS = "https://jobstream.dev/errors"
# A path parameter no resource has.
UNKNOWN = "no-such-thing"


def routes(gateway: Gateway) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, each path parameter UNKNOWN."""
    return [
        (re.sub(r"\{[^}]+\}", UNKNOWN, route.path), set(route.methods or ()))
        for route in iter_route_contexts(gateway.app.router.routes)
        if route.path is not None
    ]


def routes_naming_a_resource(gateway: Gateway) -> list[tuple[str, str]]:
    """(method, path) of every route with a path parameter."""
    return [
        (method, path)
        for path, methods in routes(gateway)
        if UNKNOWN in path
        for method in sorted(methods)
    ]


def methods_by_path(gateway: Gateway) -> dict[str, set[str]]:
    """The methods each path takes, over all its routes."""
    taken: dict[str, set[str]] = {}
    for path, methods in routes(gateway):
        taken.setdefault(path, set()).update(methods)
    return taken


async def test_a_path_no_route_takes_is_404_not_found_naming_it(gateway):
    body = exception_of(await gateway.http.get("/nothing-here"), 404)
    assert body["type"] == f"{ERRORS}/not-found"
    assert body["detail"].startswith("nothing at /nothing-here; the landing page (/)")
    assert body["instance"] == "/nothing-here"


async def test_a_method_no_route_of_the_path_takes_is_405_naming_both(gateway):
    answer = await gateway.http.put("/jobs")
    body = exception_of(answer, 405)
    assert body["type"] == f"{ERRORS}/not-allowed"
    # POST: job management (Part 4) creates a job there.
    assert body["detail"] == "PUT is not allowed on /jobs; it allows GET, POST"
    assert answer.headers["Allow"] == "GET, POST"


async def test_every_path_refuses_a_method_it_does_not_take_with_an_ogc_body(gateway):
    paths = methods_by_path(gateway)
    assert len(paths) > 20, paths
    for path, taken in sorted(paths.items()):
        method = next(m for m in ("PATCH", "PUT") if m not in taken)
        answer = await gateway.http.request(method, path)
        body = exception_of(answer, 405)
        assert body["detail"].startswith(f"{method} is not allowed on {path}; it allows ")
        assert answer.headers["Allow"]


async def test_every_route_naming_a_resource_refuses_an_unknown_one_with_an_ogc_body(
    scheduling_gateway,
):
    # A gateway serving schedules: one without answers their routes 503.
    gateway = scheduling_gateway
    routes = routes_naming_a_resource(gateway)
    assert len(routes) >= 9, routes
    for method, path in routes:
        json = {"inputs": {}} if method in ("POST", "PATCH") else None
        answer = await gateway.http.request(
            method, path, json=json, headers={"Accept": "application/json"}
        )
        body = exception_of(answer, 404)
        assert body["type"].startswith("http") and "no-such" in body["type"], (method, path)
        assert UNKNOWN in body["detail"], (method, path, body)


@pytest.mark.parametrize(
    "request_args,named",
    [
        ({"method": "GET", "url": "/jobs", "params": {"limit": "many"}}, "limit: "),
        (
            {
                "method": "POST",
                "url": "/processes/echo/execution",
                "content": b"{not json",
                "headers": {"Content-Type": "application/json"},
            },
            "body: not valid JSON",
        ),
        (
            {"method": "POST", "url": "/processes/echo/execution", "json": {"inputs": 7}},
            "body.inputs: ",
        ),
    ],
)
async def test_a_request_fastapi_cannot_read_is_400_naming_the_field(gateway, request_args, named):
    body = exception_of(await gateway.http.request(**request_args), 400)
    assert body["type"] == f"{ERRORS}/invalid-parameter"
    assert named in body["detail"]


async def test_a_missing_static_file_is_an_ogc_404(gateway):
    body = exception_of(await gateway.http.get("/static/no-such-file.css"), 404)
    assert body["type"] == f"{ERRORS}/not-found"
    assert body["detail"] == "no file at /static/no-such-file.css"


async def test_an_error_no_route_expected_is_500_with_an_ogc_body_and_no_traceback(gateway):
    async def breaks() -> None:
        raise RuntimeError("secret internals")

    gateway.app.add_api_route("/breaks", breaks)
    # The app re-raises after answering, as uvicorn logs it; the client reads the answer.
    transport = httpx.ASGITransport(gateway.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        answer = await http.get("/breaks")
    body = exception_of(answer, 500)
    assert body["type"] == f"{ERRORS}/internal"
    assert body["detail"] == "internal error; see the gateway log"
    assert "secret" not in answer.text
