"""Every error leaves the gateway as an OGC exception body (RFC 7807 shape) with a type URI:
ours (OGCError), a request FastAPI could not read, a path or method no route takes, the job
view out of reach (503), and whatever a route did not expect (500, its traceback in the log,
never in the answer)."""

from http import HTTPStatus
from typing import Any, TypeVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from jobstream_contracts.ogc import ExceptionType, OGCException
from jobstream_contracts.redaction import strip_url_secrets
from jobstream_infra.archive import ArchiveCorrupt, ArchiveUnreachable

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"

# FastAPI's words for a body its JSON parser gave up on other than as malformed JSON: bytes
# that are not UTF-8, or a nesting deeper than the parser recurses (a RecursionError).
UNPARSED_BODY = "There was an error parsing the body"

# The view's database unreachable or failing (DBAPIError wraps every driver error), or every
# pooled connection busy past the pool's timeout.
VIEW_FAILURES = (DBAPIError, PoolTimeout)


class OGCError(Exception):
    def __init__(
        self,
        status: int,
        type: str,
        detail: str,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        members: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.type = type
        self.detail = detail
        self.title = title
        self.headers = headers or {}
        # Members of the body beyond RFC 7807's (a refused plan's estimate).
        self.members = members or {}


def invalid_parameter(name: str, detail: str) -> OGCError:
    """400 for a request parameter, header or member, naming it first."""
    return OGCError(400, ExceptionType.INVALID_PARAMETER, f"{name}: {detail}", "Invalid parameter")


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], body: dict[str, Any]) -> M:
    """``body`` as ``model``, or 400 naming the member at fault (a body is checked once the
    resource it is for is known: an unknown schedule or job is 404 whatever the body)."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise invalid_parameter(f"body.{where}", error["msg"]) from None


def error_response(
    status: int,
    type: str,
    detail: str,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    members: dict[str, Any] | None = None,
) -> JSONResponse:
    # Details quote client input, which may hold unpaired surrogates JSON cannot encode.
    detail = detail.encode("utf-8", "backslashreplace").decode("utf-8")
    body = OGCException(
        type=type, title=title, status=status, detail=detail, instance=instance, **members or {}
    )
    return JSONResponse(body.to_json(), status_code=status, headers=headers)


def _location(loc: tuple) -> str:
    # ("query", "limit") -> "limit"; ("body", "inputs") -> "body.inputs"
    if loc and loc[0] in ("query", "path", "header"):
        loc = loc[1:]
    return ".".join(str(part) for part in loc) or "body"


def too_large(max_bytes: int, path: str | None) -> JSONResponse:
    return error_response(
        413,
        ExceptionType.INVALID_INPUT,
        f"the request body is over {max_bytes} bytes (JOBSTREAM_MAX_REQUEST_BYTES)",
        "Request too large",
        path,
    )


def first_line_of(exc: BaseException) -> str:
    """What failed, for an operator: the driver's error of a DBAPIError, the first line of its
    message (a driver's runs on with the SQL and its parameters), URLs stripped of secrets."""
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    line = strip_url_secrets(next(iter(str(cause).splitlines()), ""))
    return f"{type(cause).__name__}: {line}" if line else type(cause).__name__


def view_unavailable(path: str | None) -> JSONResponse:
    """503 for the job view out of reach: the stream, the record, is untouched by it."""
    return error_response(
        503,
        ExceptionType.SERVICE_UNAVAILABLE,
        "the job view is unavailable (its database cannot be read); nothing was changed. "
        "Retry later",
        "Service unavailable",
        path,
        {"Retry-After": "5"},
    )


def allowed_methods(request: Request) -> str:
    """Every method the path answers (RFC 9110 Allow), not only the first route's that matched."""
    methods = set()
    for route in iter_route_contexts(request.app.router.routes):
        if route.matches(request.scope)[0] is Match.PARTIAL:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def _routing_refusal(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """A path no route takes (404), or a method none of its routes takes (405)."""
    path, headers = request.url.path, dict(exc.headers or {})
    if exc.detail != HTTPStatus(exc.status_code).phrase:  # a route's own words
        return error_response(exc.status_code, "about:blank", str(exc.detail), None, path, headers)
    if exc.status_code == 405:
        headers["Allow"] = allowed = allowed_methods(request)
        detail = f"{request.method} is not allowed on {path}; it allows {allowed}"
        return error_response(
            405, ExceptionType.NOT_ALLOWED, detail, "Method not allowed", path, headers
        )
    if exc.status_code == 404:
        detail = f"nothing at {path}; the landing page (/) links what this service offers"
        return error_response(404, ExceptionType.NOT_FOUND, detail, "Not found", path, headers)
    return error_response(exc.status_code, "about:blank", str(exc.detail), None, path, headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OGCError)
    async def _ogc(request: Request, exc: OGCError) -> JSONResponse:
        return error_response(
            exc.status, exc.type, exc.detail, exc.title, request.url.path, exc.headers, exc.members
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            "body: not valid JSON"
            if err["type"] == "json_invalid"
            else f"{_location(err['loc'])}: {err['msg']}"
            for err in exc.errors()
        ]
        return error_response(
            400,
            ExceptionType.INVALID_PARAMETER,
            "; ".join(problems),
            "Invalid request",
            request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 413:  # the body limit, counted while the body streams in
            return too_large(request.app.max_body_size, request.url.path)
        if (exc.status_code, exc.detail) == (400, UNPARSED_BODY):
            return error_response(
                400,
                ExceptionType.INVALID_PARAMETER,
                "body: not JSON the gateway can read (not UTF-8, or nested deeper than its "
                "parser goes)",
                "Invalid request",
                request.url.path,
            )
        return _routing_refusal(request, exc)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _view_down(request: Request, exc: Exception) -> JSONResponse:
        # The driver's message names the database's host and user: the log has it, the
        # answer does not.
        log.warning("the job view cannot be read", path=request.url.path, error=first_line_of(exc))
        return view_unavailable(request.url.path)

    @app.exception_handler(ArchiveUnreachable)
    async def _archive_down(request: Request, exc: ArchiveUnreachable) -> JSONResponse:
        log.warning("the archive cannot be read", path=request.url.path, error=str(exc))
        detail = f"the archive at {exc.url} did not answer; retry later"
        headers = {"Retry-After": "5"}
        return error_response(
            503,
            ExceptionType.SERVICE_UNAVAILABLE,
            detail,
            "Service unavailable",
            request.url.path,
            headers,
        )

    @app.exception_handler(ArchiveCorrupt)
    async def _archive_damaged(request: Request, exc: ArchiveCorrupt) -> JSONResponse:
        log.error("an archive file is damaged", path=request.url.path, error=str(exc))
        detail = f"{exc}: restore the file from the archive's backup"
        return error_response(
            500, ExceptionType.ARCHIVE_DAMAGED, detail, "Archive damaged", request.url.path
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return error_response(
            500,
            ExceptionType.INTERNAL,
            "internal error; see the gateway log",
            "Internal error",
            request.url.path,
        )
