"""NKEY seeds and creds files: each component's own NATS credentials, found in one folder.

Decisions:
- One folder (JOBSTREAM_NATS_CREDENTIALS_DIR), one file per NATS user, named by it:
  ``<user>.creds`` (a user JWT and its seed, for a server in operator mode) or ``<user>.nk``
  (an NKEY seed, for an ``nkey`` user of the server's authorization). Every component is its
  own NATS user, so one setting serves every way jobstream runs: `jobstream up` starts its
  components from one environment, the commands take the file of the user whose rights they
  need (`events export` the projector's, `apikey` the admin's), and a split deployment mounts
  only its own component's file in each container's folder.
- A file is checked before connecting, so a wrong one ends the start with its name: nats-py
  reads it only while connecting, and loops for ever on a creds file without a JWT.
"""

from dataclasses import dataclass
from pathlib import Path

import nkeys

CREDS = ".creds"
SEED = ".nk"
# The blocks of a creds file nats-py reads (`nsc generate creds` writes them).
CREDS_BLOCKS = ("BEGIN NATS USER JWT", "BEGIN USER NKEY SEED")


class UnusableKey(ValueError):
    """The folder holds no usable credentials file for a user."""


@dataclass(frozen=True)
class UserKey:
    path: Path

    @property
    def is_creds(self) -> bool:
        return self.path.suffix == CREDS


def user_key(folder: Path, user: str) -> UserKey:
    """``user``'s credentials file in ``folder``, checked readable and well formed."""
    found = [folder / f"{user}{suffix}" for suffix in (CREDS, SEED)]
    present = [path for path in found if path.exists()]
    if not present:
        raise UnusableKey(
            f"no {found[0].name} or {found[1].name} in {folder}: each component reads "
            f"the file named by its NATS user ({user})"
        )
    if len(present) > 1:
        raise UnusableKey(f"{folder} holds both {found[0].name} and {found[1].name}: keep one")
    key = UserKey(present[0])
    _check(key)
    return key


def _check(key: UserKey) -> None:
    try:
        text = key.path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UnusableKey(f"cannot read {key.path}: {exc}") from None
    if key.is_creds:
        missing = [block for block in CREDS_BLOCKS if block not in text]
        if missing:
            raise UnusableKey(f"{key.path} is no creds file: it has no {missing[0]} block")
        return
    try:
        nkeys.from_seed(bytearray(text.strip().encode())).wipe()
    except (nkeys.NkeysError, ValueError):
        raise UnusableKey(
            f"{key.path} holds no NKEY seed (a user's is one line starting SU)"
        ) from None
