"""The ASGI middleware that answers a browser with a page and everyone else with the API."""

from importlib import resources
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobstream_contracts.ogc import ExceptionType

from ..errors import error_response
from .inner import Answer, ask_json
from .negotiation import wants_html
from .render import render
from .routes import Page, page_for
from .session import session_of

STATIC = "/static/"
# Where browsers look for a site's icon unless a page names one: the pages' own, an SVG.
FAVICON = "/favicon.ico"
STATIC_ALIASES = {FAVICON: f"{STATIC}favicon.svg"}
_OWN_FILES = Path(__file__).parent / "static"
# Swagger UI's files as the fastapi-swagger package ships them.
_SWAGGER_FILES = Path(str(resources.files("fastapi_swagger") / "resources"))


def static_file(path: str) -> Path | None:
    """The file behind a /static/ path, only ever from the two folders above."""
    name = path.removeprefix(STATIC)
    folder, _, rest = name.partition("/")
    base, name = (_SWAGGER_FILES, rest) if folder == "swagger" else (_OWN_FILES, name)
    candidate = (base / name).resolve()
    if candidate.parent != base.resolve() or not candidate.is_file():
        return None
    return candidate


class HtmlPages:
    def __init__(self, app: ASGIApp, sign_in: bool = False) -> None:
        self.app = app
        # Whether pages offer signing in: only where callers must say who they are.
        self.sign_in = sign_in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(STATIC) or path == FAVICON:
            await self._static(STATIC_ALIASES.get(path, path))(scope, receive, send)
            return
        found = page_for(path)
        if found is None:
            await self.app(scope, receive, send)
            return
        # A page and its JSON share a URL: a cache must key them by Accept too.
        send = varying_by_accept(send)
        query = scope["query_string"].decode("latin-1")
        if not wants_html(query, Headers(scope=scope).get("accept")):
            await self.app(scope, receive, send)
            return
        page, parameters = found
        response = await self._page(scope, page, parameters, query)
        await response(scope, receive, send)

    @staticmethod
    def _static(path: str) -> Response:
        file = static_file(path)
        if file is None:
            return error_response(
                404, ExceptionType.NOT_FOUND, f"no file at {path}", "Not found", path
            )
        return FileResponse(file, headers={"Cache-Control": "public, max-age=3600"})

    async def _page(
        self, scope: Scope, page: Page, parameters: dict[str, str], query: str
    ) -> Response:
        answer = await ask_json(self.app, scope, scope["path"], query)
        scope["route"] = answer.route
        session = session_of(Headers(scope=scope))
        context = {
            "path": scope["path"],
            "parameters": parameters,
            "json_href": _with_format(scope["path"], query, "json"),
            "values": _values(query),
            "sign_in": self.sign_in,
            "signed_in_as": session.signed_in_as if session else None,
        }
        if answer.status != 200:
            return _error_page(answer, context)
        more = {}
        for name, template in page.more.items():
            path, _, more_query = template.format(**parameters).partition("?")
            extra = await ask_json(self.app, scope, path, more_query)
            more[name] = extra.document if extra.status == 200 else None
        named = {}
        for path in dict.fromkeys(page.named(answer.document)):
            extra = await ask_json(self.app, scope, path)
            named[path] = extra.document if extra.status == 200 else None
        return render(page.template, doc=answer.document, more=more, named=named, **context)


def varying_by_accept(send: Send) -> Send:
    """``send`` with ``Accept`` added to every answer's ``Vary``."""

    async def send_varying(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.add_vary_header("Accept")
        await send(message)

    return send_varying


def _values(query: str) -> dict[str, list[str]]:
    """The query's values by name, comma-separated lists split, as the API reads them."""
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(query):
        values.setdefault(name, []).extend(v for v in value.split(",") if v)
    return values


def _with_format(path: str, query: str, format_: str) -> str:
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "f"]
    return f"{path}?{urlencode([*kept, ('f', format_)])}"


def _error_page(answer: Answer, context: dict) -> Response:
    problem = answer.document if isinstance(answer.document, dict) else {}
    response = render("error.html", status=answer.status, problem=problem, **context)
    for header in ("www-authenticate", "retry-after"):
        if header in answer.headers:
            response.headers[header] = answer.headers[header]
    return response
