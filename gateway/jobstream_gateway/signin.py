"""Signing a browser in and out: ``/signin`` checks a credential and keeps it in the session
cookie (html_pages/session.py); ``/signout`` forgets it.

Decisions:
- A person signs in with what an API client sends: an API key, or an access token where OIDC
  is on. The credential is checked as a request would be before any cookie is set, and a
  credential with no jobstream role is refused there rather than on every page after.
- A sign-in posted from another site's page is refused (its Origin is neither the public URL's
  nor this host's, or the browser says the request is cross-site), so nobody can sign a
  visitor in as themselves. Signing out always forgets the session: nobody minds that.
- The cookie lasts as long as the browser session; an expiring token ends it sooner. It is
  Secure whenever the browser reached us over https: the request's scheme, an https public
  URL, or a proxy's X-Forwarded-Proto (behind one, set the public URL).
"""

from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from jobstream_contracts.access import Principal

from .context import Context, base_url, context
from .html_pages.render import render
from .html_pages.session import SESSION_COOKIE, SIGNED_IN_AS_COOKIE, session_of
from .identity import Unauthenticated
from .oidc import IssuerUnreachable

router = APIRouter(include_in_schema=False)
# Browsers keep cookies of up to 4,096 bytes, name and attributes included.
MAX_CREDENTIAL_CHARACTERS = 3800


class Refused(Exception):
    """Why a sign-in was refused, to show on the form, and with which status."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    # Browsers drop tabs and newlines from URLs: "/\t/elsewhere" would become "//elsewhere".
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    return target


def signin_page(
    status: int, error: str, next_path: str, request: Request, ctx: Context
) -> Response:
    session = session_of(request.headers)
    return render(
        "signin.html",
        status=status,
        error=error,
        next=next_path,
        path=next_path,
        sign_in=ctx.settings.authenticates,
        oidc_login=ctx.settings.signs_in_through_oidc,
        signed_in_as=session.signed_in_as if session else None,
    )


@router.get("/signin")
async def signin_form(request: Request, ctx: Context = Depends(context)) -> Response:
    return signin_page(200, "", local_path(request.query_params.get("next")), request, ctx)


@router.post("/signin")
async def signin(request: Request, ctx: Context = Depends(context)) -> Response:
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace")))
    next_path = local_path(form.get("next"))
    if not ctx.settings.authenticates:
        return RedirectResponse(next_path, status_code=303)
    try:
        _refuse_other_sites(request)
        principal = await principal_of(ctx, form.get("token", "").strip())
    except Refused as refused:
        return signin_page(refused.status, str(refused), next_path, request, ctx)
    return start_session(next_path, request, ctx, form["token"].strip(), principal)


def start_session(
    next_path: str, request: Request, ctx: Context, credential: str, principal: Principal
) -> Response:
    """On to ``next_path``, signed in with ``credential`` from now on."""
    response = RedirectResponse(next_path, status_code=303)
    secure = is_https(request, ctx)
    for name, value in ((SESSION_COOKIE, credential), (SIGNED_IN_AS_COOKIE, principal.id)):
        response.set_cookie(name, value, httponly=True, samesite="lax", secure=secure)
    return response


def is_https(request: Request, ctx: Context) -> bool:
    return (
        request.url.scheme == "https"
        or ctx.settings.base_url.startswith("https:")
        or request.headers.get("x-forwarded-proto", "").lower() == "https"
    )


@router.post("/signout")
async def signout(request: Request, ctx: Context = Depends(context)) -> Response:
    response = RedirectResponse("/", status_code=303)
    secure = is_https(request, ctx)
    for name in (SESSION_COOKIE, SIGNED_IN_AS_COOKIE):
        response.delete_cookie(name, httponly=True, samesite="lax", secure=secure)
    return response


def _same_site(request: Request) -> bool:
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    # Browsers send Origin with every POST; a client that sends none is not a page elsewhere.
    origin = request.headers.get("origin")
    if origin is None:
        return True
    ours = {_origin_of(base_url(request)), f"{request.url.scheme}://{request.headers.get('host')}"}
    return _origin_of(origin) in ours


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _refuse_other_sites(request: Request) -> None:
    if not _same_site(request):
        raise Refused("this sign-in form was sent from another site's page", 403)


async def principal_of(ctx: Context, token: str) -> Principal:
    if not token:
        raise Refused("give an API key or an access token", 400)
    if len(token) > MAX_CREDENTIAL_CHARACTERS:
        raise Refused(
            f"this credential is {len(token)} characters long; a browser keeps a cookie of at "
            f"most about {MAX_CREDENTIAL_CHARACTERS}: call the API with it instead",
            400,
        )
    try:
        principal = await ctx.identity.principal(f"Bearer {token}")
    except Unauthenticated as exc:
        raise Refused(f"not signed in: {exc}", 401) from None
    except IssuerUnreachable as exc:
        raise Refused(f"the identity provider did not answer ({exc}); try again", 503) from None
    if not principal.roles:
        raise Refused(f"{principal.id} has no jobstream role", 403)
    return principal
