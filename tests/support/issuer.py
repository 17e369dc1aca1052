"""A real OIDC issuer on 127.0.0.1 for tests: a discovery document, a JWKS, and tokens signed
with RSA keys made by ``cryptography``.

    with LocalIssuer() as issuer:
        token = issuer.mint("alice", ["submitter"])
        issuer.rotate()          # a new key: published, and signing from now on
        issuer.jwks_fetches      # how often the JWKS was asked for

It also signs people in (authorization code with PKCE): ``/authorize`` signs in
``issuer.person`` at once and redirects back with a code; ``/token`` redeems a code once, for
the client, redirect URI and PKCE verifier it was issued to (and ``client_secret`` by HTTP
Basic, when set), with a token minted for that person.

Keys stay published after a rotation, as real issuers keep them while older tokens live.
``claims()`` is the payload ``mint`` signs, for tests that sign it some other way; setting
``jwks_status`` (say to 503) makes the JWKS endpoint fail until it is set back to 200.
"""

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "jobstream"
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks"
AUTHORIZE_PATH = "/authorize"
TOKEN_PATH = "/token"


class LocalIssuer:
    def __init__(self, audience: str = AUDIENCE, host: str = "127.0.0.1") -> None:
        # The name the issuer goes by: "localhost" makes it another site than a gateway at
        # 127.0.0.1, for a browser's SameSite rules.
        self.host = host
        self.audience = audience
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.kid: str = self.rotate()
        self.jwks_status = 200
        # Who signs in at /authorize, and the codes issued and not yet redeemed.
        self.person: tuple[str, list[str]] = ("alice", ["submitter"])
        self.client_secret: str | None = None
        # True: /authorize shows a login page whose button sends the browser back, as a real
        # provider's does (the way back is then a navigation the provider's page starts).
        self.login_page = False
        self.grants: dict[str, dict[str, Any]] = {}
        # Machines that get tokens by the client-credentials grant: id -> (secret, roles);
        # their tokens' lifetime in seconds, and how many were issued.
        self.machines: dict[str, tuple[str, list[str]]] = {}
        self.machine_token_lifetime = 300
        self.machine_tokens = 0
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )

    @property
    def url(self) -> str:
        """The issuer's identifier, which is also where it serves its discovery document."""
        port = self._httpd.server_address[1]
        return f"http://{self.host}:{port}"

    @property
    def jwks_fetches(self) -> int:
        return self.requests.count(JWKS_PATH)

    @property
    def discoveries(self) -> int:
        return self.requests.count(DISCOVERY_PATH)

    def rotate(self) -> str:
        """Publish a new key and sign with it from now on; its kid."""
        kid = f"key-{len(self.keys) + 1}"
        # A new dict, not an update: the server thread may be reading the old one.
        self.keys = {
            **self.keys,
            kid: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        }
        self.kid = kid
        return kid

    def claims(
        self,
        sub: str | None = "alice",
        roles: Sequence[str] | str | None = (),
        *,
        audience: str | None = None,
        expires_in: int = 300,
        **claims: Any,
    ) -> dict[str, Any]:
        """A token's payload; a claim given as None is left out."""
        now = int(time.time())
        payload = {
            "iss": self.url,
            "sub": sub,
            "aud": audience or self.audience,
            "iat": now,
            "exp": now + expires_in,
            "roles": roles if isinstance(roles, str | None) else list(roles),
        }
        payload.update(claims)
        return {name: value for name, value in payload.items() if value is not None}

    def mint(
        self,
        sub: str | None = "alice",
        roles: Sequence[str] | str | None = (),
        *,
        audience: str | None = None,
        expires_in: int = 300,
        kid: str | None = None,
        header_typ: str | None = "JWT",
        **claims: Any,
    ) -> str:
        """A token signed with key ``kid`` (the newest by default), as the issuer would sign it;
        ``header_typ`` is its header's declared type (None: undeclared)."""
        kid = kid or self.kid
        payload = self.claims(sub, roles, audience=audience, expires_in=expires_in, **claims)
        headers = {"kid": kid, "typ": header_typ}
        return jwt.encode(payload, self.keys[kid], algorithm="RS256", headers=headers)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": self.url + JWKS_PATH,
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["code"],
            "authorization_endpoint": self.url + AUTHORIZE_PATH,
            "token_endpoint": self.url + TOKEN_PATH,
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """Where /authorize sends the browser: back, with a code for ``person``."""
        code = secrets.token_urlsafe(16)
        self.grants[code] = {**query, "person": self.person}
        back = {"code": code, "state": query.get("state", "")}
        return f"{query['redirect_uri']}?{urlencode(back)}"

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") == "client_credentials":
            return self._machine_token(authorization)
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if (
            form.get("client_id") != grant["client_id"]
            or form.get("redirect_uri") != grant["redirect_uri"]
            or challenge.decode() != grant["code_challenge"]
            or not self._client_authenticated(grant["client_id"], authorization)
        ):
            return 400, {"error": "invalid_grant", "error_description": "the code is not yours"}
        sub, roles = grant["person"]
        return 200, {"access_token": self.mint(sub, roles), "token_type": "Bearer"}

    def _machine_token(self, authorization: str | None) -> tuple[int, dict[str, Any]]:
        client_id, secret = _basic(authorization)
        known = self.machines.get(client_id)
        if known is None or known[0] != secret:
            return 401, {"error": "invalid_client"}
        with self._lock:
            self.machine_tokens += 1
        lifetime = self.machine_token_lifetime
        token = self.mint(client_id, known[1], expires_in=lifetime)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}

    def _client_authenticated(self, client_id: str, authorization: str | None) -> bool:
        if self.client_secret is None:
            return True
        given_id, given_secret = _basic(authorization)
        return given_id == client_id and given_secret == self.client_secret

    def jwks(self) -> dict[str, Any]:
        return {"keys": [_public_jwk(kid, key) for kid, key in self.keys.items()]}

    def __enter__(self) -> "LocalIssuer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)


def _basic(authorization: str | None) -> tuple[str, str]:
    """The client id and secret of an HTTP Basic authorization ("", "" for any other)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    pair = base64.b64decode(encoded or "").decode() if scheme == "Basic" else ":"
    given_id, _, given_secret = pair.partition(":")
    return unquote(given_id), unquote(given_secret)


def _public_jwk(kid: str, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    assert isinstance(public, dict)
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def _handler_for(issuer: LocalIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no handler thread outlives the server.
        protocol_version = "HTTP/1.0"

        def log_message(self, format, *args):
            pass

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            issuer._record(path)
            if path == DISCOVERY_PATH:
                return self._answer(200, issuer.discovery())
            if path == JWKS_PATH:
                return self._answer(issuer.jwks_status, issuer.jwks())
            if path == AUTHORIZE_PATH:
                back = issuer.authorize(dict(parse_qsl(self.path.partition("?")[2])))
                if issuer.login_page:
                    return self._login_page(back)
                self.send_response(302)
                self.send_header("Location", back)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self._answer(404, {"error": "not found"})

        def do_POST(self):
            issuer._record(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            if self.path != TOKEN_PATH:
                return self._answer(404, {"error": "not found"})
            return self._answer(*issuer.token(form, self.headers.get("Authorization")))

        def _login_page(self, back: str) -> None:
            action, _, query = back.partition("?")
            fields = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in parse_qsl(query)
            )
            page = (
                "<!DOCTYPE html><title>Log in</title>"
                f'<form method="get" action="{html.escape(action)}">{fields}'
                "<button>Log in</button></form>"
            )
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _answer(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
