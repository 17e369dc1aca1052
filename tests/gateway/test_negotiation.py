"""One URL, a page or JSON by Accept: what caches are told, and what validators do to a page.

A browser that fetched a job's JSON holds its ETag for the job page's URL; it sends it back
when it reloads the page. Neither may turn the page into "304 Not Modified" (the browser
would show the JSON it holds), and every negotiated answer says ``Vary: Accept``.
"""

import asyncio
import logging

import httpx
import pytest
import uvicorn

from jobstream_infra.embedded import free_port

from ..support.waiting import eventually_async

HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


def _varies_by_accept(headers) -> bool:
    return "accept" in {name.strip().lower() for name in headers.get("vary", "").split(",")}


@pytest.mark.parametrize("path", ["/", "/processes", "/jobs", "/jobs/{job}", "/jobs/{job}/events"])
async def test_every_negotiated_answer_varies_by_accept(gateway, path):
    job_id = await gateway.submit("echo", {"message": "varied"})
    await gateway.project()
    for headers in (HTML, JSON):
        answer = await gateway.http.get(path.format(job=job_id), headers=headers)
        assert answer.status_code == 200, answer.text
        assert _varies_by_accept(answer.headers), (path, headers, answer.headers)


async def test_a_page_is_not_answered_not_modified_for_its_jsons_etag(gateway):
    job_id = await gateway.submit("echo", {"message": "cached as JSON"})
    as_json = await gateway.http.get(f"/jobs/{job_id}", headers=JSON)
    held = {"If-None-Match": as_json.headers["etag"]}
    page = await gateway.http.get(f"/jobs/{job_id}", headers={**HTML, **held})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert job_id in page.text
    waiting = {**HTML, **held, "Prefer": "wait=5"}
    assert (await gateway.http.get(f"/jobs/{job_id}", headers=waiting)).status_code == 200
    # For JSON the validator still counts: unchanged, and no body.
    unchanged = await gateway.http.get(f"/jobs/{job_id}", headers={**JSON, **held})
    assert unchanged.status_code == 304 and unchanged.content == b""


async def test_uvicorn_serves_a_page_asked_with_a_jsons_etag_cleanly(gateway, caplog):
    """Over real HTTP/1.1 (h11), where a 304 with a body broke the connection."""
    job_id = await gateway.submit("echo", {"message": "over h11"})
    port = free_port()
    config = uvicorn.Config(gateway.app, port=port, http="h11", lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    caplog.set_level(logging.INFO)

    async def started() -> bool:
        return server.started

    try:
        await eventually_async(started, 10, "uvicorn serving")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            held = (await http.get(f"/jobs/{job_id}", headers=JSON)).headers["etag"]
            for _ in range(2):
                page = await http.get(f"/jobs/{job_id}", headers={**HTML, "If-None-Match": held})
                assert page.status_code == 200 and job_id in page.text
    finally:
        server.should_exit = True
        await serving
    assert "LocalProtocolError" not in caplog.text


async def test_a_head_request_for_a_page_is_answered_as_a_get_without_a_body(gateway):
    job_id = await gateway.submit("echo", {"message": "head"})
    head = await gateway.http.head(f"/jobs/{job_id}", headers=HTML)
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/html")


async def test_the_favicon_is_served(gateway):
    icon = await gateway.http.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")
    page = await gateway.http.get("/", headers=HTML)
    assert '<link rel="icon" href="/static/favicon.svg"' in page.text
    assert (await gateway.http.get("/static/favicon.svg")).status_code == 200


async def test_the_landing_page_says_what_this_is_and_where_to_go(gateway):
    job_id = await gateway.submit("echo", {"message": "recent"})
    await gateway.project()
    page = (await gateway.http.get("/", headers=HTML)).text
    assert "Long-running geospatial data work as jobs you can follow" in page
    for href in ("/processes", "/jobs", "/datasets", "/api.html", "/api", "/conformance"):
        assert f'<h2><a href="{href}">' in page or f'<li><a href="{href}">' in page, href
    assert f'href="/jobs/{job_id}"' in page, "the recent jobs"
    assert 'href="/processes/echo"' in page, "the processes"
    links = (await gateway.http.get("/")).json()["links"]
    assert any(link["href"].endswith("/datasets") for link in links)
