"""The embedded server's generated credentials: one password per NATS user, in the data dir.

Decisions:
- Generated once into ``<data_dir>/nats/credentials.json`` (mode 0600, its directory 0700) and
  kept across restarts, so components reconnect to a restarted server. The file also names the
  server's address, so a command run beside `jobstream up` (`jobstream apikey`) finds it.
- `jobstream up` hands each component its own user and password in its environment; the file
  is for commands that bring no credentials of their own. Whoever can read the data dir can
  read the file: it is as secret as the data.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel

from .nats_users import USERS, user_of

CREDENTIALS_FILE = "credentials.json"


class NatsCredentials(BaseModel):
    # The server's address, without credentials.
    url: str
    passwords: dict[str, str]

    def url_as(self, user: str) -> str:
        """The address with ``user``'s credentials in it."""
        parts = urlsplit(self.url)
        return parts._replace(netloc=f"{user}:{self.passwords[user]}@{parts.netloc}").geturl()

    def env_for(self, component: str) -> dict[str, str]:
        """The settings (environment) that connect ``component`` as its own user."""
        user = user_of(component)
        return {
            "JOBSTREAM_NATS_URL": self.url,
            "JOBSTREAM_NATS_USER": user,
            "JOBSTREAM_NATS_PASSWORD": self.passwords[user],
        }


def credentials_path(store_dir: Path) -> Path:
    return Path(store_dir) / CREDENTIALS_FILE


def read_credentials(store_dir: Path) -> NatsCredentials | None:
    path = credentials_path(store_dir)
    if not path.exists():
        return None
    return NatsCredentials.model_validate_json(path.read_text())


def ensure_credentials(store_dir: Path, url: str) -> NatsCredentials:
    """The store's credentials for the server at ``url``, generated where missing."""
    known = read_credentials(store_dir)
    earlier = known.passwords if known else {}
    passwords = {user: earlier.get(user) or secrets.token_urlsafe(24) for user in USERS}
    credentials = NatsCredentials(url=url, passwords=passwords)
    write_private(credentials_path(store_dir), credentials.model_dump_json(indent=2))
    return credentials


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by this OS user only, in a directory only it can enter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    staging = path.with_name(path.name + ".new")
    staging.unlink(missing_ok=True)
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.replace(staging, path)
