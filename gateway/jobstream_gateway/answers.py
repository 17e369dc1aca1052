"""Every status code each operation can answer, declared in the API document in one place.

FastAPI declares what a route returns, plus a 422 the gateway never sends (an invalid request
is 400, errors.py). The other answers come from deep inside the handlers, so they are declared
here, by rule where a rule holds and by operation where none does:

- every operation may answer 500, as OGC's own document declares (a failed job's results are 500);
- every operation but ``/health`` may answer 400 (a Host the gateway does not answer to,
  hosts.py), as may one with query, header or body parameters; one with path parameters 404
  (no such process, job or dataset, or not one the caller may see);
- one whose route depends on the caller (callers.py) needs a bearer token: 401 with
  ``WWW-Authenticate``, 403, and 503 (the identity provider or the event stream did not answer).
  The requirement is global and the others override it with ``security: []``; which is which
  is read from the routes' dependencies, so the document cannot drift from the code;
- the rest is listed by operation below.

Every error body is an OGC exception (RFC 7807 shape): the schema of ``OGCException``.
"""

from collections.abc import Iterable
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute

from jobstream_contracts.ogc import OGCException

from .callers import caller, sees_everything
from .hosts import UNCHECKED

Document = dict[str, Any]
Operation = tuple[str, str]  # (method, path) as the document spells them

SCHEME = "bearerAuth"
_GUARDS = (caller, sees_everything)
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")

EXECUTE: Operation = ("post", "/processes/{process_id}/execution")
ESTIMATE: Operation = ("get", "/processes/{process_id}/estimate")
RESULTS: Operation = ("get", "/jobs/{job_id}/results")
READY: Operation = ("get", "/ready")
CREATE: Operation = ("post", "/jobs")
CHANGE: Operation = ("patch", "/jobs/{job_id}")
START: Operation = ("post", "/jobs/{job_id}/results")
RERUN: Operation = ("post", "/jobs/{job_id}/rerun")

# Status codes an operation answers beyond the rules.
_BY_OPERATION: dict[Operation, tuple[int, ...]] = {
    EXECUTE: (413, 422, 429),
    # Part 4: an unknown process (no path parameter names it), an Idempotency-Key reused; a
    # job no longer created is locked; one changed by others again and again while this was
    # tried.
    CREATE: (404, 413, 422, 429),
    CHANGE: (409, 413, 423, 429),
    START: (409, 413, 423, 429),
    # A job its record cannot reproduce (reruns.py); the work it plans, the caller's quotas.
    RERUN: (409, 413, 429),
    # The caller holds as many event streams or long-polls open as one caller may.
    ("get", "/jobs/{job_id}"): (429,),
    ("get", "/jobs/{job_id}/events"): (429,),
    ("get", "/events"): (429,),
    # Inputs come as free query parameters the route does not declare.
    ESTIMATE: (400, 413, 502),
    # An unknown process; an id taken; a schedule declared in the operator's file.
    ("post", "/schedules"): (404, 409),
    ("patch", "/schedules/{schedule_id}"): (409,),
    ("delete", "/schedules/{schedule_id}"): (409,),
    ("post", "/schedules/{schedule_id}/trigger"): (409,),
    ("post", "/schedules/{schedule_id}/backfill"): (409,),
}


def _header(description: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema}


def _retry_after(required: bool) -> dict[str, Any]:
    return _header("seconds to wait before retrying", {"type": "integer", "minimum": 0}, required)


