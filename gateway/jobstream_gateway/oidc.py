"""Who an OIDC bearer token names: a JWT checked against its issuer's published keys.

Decisions:
- One issuer, found once by discovery (``{issuer}/.well-known/openid-configuration``). The
  document must name exactly the configured issuer, as OIDC Discovery requires, so a mistyped
  setting fails loudly instead of trusting whatever answers at that address.
- Keys come from the document's ``jwks_uri`` through PyJWKClient: it caches the set for five
  minutes and refetches once for a ``kid`` it does not know (key rotation), at most once per
  ``refetch_cooldown``, so tokens with made-up kids cannot make us hammer the issuer. A token
  without a ``kid`` is refused before any fetch.
- The algorithm is the key's, never the token's, and only an asymmetric one: ``none`` and HS256
  signed with the public key (the classic confusion) cannot verify.
- ``exp`` and ``sub`` are required; ``iss``, ``aud``, ``exp``, ``nbf`` and ``iat`` are checked
  with 30 s of leeway for clock skew. The principal is ``oidc:<sub>``.
- Roles are the names in the roles claim (a dotted path; a list or a space-separated string)
  that are Roles; other names are ignored, and a token with none is a principal without roles
  (403 wherever a role is needed, rather than 401: the caller is known).
- Fetches are blocking (urllib) and run in a thread of their own; a key found in
  PyJWKClient's fresh cache is used with no thread hop (it costs more CPU than the signature
  check). A failed fetch is the issuer's fault, not the caller's: ``IssuerUnreachable`` (503),
  never ``Unauthenticated`` (401).
- Access tokens only: an ID token whose audience is ours (many issuers make the API's audience
  a client of its own) must not open the API. A header ``typ`` of ``at+jwt`` (RFC 9068) is an
  access token; a token of any other declared type, or with an ID token's claims (``nonce``,
  ``at_hash``, ``c_hash``, Keycloak's ``"typ": "ID"``), is refused.
- Reasons for refusal are fixed sentences: they never quote the token.
"""

import asyncio
import base64
import http.client
import json
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlparse

import jwt

from jobstream_contracts.access import Principal, Role
from jobstream_infra.settings import AccessSettings

from .identity import Unauthenticated

T = TypeVar("T")

LEEWAY_SECONDS = 30
FETCH_TIMEOUT_SECONDS = 5.0

_ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
    | {"ES256", "ES256K", "ES384", "ES512", "EdDSA"}
)
_ROLES = {role.value: role for role in Role}
# Header types (RFC 7515 section 4.1.9: case-insensitive, "application/" optional) that an
# access token may declare; undeclared is allowed, since many issuers never set it.
_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "jwt"})
# Claims only an ID token carries (OpenID Connect Core 1.0, sections 2 and 3.1.3.6).
_ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash")

# Most specific first: ExpiredSignatureError and the others are also InvalidTokenErrors.
_REASONS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidAudienceError, "the token is meant for another audience"),
    (jwt.InvalidIssuerError, "the token comes from another issuer"),
    (jwt.InvalidAlgorithmError, "the token's algorithm is not the issuer key's"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
    (jwt.DecodeError, "the token is malformed"),
)


class IssuerUnreachable(Exception):
    """The issuer's discovery document or keys could not be fetched or used; the gateway
    answers 503, since the caller's credential may well be good."""


