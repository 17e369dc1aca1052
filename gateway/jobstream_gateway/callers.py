"""The caller of a request: who they are (401 when unknown) and what they may see and do.

Every route but the public ones (landing page, conformance, API documents, health) depends on
``caller``. A job the caller may not read is answered exactly as a job that does not exist.
"""

from fastapi import Request

from jobstream_contracts.access import Principal, Role
from jobstream_contracts.fold import JobState
from jobstream_contracts.ogc import ExceptionType

from .errors import OGCError
from .identity import Unauthenticated
from .oidc import IssuerUnreachable

REALM = 'Bearer realm="jobstream"'


def _challenge(exc: Unauthenticated) -> str:
    if not exc.offered:
        return REALM
    reason = str(exc).replace('"', "'")
    return f'{REALM}, error="invalid_token", error_description="{reason}"'


def unauthenticated(exc: Unauthenticated) -> OGCError:
    return OGCError(
        401,
        ExceptionType.UNAUTHENTICATED,
        str(exc),
        "Unauthenticated",
        headers={"WWW-Authenticate": _challenge(exc)},
    )


def forbidden(detail: str) -> OGCError:
    return OGCError(403, ExceptionType.FORBIDDEN, detail, "Forbidden")


async def caller(request: Request) -> Principal:
    """The request's principal; 401 without a valid credential, 403 with no role at all."""
    identity = request.app.state.context.identity
    try:
        principal = await identity.principal(request.headers.get("authorization"))
    except Unauthenticated as exc:
        raise unauthenticated(exc) from None
    except IssuerUnreachable as exc:  # not the caller's fault: they may retry
        raise OGCError(
            503,
            ExceptionType.SERVICE_UNAVAILABLE,
            f"the identity provider did not answer ({exc}); retry later",
            "Service unavailable",
            headers={"Retry-After": "5"},
        ) from None
    if not principal.roles:
        raise forbidden(f"{principal.id} has no jobstream role")
    return principal


async def sees_everything(request: Request) -> Principal:
    """The caller, if they may read every job and dataset (operator, auditor, admin)."""
    principal = await caller(request)
    if not principal.reads_everything:
        raise forbidden(
            f"this needs the operator or auditor role; {principal.id} has {_roles(principal)}"
        )
    return principal


def require(principal: Principal, role: Role, act: str) -> None:
    if not principal.has(role):
        raise forbidden(
            f"{act} needs the {role.value} role; {principal.id} has {_roles(principal)}"
        )


def _roles(principal: Principal) -> str:
    return ", ".join(sorted(role.value for role in principal.roles))


def no_such_job(job_id: str) -> OGCError:
    return OGCError(404, ExceptionType.NO_SUCH_JOB, f"no job with id {job_id!r}", "No such job")


def readable(principal: Principal, state: JobState | None, job_id: str) -> JobState:
    """The job, if this caller may read it; otherwise 404, as if it did not exist."""
    if state is None or not principal.may_read(state.owner):
        raise no_such_job(job_id)
    return state