def _error(
    name: str, description: str, headers: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/OGCException"}}}
    response = {"description": description, "content": content}
    return name, response | ({"headers": headers} if headers else {})


_CHALLENGE = _header("the Bearer challenge (RFC 6750)", {"type": "string"}, True)

# components.responses, under OGC's names where OGC has one.
ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: _error(
        "InvalidParameter",
        "A parameter, header (Host included) or body member is invalid.",
    ),
    401: _error(
        "Unauthenticated",
        "No valid bearer credential: missing, malformed, unknown, revoked or expired.",
        {"WWW-Authenticate": _CHALLENGE},
    ),
    403: _error("Forbidden", "The caller's role does not allow this."),
    404: _error(
        "NotFound",
        "No such process, job, dataset or schedule, or not one the caller may see; for "
        "results, also a job not finished yet, or dismissed.",
    ),
    409: _error(
        "Conflict",
        "The schedule id is taken, the schedule is declared in the operator's file, or it "
        "cannot run now (its process or inputs no longer valid); a created job kept changing "
        "while it was changed or started; a job cannot be rerun as it ran (not successful, "
        "fetched from outside, another process version served, a snapshot it read gone).",
    ),
    423: _error(
        "Locked",
        "The job is no longer created (started, ended or dismissed): it cannot be changed or "
        "started (OGC API - Processes - Part 4).",
    ),
    413: _error("TooLarge", "The request body, or the work it would plan, is over a limit."),
    422: _error("IdempotencyKeyReused", "The Idempotency-Key was used for another request."),
    429: _error(
        "TooManyJobs",
        "The caller has as many jobs queued or running, as many bytes stored by its recent "
        "jobs, or as many event streams or long-polls open, as allowed.",
        {"Retry-After": _retry_after(True)},
    ),
    500: _error(
        "ServerError", "A server error; for a job's results or a sync run, the job failed."
    ),
    502: _error("EstimateFailed", "The executor asked for the estimate could not make it."),
    503: _error(
        "ServiceUnavailable",
        "The event stream or the identity provider did not answer, the store is full or down "
        "to its reserve, or the gateway serves all the event streams or long-polls it may; "
        "retry later.",
        {"Retry-After": _retry_after(False)},
    ),
}

BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key (`jobstream apikey create`) or an access token of the OIDC issuer.",
}

_RAW_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_CREATED = {
    "description": "job created (asynchronous execution)",
    "headers": {"Location": _header("the job's status", {"type": "string", "format": "uri"}, True)},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StatusInfo"}}},
}


def _guarded(dependant: Dependant) -> bool:
    return dependant.call in _GUARDS or any(_guarded(sub) for sub in dependant.dependencies)


def protected_operations(routes: Iterable[BaseRoute]) -> set[Operation]:
    """The operations whose routes depend on who is calling."""
    return {
        (method.lower(), str(route.path))
        for route in iter_route_contexts(list(routes))
        if isinstance(getattr(route, "dependant", None), Dependant) and _guarded(route.dependant)
        for method in route.methods or ()
    }


def _error_codes(operation: Operation, declared: Document, protected: bool) -> set[int]:
    parameters = declared.get("parameters", [])
    codes = {500, *_BY_OPERATION.get(operation, ())}
    if operation[1] not in UNCHECKED:  # a Host the gateway does not answer to
        codes.add(400)
    if "requestBody" in declared or any(p["in"] != "path" for p in parameters):
        codes.add(400)
    if any(p["in"] == "path" for p in parameters):
        codes.add(404)
    if protected:
        codes |= {401, 403, 503}
    return codes


def _declare_successes(operation: Operation, responses: Document) -> None:
    if operation in (EXECUTE, RESULTS):  # a raw result that is a string is sent as text
        responses["200"].setdefault("content", {}).update(_RAW_TEXT)
    if operation == EXECUTE:
        responses["201"] = _CREATED
    if operation == CREATE:
        responses["201"] = {**_CREATED, "description": "job created; it runs once started"}
    if operation == RERUN:
        responses["201"] = {**_CREATED, "description": "the rerun, submitted"}
    if operation == READY:
        responses["503"] = {**responses["200"], "description": "not ready: the report says why"}


def _declare(operation: Operation, declared: Document, protected: bool) -> None:
    responses = declared["responses"]
    responses.pop("422", None)
    _declare_successes(operation, responses)
    for code in sorted(_error_codes(operation, declared, protected)):
        responses.setdefault(str(code), {"$ref": f"#/components/responses/{ERRORS[code][0]}"})
    if not protected:
        declared["security"] = []


def declare_answers(document: Document, routes: Iterable[BaseRoute]) -> None:
    """Add every error answer, the bearer scheme and the public operations to ``document``."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    schemas["OGCException"] = OGCException.model_json_schema()
    components["responses"] = dict(ERRORS.values())
    components["securitySchemes"] = {SCHEME: BEARER}
    document["security"] = [{SCHEME: []}]
    protected = protected_operations(routes)
    for path, operations in document.get("paths", {}).items():
        for method, declared in operations.items():
            _declare((method, path), declared, (method, path) in protected)
