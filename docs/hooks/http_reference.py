"""mkdocs hook: the HTTP API reference, rendered from the OpenAPI document the gateway serves.

The document is asked of the gateway's own app in-process (``GET /api`` over ASGI, no server,
no NATS: the lifespan that connects is not run), so the page lists exactly the operations,
parameters and status codes a running service declares. ``reference/http-api.md`` holds the
prose; the marker below is replaced at build time.
"""

import asyncio
from typing import Any

import httpx

PAGE = "reference/http-api.md"
MARKER = "<!-- generated: http operations -->"
METHODS = ("get", "post", "put", "patch", "delete")
BOUNDS = (("minimum", "≥"), ("maximum", "≤"), ("maxLength", "length ≤"))


def _gateway_app():
    """The gateway's app as ``jobstream gateway`` builds it, never started: no NATS needed."""
    # Imported here: the gateway's imports take seconds, paid only when the page is built.
    from jobstream_gateway.app import gateway_app
    from jobstream_infra.settings import GatewaySettings

    # The document is the same whatever the settings (AUTH included): auth="none" so a shell
    # with JOBSTREAM_AUTH=oidc and no issuer can still build the docs.
    return gateway_app(GatewaySettings.model_validate({"auth": "none"}))


async def served_api_document() -> dict[str, Any]:
    """The OpenAPI document the gateway answers at /api."""
    transport = httpx.ASGITransport(app=_gateway_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        answer = await c.get("/api")
        answer.raise_for_status()
        return answer.json()


def _schema_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    kind = schema.get("type", "any")
    if kind == "array":
        kind = f"list of {_schema_text(schema.get('items', {}))}"
    extras = [f"{word} {schema[key]}" for key, word in BOUNDS if key in schema]
    if "default" in schema:
        extras.append(f"default `{schema['default']}`")
    return kind + (f" ({', '.join(extras)})" if extras else "")


def _parameters(operation: dict[str, Any]) -> str:
    rows = [
        f"| `{p['name']}` | {p['in']} | {_schema_text(p.get('schema', {}))} | "
        f"{'yes' if p.get('required') else 'no'} |"
        for p in operation.get("parameters", [])
    ]
    if not rows:
        return ""
    return "| parameter | in | type | required |\n| --- | --- | --- | --- |\n" + "\n".join(rows)


def _responses(operation: dict[str, Any], document: dict[str, Any]) -> str:
    shared = document.get("components", {}).get("responses", {})
    lines = []
    for code, answer in operation.get("responses", {}).items():
        if "$ref" in answer:
            answer = shared[answer["$ref"].rsplit("/", 1)[-1]]
        kinds = ", ".join(f"`{media}`" for media in answer.get("content", {}))
        lines.append(
            f"- **{code}** {answer.get('description', '')}" + (f" ({kinds})" if kinds else "")
        )
    return "Answers:\n\n" + "\n".join(lines)


def _body(operation: dict[str, Any]) -> str:
    content = operation.get("requestBody", {}).get("content", {})
    return "".join(
        f"Request body: {_schema_text(body.get('schema', {}))} as `{media}`."
        for media, body in content.items()
    )


def _operation(method: str, path: str, operation: dict[str, Any], document: dict[str, Any]) -> str:
    public = operation.get("security") == []
    parts = [
        f"### `{method.upper()} {path}`",
        operation.get("description") or operation.get("summary", ""),
        "Public: no credential needed." if public else "",
        _parameters(operation),
        _body(operation),
        _responses(operation, document),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


def operations_reference(document: dict[str, Any]) -> str:
    """Every operation of the document, grouped by its first tag in the order tags appear."""
    groups: dict[str, list[str]] = {}
    for path, item in document["paths"].items():
        for method in (m for m in METHODS if m in item):
            tag = (item[method].get("tags") or ["Other"])[0]
            groups.setdefault(tag, []).append(_operation(method, path, item[method], document))
    return "\n".join(f"## {tag}\n\n" + "\n".join(ops) for tag, ops in groups.items())


def on_page_markdown(markdown: str, page, **_) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"{PAGE} lost its marker {MARKER!r}")
    return markdown.replace(MARKER, operations_reference(asyncio.run(served_api_document())))
