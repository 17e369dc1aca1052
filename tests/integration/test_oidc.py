"""The OIDC verifier against a real issuer on loopback: what it accepts, what it refuses and
why, key rotation, and an issuer that cannot be reached."""

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from jobstream_contracts.access import Principal, Role
from jobstream_gateway.identity import Unauthenticated
from jobstream_gateway.oidc import IssuerUnreachable, OidcVerifier
from jobstream_infra.settings import AccessSettings

from ..support.issuer import AUDIENCE, LocalIssuer


@pytest.fixture
def issuer():
    with LocalIssuer() as running:
        yield running


def verifier_for(
    issuer_url: str, roles_claim: str = "roles", refetch_cooldown: float = 30.0
) -> OidcVerifier:
    settings = AccessSettings(
        oidc_issuer=issuer_url, oidc_audience=AUDIENCE, oidc_roles_claim=roles_claim
    )
    return OidcVerifier(settings, refetch_cooldown=refetch_cooldown)


async def test_a_good_token_names_its_subject_and_the_roles_we_know(issuer):
    token = issuer.mint("alice", ["submitter", "auditor", "offline_access"])

    principal = await verifier_for(issuer.url).principal(token)

    assert principal == Principal("oidc:alice", frozenset({Role.SUBMITTER, Role.AUDITOR}))


async def test_roles_may_be_one_space_separated_string(issuer):
    token = issuer.mint("bob", "reader operator")

    principal = await verifier_for(issuer.url).principal(token)

    assert principal.roles == {Role.READER, Role.OPERATOR}


async def test_roles_may_sit_at_a_dotted_path_as_keycloak_puts_them(issuer):
    token = issuer.mint(
        "carol", None, realm_access={"roles": ["operator", "default-roles-jobstream"]}
    )

    principal = await verifier_for(issuer.url, "realm_access.roles").principal(token)

    assert principal == Principal("oidc:carol", frozenset({Role.OPERATOR}))


async def test_a_token_without_roles_is_still_a_principal(issuer):
    principal = await verifier_for(issuer.url).principal(issuer.mint("dave", None))

    assert principal == Principal("oidc:dave", frozenset())


def _forge(claims: dict, header: dict, sign: Callable[[bytes], bytes]) -> str:
    """A token put together by hand, as an attacker would, not by a JWT library."""
    segments = [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode())]
    signing_input = ".".join(segments).encode()
    return ".".join([*segments, _b64(sign(signing_input))])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(issuer: LocalIssuer) -> str:
    """The classic confusion: HMAC keyed with the issuer's public key, which anyone can read."""
    public_pem = (
        issuer.keys[issuer.kid]
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.kid}
    return _forge(
        issuer.claims("mallory", ["admin"]),
        header,
        lambda signing_input: hmac.new(public_pem, signing_input, hashlib.sha256).digest(),
    )


def _signed_by_another_key(issuer: LocalIssuer) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = issuer.claims("mallory", ["admin"])
    return jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": issuer.kid})


def _unsigned(issuer: LocalIssuer) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": issuer.kid}
    return _forge(issuer.claims("mallory", ["admin"]), header, lambda _: b"")


def _without_key_id(issuer: LocalIssuer) -> str:
    return jwt.encode(issuer.claims(), issuer.keys[issuer.kid], algorithm="RS256")


REFUSALS = [
    pytest.param(lambda i: i.mint(expires_in=-120), "expired", id="expired"),
    pytest.param(lambda i: i.mint(nbf=int(time.time()) + 120), "not valid yet", id="nbf"),
    pytest.param(lambda i: i.mint(iat=int(time.time()) + 120), "not valid yet", id="iat"),
    pytest.param(lambda i: i.mint(audience="another-api"), "another audience", id="aud"),
    pytest.param(lambda i: i.mint(iss="http://127.0.0.1:1/evil"), "another issuer", id="iss"),
    pytest.param(_signed_by_another_key, "signature", id="another-key"),
    pytest.param(_unsigned, "algorithm", id="alg-none"),
    pytest.param(_hs256_with_public_key, "algorithm", id="hs256-public-key"),
    pytest.param(lambda i: i.mint(None, ["admin"]), "'sub'", id="no-sub"),
    pytest.param(lambda i: i.mint("", ["admin"]), "subject", id="empty-sub"),
    pytest.param(lambda i: i.mint(exp=None), "'exp'", id="no-exp"),
    pytest.param(_without_key_id, "kid", id="no-kid"),
    pytest.param(lambda i: "garbage, not a token", "malformed", id="garbage"),
    pytest.param(lambda i: "!!!.@@@.###", "malformed", id="not-base64"),
    # An ID token for a client whose id is our audience: it says who signed in, not what the
    # bearer may call.
    pytest.param(lambda i: i.mint(nonce="n-0S6_WzA2Mj"), "ID token", id="id-token-nonce"),
    pytest.param(lambda i: i.mint(at_hash="77QmUPtjPfzWtF2AnpK9RQ"), "ID token", id="at_hash"),
    pytest.param(lambda i: i.mint(c_hash="LDktKdoQak3Pk0cnXxCltA"), "ID token", id="c_hash"),
    pytest.param(lambda i: i.mint(typ="ID"), "ID token", id="keycloak-typ-id"),
    pytest.param(
        lambda i: i.mint(header_typ="id_token+jwt"), "not an access token", id="header-typ"
    ),
    pytest.param(lambda i: i.mint(header_typ="logout+jwt"), "not an access token", id="logout"),
]


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "JWT", None])
async def test_an_access_token_may_declare_its_type_or_not(issuer, typ):
    principal = await verifier_for(issuer.url).principal(issuer.mint("erin", header_typ=typ))

    assert principal == Principal("oidc:erin", frozenset())