class OidcVerifier:
    def __init__(self, settings: AccessSettings, *, refetch_cooldown: float = 30.0) -> None:
        if not settings.oidc_issuer or not settings.oidc_audience:
            raise ValueError("OIDC needs JOBSTREAM_OIDC_ISSUER and JOBSTREAM_OIDC_AUDIENCE")
        if urlparse(settings.oidc_issuer).scheme not in ("https", "http"):
            raise ValueError("JOBSTREAM_OIDC_ISSUER must be an https:// (or http://) URL")
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.roles_claim = settings.oidc_roles_claim
        self._refetch_cooldown = refetch_cooldown
        self._keys: jwt.PyJWKClient | None = None
        # The issuer's discovery document, once found: its endpoints for signing people in.
        self.document: dict[str, Any] = {}
        self._discovering = asyncio.Lock()
        # PyJWKClient fetches one at a time anyway; its own thread keeps a hanging issuer from
        # filling the default executor the gateway's database reads use.
        self._fetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oidc-fetch")

    async def principal(self, token: str) -> Principal:
        """The principal ``token`` names; Unauthenticated when it is not a good token of ours."""
        kid = _key_id(_checked_header(token))
        keys = await self._key_client()
        key = _cached_signing_key(keys, kid) or await self._in_fetcher(_fetched_key, keys, kid)
        claims = self._verified_claims(token, key)
        return Principal(id=f"oidc:{claims['sub']}", roles=roles_in(claims, self.roles_claim))

    async def endpoint(self, name: str) -> str:
        """An endpoint the discovery document names (``authorization_endpoint``, …)."""
        await self._key_client()
        url = self.document.get(name)
        if not isinstance(url, str) or urlparse(url).scheme not in ("https", "http"):
            raise IssuerUnreachable(f"the issuer's discovery document names no {name}")
        return url

    async def _key_client(self) -> jwt.PyJWKClient:
        # One discovery at a time; a failed one is retried by the next request.
        async with self._discovering:
            if self._keys is None:
                self._keys = await self._in_fetcher(self._discover)
        return self._keys

    async def _in_fetcher(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._fetcher, function, *args)

    def _discover(self) -> jwt.PyJWKClient:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = _fetch_json(url)
        if document.get("issuer") != self.issuer:
            raise IssuerUnreachable(f"{url} names another issuer than {self.issuer}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise IssuerUnreachable(f"{url} names no jwks_uri")
        self.document = document
        try:
            return jwt.PyJWKClient(
                jwks_uri,
                timeout=FETCH_TIMEOUT_SECONDS,
                cooldown_duration=self._refetch_cooldown,
            )
        except jwt.PyJWKClientError as exc:
            raise IssuerUnreachable(f"{url} names a jwks_uri that is not http(s)") from exc

    def _verified_claims(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        if key.algorithm_name not in _ASYMMETRIC:
            raise Unauthenticated("the token's key is not an asymmetric signing key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(_reason(exc)) from None
        if not claims["sub"]:
            raise Unauthenticated("the token's subject (sub) is empty")
        if any(name in claims for name in _ID_TOKEN_CLAIMS) or claims.get("typ") == "ID":
            raise Unauthenticated("the token is an ID token, not an access token")
        return claims


def roles_in(claims: dict[str, Any], path: str) -> frozenset[Role]:
    """The Roles named at ``path`` (dotted) in ``claims``: a list or a space-separated string."""
    value: Any = claims
    for step in path.split("."):
        value = value.get(step) if isinstance(value, dict) else None
    names = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
    return frozenset(_ROLES[name] for name in names if isinstance(name, str) and name in _ROLES)


def _checked_header(token: str) -> dict[str, Any]:
    """The token's header, refused when it declares a type other than an access token's."""
    # Only the short header segment is read here: PyJWT's parser checks every character of the
    # whole token in Python (80 µs), and jwt.decode parses it all strictly again anyway.
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError:
        raise Unauthenticated("the token is malformed") from None
    if not isinstance(header, dict):
        raise Unauthenticated("the token is malformed")
    declared = header.get("typ")
    if declared is not None and _media_type(declared) not in _ACCESS_TOKEN_TYPES:
        raise Unauthenticated("the token is not an access token (its header's typ)")
    return header


def _media_type(declared: object) -> str:
    text = str(declared).lower()
    return text.removeprefix("application/")


def _key_id(header: dict[str, Any]) -> str:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthenticated("the token names no signing key (kid)")
    return kid


def _cached_signing_key(keys: jwt.PyJWKClient, kid: str) -> jwt.PyJWK | None:
    """The key from PyJWKClient's fresh cache, with no thread: most requests need no fetch."""
    cached = keys.jwk_set_cache.get() if keys.jwk_set_cache else None
    if cached is None:
        return None
    signing = [key for key in cached.keys if key.public_key_use in ("sig", None)]
    return keys.match_kid(signing, kid)


def _fetched_key(keys: jwt.PyJWKClient, kid: str) -> jwt.PyJWK:
    try:
        return keys.get_signing_key(kid)
    except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError) as exc:
        raise IssuerUnreachable(f"the issuer's keys could not be fetched: {exc}") from exc
    except jwt.PyJWKClientError:
        raise Unauthenticated("the token is signed by a key the issuer does not publish") from None


def _fetch_json(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            document = json.load(response)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise IssuerUnreachable(f"{url} could not be fetched: {exc}") from exc
    if not isinstance(document, dict):
        raise IssuerUnreachable(f"{url} is not a JSON object")
    return document


def _reason(exc: jwt.InvalidTokenError) -> str:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the token lacks the {exc.claim!r} claim"
    return next((reason for kind, reason in _REASONS if isinstance(exc, kind)), "invalid token")
