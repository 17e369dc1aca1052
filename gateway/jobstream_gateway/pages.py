"""Query parameters of collections: list values, and next/prev links for offset paging."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request

from jobstream_contracts.ogc import Link, html_alternate


def page_links(
    request: Request, url: str, path: str, offset: int, limit: int, has_more: bool
) -> list[Link]:
    def href(new_offset: int) -> str:
        kept = [
            (k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")
        ]
        query = urlencode([*kept, ("offset", new_offset), ("limit", limit)])
        return f"{url}{path}?{query}"

    links = [
        Link(href=href(offset), rel="self", type="application/json"),
        html_alternate(href(offset)),
    ]
    if has_more:
        links.append(Link(href=href(offset + limit), rel="next", type="application/json"))
    if offset > 0:
        links.append(Link(href=href(max(0, offset - limit)), rel="prev", type="application/json"))
    return links


# A list query parameter: absent is empty. Declared as a plain array, not "array or null": the
# API document's schema then states what a query string carries (schemathesis judged a
# nullable one's `processID=true` by the boolean it generated, not the text it sent).
ListParam = Annotated[list[str], Query(default_factory=list)]


def list_values(raw: list[str] | None) -> list[str]:
    """A list parameter given as `status=a&status=b` or as `status=a,b`."""
    return [part.strip() for item in raw or [] for part in item.split(",") if part.strip()]