@pytest.mark.parametrize(("forge", "reason"), REFUSALS)
async def test_a_bad_token_is_refused_with_a_reason_that_never_quotes_it(issuer, forge, reason):
    token = forge(issuer)

    with pytest.raises(Unauthenticated) as refused:
        await verifier_for(issuer.url).principal(token)

    assert reason in str(refused.value)
    assert not any(part and part in str(refused.value) for part in token.split("."))


async def test_a_rotated_key_is_picked_up(issuer):
    verifier = verifier_for(issuer.url, refetch_cooldown=0)
    await verifier.principal(issuer.mint("alice"))
    old_kid, new_kid = issuer.kid, issuer.rotate()

    assert (await verifier.principal(issuer.mint("bob"))).id == "oidc:bob"
    assert (await verifier.principal(issuer.mint("alice", kid=old_kid))).id == "oidc:alice"
    assert issuer.kid == new_kid
    assert issuer.jwks_fetches == 2


async def test_made_up_key_ids_refetch_the_keys_at_most_once_per_cooldown(issuer):
    cooldown = 0.5
    verifier = verifier_for(issuer.url, refetch_cooldown=cooldown)
    await verifier.principal(issuer.mint("alice"))
    await asyncio.sleep(cooldown + 0.1)
    signing_key = issuer.keys[issuer.kid]

    began = time.monotonic()
    for attempt in range(20):
        token = jwt.encode(
            issuer.claims(), signing_key, algorithm="RS256", headers={"kid": f"made-up-{attempt}"}
        )
        with pytest.raises(Unauthenticated, match="does not publish"):
            await verifier.principal(token)
    cooldowns = int((time.monotonic() - began) / cooldown)

    # The first made-up key refetches; then one more at most per cooldown gone by (a loaded
    # machine signs 20 tokens in more than one), never one per request.
    assert 2 <= issuer.jwks_fetches <= 2 + cooldowns, (issuer.jwks_fetches, cooldowns)


async def test_concurrent_first_requests_discover_once(issuer):
    verifier = verifier_for(issuer.url)
    tokens = [issuer.mint(f"user-{n}") for n in range(10)]

    principals = await asyncio.gather(*(verifier.principal(token) for token in tokens))

    assert [p.id for p in principals] == [f"oidc:user-{n}" for n in range(10)]
    assert issuer.discoveries == 1


async def test_a_malformed_token_costs_the_issuer_nothing(issuer):
    verifier = verifier_for(issuer.url)
    for token in ("garbage", _without_key_id(issuer)):
        with pytest.raises(Unauthenticated):
            await verifier.principal(token)

    assert issuer.requests == []


async def test_an_issuer_nobody_answers_at_is_unreachable_not_a_bad_token(issuer):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(IssuerUnreachable):
        await verifier_for(f"http://127.0.0.1:{closed_port}").principal(issuer.mint())


async def test_a_failing_key_set_is_unreachable_until_it_recovers(issuer):
    verifier = verifier_for(issuer.url)
    issuer.jwks_status = 503

    with pytest.raises(IssuerUnreachable):
        await verifier.principal(issuer.mint("alice"))
    issuer.jwks_status = 200

    assert (await verifier.principal(issuer.mint("alice"))).id == "oidc:alice"


async def test_a_discovery_document_naming_another_issuer_is_not_trusted(issuer):
    # The same document, fetched for an issuer spelt with a trailing slash: not the same id.
    verifier = verifier_for(issuer.url + "/")

    with pytest.raises(IssuerUnreachable, match="another issuer"):
        await verifier.principal(issuer.mint())
