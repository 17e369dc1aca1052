"""nats-servers secured as an operator would secure one: TLS with client certificates made by
``trustme``, users that log in with NKEYs; and the files a component is given for them."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nkeys
import trustme

from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.nats_users import USERS

# The only name in the test server's certificate: a client connecting to 127.0.0.1 must say
# it (JOBSTREAM_NATS_TLS_SERVER_NAME), as behind a tunnel or a load balancer.
SERVER_NAME = "nats.test"


class SecuredNats(EmbeddedNats):
    """The embedded server with ``blocks`` of a test's own over its configuration's; a
    block given as None is left out."""

    def __init__(self, store_dir: Path, blocks: Mapping[str, object]) -> None:
        super().__init__(store_dir)
        self.blocks = blocks

    def config_blocks(self) -> dict[str, object]:
        blocks = {**super().config_blocks(), **self.blocks}
        return {name: block for name, block in blocks.items() if block is not None}

    @property
    def tls_url(self) -> str:
        return f"tls://{self.host}:{self.port}"


@dataclass(frozen=True)
class ClientFiles:
    """What a component is given to connect over TLS: the authority, its certificate, its
    key; as settings (the keyword arguments of Stack and NatsSettings)."""

    ca: Path
    cert: Path
    key: Path

    def settings(self) -> dict[str, object]:
        return {
            "nats_tls_ca_file": self.ca,
            "nats_tls_cert_file": self.cert,
            "nats_tls_key_file": self.key,
            "nats_tls_server_name": SERVER_NAME,
        }


def _write(folder: Path, name: str, pem: trustme.Blob) -> Path:
    path = folder / name
    pem.write_to_path(str(path))
    return path


def issue_client(ca: trustme.CA, folder: Path, name: str = "client") -> ClientFiles:
    """A client certificate of ``ca`` and the files naming them."""
    folder.mkdir(parents=True, exist_ok=True)
    leaf = ca.issue_cert(f"{name}.jobstream.test")
    return ClientFiles(
        _write(folder, "ca.pem", ca.cert_pem),
        _write(folder, f"{name}.pem", leaf.cert_chain_pems[0]),
        _write(folder, f"{name}.key", leaf.private_key_pem),
    )


def tls_block(ca: trustme.CA, folder: Path) -> dict[str, object]:
    """A server ``tls`` block: a certificate for SERVER_NAME, clients verified against ``ca``."""
    folder.mkdir(parents=True, exist_ok=True)
    leaf = ca.issue_cert(SERVER_NAME)
    return {
        "cert_file": str(_write(folder, "server.pem", leaf.cert_chain_pems[0])),
        "key_file": str(_write(folder, "server.key", leaf.private_key_pem)),
        "ca_file": str(_write(folder, "ca.pem", ca.cert_pem)),
        "verify": True,
    }


def new_user_seed() -> bytes:
    """A fresh NKEY user seed (``SU…``)."""
    return nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)


def public_key(seed: bytes) -> str:
    return bytes(nkeys.from_seed(bytearray(seed)).public_key).decode()


def seed_folder(folder: Path) -> dict[str, str]:
    """A credentials folder with a new seed for every NATS user (``<user>.nk``); the users'
    public keys."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = {}
    for user in USERS:
        seed = new_user_seed()
        (folder / f"{user}.nk").write_bytes(seed + b"\n")
        keys[user] = public_key(seed)
    return keys
