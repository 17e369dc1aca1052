"""Reading OGC answers in the in-process tests."""

import httpx

from ..support.ogc_schemas import assert_valid

OGC = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0"


def exception_of(response: httpx.Response, status: int) -> dict:
    """The OGC exception body of ``response``, which must have ``status``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert_valid(body, "exception")
    return body


def submissions(events) -> int:
    return sum(event.type == "JobSubmitted" for event in events)
