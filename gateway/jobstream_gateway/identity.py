"""Who is calling: the bearer credential of a request, turned into a Principal.

API keys (``jsk_…``) are looked up by hash in the key bucket every gateway watches, so a
revoked key is refused everywhere as soon as the deletion arrives. Any other bearer token is a
JWT for the OIDC verifier, when OIDC is on.
"""

import hmac
from typing import TYPE_CHECKING

from jobstream_contracts.access import ANONYMOUS, API_KEY_PREFIX, ApiKey, Principal, digest_of

from .catalog import Registry

if TYPE_CHECKING:
    from .oidc import OidcVerifier


class Unauthenticated(Exception):
    """The request's credential is missing, malformed, unknown, revoked or expired.

    The message says which, without echoing the credential; the gateway answers 401.
    """

    def __init__(self, reason: str, offered: bool = True) -> None:
        super().__init__(reason)
        # Whether a credential was sent (RFC 6750: then the challenge says invalid_token).
        self.offered = offered


class ApiKeys(Registry[ApiKey]):
    def __init__(self) -> None:
        super().__init__(ApiKey)

    def find(self, key: str) -> ApiKey | None:
        digest = digest_of(key)
        return next(
            (k for k in self.entries.values() if hmac.compare_digest(k.digest, digest)), None
        )


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("no credential: send Authorization: Bearer <token>", offered=False)
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header is not 'Bearer <token>'")
    return token.strip()


class Identity:
    """Turns a request's Authorization header into a Principal."""

    def __init__(self, api_keys: ApiKeys | None = None, oidc: "OidcVerifier | None" = None) -> None:
        self.api_keys = api_keys
        self.oidc = oidc

    @property
    def open(self) -> bool:
        return self.api_keys is None and self.oidc is None

    async def principal(self, authorization: str | None) -> Principal:
        if self.open:
            return ANONYMOUS
        token = bearer_token(authorization)
        if token.startswith(API_KEY_PREFIX) and self.api_keys is not None:
            key = self.api_keys.find(token)
            if key is None:
                raise Unauthenticated("unknown or revoked API key")
            return Principal(id=f"key:{key.name}", roles=frozenset({key.role}))
        if self.oidc is not None:
            return await self.oidc.principal(token)
        raise Unauthenticated("not an API key of this service")
