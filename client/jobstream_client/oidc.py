"""OIDC client credentials for a service or a script: an ``httpx.Auth`` that gets a token
from the issuer with the client's id and secret, sends it, and gets a new one before it
expires (``early_expiry`` seconds before). httpx-auth does the grant and the caching; this
finds the issuer's token endpoint by discovery.

    auth = oidc_client_credentials("https://id.example/realms/climate", "nightly", secret)
    with Client("https://jobs.example", auth=auth) as client: ...

Needs the ``oidc`` extra: ``pip install 'jobstream-client[oidc]'``. Under ``AsyncClient`` a
new token is fetched with a blocking request, once per token.
"""

from typing import Any

import httpx

DISCOVERY = "/.well-known/openid-configuration"


def token_endpoint(issuer: str, timeout: float = 30.0) -> str:
    """The issuer's token endpoint, from its discovery document."""
    response = httpx.get(issuer.rstrip("/") + DISCOVERY, timeout=timeout)
    response.raise_for_status()
    return str(response.json()["token_endpoint"])


def oidc_client_credentials(
    issuer: str,
    client_id: str,
    client_secret: str,
    *,
    scope: str | list[str] | None = None,
    early_expiry: float = 30.0,
    **token_params: Any,
) -> httpx.Auth:
    """An auth sending a client-credentials token of ``issuer``, renewed before it expires;
    ``token_params`` go to the token request as they are (``audience=...`` for issuers that
    want one)."""
    try:
        from httpx_auth import OAuth2ClientCredentials
    except ImportError as exc:
        raise ImportError("OIDC client credentials need 'jobstream-client[oidc]'") from exc
    return OAuth2ClientCredentials(
        token_endpoint(issuer),
        client_id,
        client_secret,
        scope=scope,
        early_expiry=early_expiry,
        **token_params,
    )
