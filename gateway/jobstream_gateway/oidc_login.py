"""Signing people in at the OIDC issuer: the authorization code flow with PKCE (RFC 7636).

Decisions:
- Offered on /signin when ``OIDC_CLIENT_ID`` names this gateway's client at the issuer (a
  public client with PKCE, or a confidential one with ``OIDC_CLIENT_SECRET``). The redirect
  URI registered there is ``{public URL}/signin/callback``.
- The state and the PKCE verifier live in a cookie of the browser that started the sign-in
  (HttpOnly, SameSite=Lax so that the issuer's redirect back brings it, path /signin, ten
  minutes): no gateway keeps it, so any gateway can finish a sign-in another began, and a
  callback whose state is not that cookie's is refused (it was started elsewhere).
- The access token the issuer returns becomes the session's credential only after it is
  checked as every bearer token is (signature, issuer, audience, expiry, roles); the session
  ends when it expires (no refresh token is asked for or kept).
"""

import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import secrets
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from .context import Context, base_url, context
from .oidc import FETCH_TIMEOUT_SECONDS, IssuerUnreachable, OidcVerifier
from .signin import Refused, is_https, local_path, principal_of, signin_page, start_session

router = APIRouter(include_in_schema=False)

START_PATH = "/signin/oidc"
CALLBACK_PATH = "/signin/callback"
PENDING_COOKIE = "jobstream_signin"
PENDING_SECONDS = 600


@dataclass(frozen=True)
class PendingSignIn:
    """What the callback needs of the sign-in this browser started."""

    state: str
    verifier: str
    next: str

    @classmethod
    def begin(cls, next_path: str) -> "PendingSignIn":
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(48), next_path)

    def cookie(self) -> str:
        return base64.urlsafe_b64encode(json.dumps(asdict(self)).encode()).decode()

    @classmethod
    def from_cookie(cls, value: str | None) -> "PendingSignIn | None":
        try:
            fields = json.loads(base64.urlsafe_b64decode(value or ""))
            return cls(
                str(fields["state"]), str(fields["verifier"]), local_path(str(fields["next"]))
            )
        except (ValueError, TypeError, KeyError):
            return None

    def answers(self, state: str | None) -> bool:
        # As bytes: compare_digest refuses str with characters beyond ASCII.
        return state is not None and hmac.compare_digest(self.state.encode(), state.encode())


def challenge_of(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier``."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_url(
    endpoint: str, client_id: str, redirect_uri: str, scopes: str, pending: PendingSignIn
) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scopes,
        "state": pending.state,
        "code_challenge": challenge_of(pending.verifier),
        "code_challenge_method": "S256",
    }
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(query)}"


def _verifier(ctx: Context) -> OidcVerifier:
    oidc = ctx.identity.oidc
    if oidc is None or not ctx.settings.signs_in_through_oidc:
        raise Refused("this service does not sign people in through an identity provider", 404)
    return oidc


@router.get(START_PATH)
async def begin(request: Request, ctx: Context = Depends(context)) -> Response:
    pending = PendingSignIn.begin(local_path(request.query_params.get("next")))
    try:
        endpoint = await _verifier(ctx).endpoint("authorization_endpoint")
    except (Refused, IssuerUnreachable) as exc:
        return _refused(exc, pending.next, request, ctx)
    settings = ctx.settings
    target = authorization_url(
        endpoint,
        settings.oidc_client_id or "",
        _redirect_uri(request),
        settings.oidc_scopes,
        pending,
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        pending.cookie(),
        max_age=PENDING_SECONDS,
        path="/signin",
        httponly=True,
        samesite="lax",
        secure=is_https(request, ctx),
    )
    return response


@router.get(CALLBACK_PATH)
async def finish(request: Request, ctx: Context = Depends(context)) -> Response:
    pending = PendingSignIn.from_cookie(request.cookies.get(PENDING_COOKIE))
    next_path = pending.next if pending else "/"
    try:
        token = await _token_for(request, ctx, pending)
        principal = await principal_of(ctx, token)
    except (Refused, IssuerUnreachable) as exc:
        response = _refused(exc, next_path, request, ctx)
    else:
        response = start_session(next_path, request, ctx, token, principal)
    response.delete_cookie(
        PENDING_COOKIE, path="/signin", httponly=True, samesite="lax", secure=is_https(request, ctx)
    )
    return response


async def _token_for(request: Request, ctx: Context, pending: PendingSignIn | None) -> str:
    """The access token the issuer gives for the callback's code."""
    query = request.query_params
    if pending is None or not pending.answers(query.get("state")):
        raise Refused("this sign-in was not started in this browser, or took too long", 400)
    if "error" in query:
        reason = query.get("error_description") or query["error"]
        raise Refused(f"the identity provider did not sign you in: {reason}", 401)
    form = {
        "grant_type": "authorization_code",
        "code": query.get("code", ""),
        "redirect_uri": _redirect_uri(request),
        "client_id": ctx.settings.oidc_client_id or "",
        "code_verifier": pending.verifier,
    }
    endpoint = await _verifier(ctx).endpoint("token_endpoint")
    secret = ctx.settings.oidc_client_secret
    answer = await asyncio.to_thread(
        _redeem, endpoint, form, secret.get_secret_value() if secret else None
    )
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise Refused("the identity provider gave no access token", 502)
    return token


def _redeem(endpoint: str, form: dict[str, str], secret: str | None) -> dict[str, Any]:
    request = urllib.request.Request(
        endpoint,
        data=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    if secret is not None:  # client_secret_basic (RFC 6749 2.3.1: form-encoded, then Basic)
        pair = f"{quote(form['client_id'], safe='')}:{quote(secret, safe='')}"
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        raise Refused(f"the identity provider refused the sign-in: {_error_of(exc)}", 401) from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise IssuerUnreachable(f"the token endpoint could not be reached: {exc}") from exc
    return answer if isinstance(answer, dict) else {}


def _error_of(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.load(exc)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    return str(body.get("error_description") or body.get("error") or f"HTTP {exc.code}")


def _redirect_uri(request: Request) -> str:
    return base_url(request) + CALLBACK_PATH


def _refused(exc: Exception, next_path: str, request: Request, ctx: Context) -> Response:
    status = exc.status if isinstance(exc, Refused) else 503
    return signin_page(status, str(exc), next_path, request, ctx)
