"""A nats-server in operator mode (decentralised auth), and a creds file for each NATS user.

The trust chain nsc would make, made with ``nkeys``: an operator signs the accounts' JWTs
(jobstream's, with JetStream, and the system account), the account signs one user JWT per
NATS user of nats_users.py with that user's permissions. The server trusts the operator and
holds the accounts (the memory resolver); a component shows its user JWT and signs the
server's nonce with the user's seed. The JWT format is nats-io/jwt's (v2): a JSON header and
claims, base64url, signed with ed25519 by the issuer's NKEY.
"""

import base64
import json
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nkeys

from jobstream_infra.nats_users import USERS, Permissions

HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}
UNLIMITED = {
    "subs": -1,
    "data": -1,
    "payload": -1,
    "imports": -1,
    "exports": -1,
    "wildcards": True,
    "conn": -1,
    "leaf": -1,
}
JETSTREAM = {"mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}


@dataclass(frozen=True)
class Identity:
    seed: bytes

    @classmethod
    def new(cls, prefix: int) -> "Identity":
        return cls(nkeys.encode_seed(os.urandom(32), prefix))

    @property
    def public_key(self) -> str:
        return bytes(nkeys.from_seed(bytearray(self.seed)).public_key).decode()

    def sign(self, data: bytes) -> bytes:
        return nkeys.from_seed(bytearray(self.seed)).sign(data)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def signed_jwt(issuer: Identity, subject: str, name: str, nats: dict) -> str:
    claims = {
        "jti": uuid.uuid4().hex,  # unique; the server checks the signature, not how it is made
        "iat": int(time.time()),
        "iss": issuer.public_key,
        "sub": subject,
        "name": name,
        "nats": {**nats, "version": 2},
    }
    unsigned = f"{_b64(json.dumps(HEADER).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{unsigned}.{_b64(issuer.sign(unsigned.encode()))}"


def _user_claims(permissions: Permissions) -> dict:
    """nats_users.py's permissions as a user JWT's claims."""
    publish: dict[str, list[str]] = {"allow": list(dict.fromkeys(permissions.grant.publish))}
    if permissions.deny_publish:
        publish["deny"] = list(permissions.deny_publish)
    claims = {
        "type": "user",
        "pub": publish,
        "sub": {"allow": list(dict.fromkeys(permissions.grant.subscribe))},
        "subs": -1,
        "data": -1,
        "payload": -1,
    }
    if permissions.allow_responses:
        claims["resp"] = {"max": 1, "ttl": 0}
    return claims


def creds_text(user_jwt: str, user: Identity) -> str:
    """A creds file as `nsc generate creds` writes it."""
    return (
        f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{user.seed.decode()}\n------END USER NKEY SEED------\n"
    )


class Operator:
    """An operator, jobstream's account and the system account."""

    def __init__(self) -> None:
        self.operator = Identity.new(nkeys.PREFIX_BYTE_OPERATOR)
        self.account = Identity.new(nkeys.PREFIX_BYTE_ACCOUNT)
        self.system = Identity.new(nkeys.PREFIX_BYTE_ACCOUNT)

    def server_blocks(self) -> dict[str, object]:
        """The configuration of a server trusting this operator (no `authorization`)."""
        operator_jwt = signed_jwt(
            self.operator,
            self.operator.public_key,
            "jobstream-test",
            {"type": "operator", "system_account": self.system.public_key},
        )
        account = {"type": "account", "limits": {**UNLIMITED, **JETSTREAM}}
        accounts = {
            self.account.public_key: signed_jwt(
                self.operator, self.account.public_key, "jobstream", account
            ),
            self.system.public_key: signed_jwt(
                self.operator, self.system.public_key, "SYS", {"type": "account"}
            ),
        }
        return {
            "authorization": None,
            "operator": operator_jwt,
            "system_account": self.system.public_key,
            "resolver": "MEMORY",
            "resolver_preload": accounts,
            # The gateway's and the executor's JWTs carry ~4 KB of permissions: the CONNECT
            # line holding one exceeds the default limit (4 KB).
            "max_control_line": 16384,
        }

    def write_creds(self, folder: Path, users: Mapping[str, Permissions] = USERS) -> None:
        """``<user>.creds`` for every one of ``users``, signed by jobstream's account."""
        folder.mkdir(parents=True, exist_ok=True)
        for user, permissions in users.items():
            identity = Identity.new(nkeys.PREFIX_BYTE_USER)
            user_jwt = signed_jwt(
                self.account, identity.public_key, user, _user_claims(permissions)
            )
            (folder / f"{user}.creds").write_text(creds_text(user_jwt, identity))
