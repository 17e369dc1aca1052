"""nats-server configuration text, rendered from Python values.

The embedded server's configuration and the README's block for an external server are both
rendered from the users of nats_users.py, so the two cannot drift apart.
"""

import json
import sys
from collections.abc import Mapping

from .nats_users import USERS, Permissions


class EnvVar(str):
    """A value nats-server reads from its environment: rendered as ``$NAME``, unquoted."""


def render(value: object, indent: int = 0) -> str:
    """One value in nats-server's configuration syntax (strings quoted as JSON)."""
    if isinstance(value, EnvVar):
        return f"${value}"
    if isinstance(value, Mapping):
        inner = "  " * (indent + 1)
        lines = [f"{inner}{key}: {render(item, indent + 1)}" for key, item in value.items()]
        return "{\n" + "\n".join(lines) + "\n" + "  " * indent + "}"
    if isinstance(value, list | tuple):
        inline = "[" + ", ".join(render(item) for item in value) + "]"
        if all(isinstance(item, str) for item in value) and len(inline) <= 60:
            return inline
        inner = "  " * (indent + 1)
        items = [inner + render(item, indent + 1) for item in value]
        return "[\n" + "\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(value)


def conf_text(blocks: Mapping[str, object]) -> str:
    """A whole configuration file: top-level keys, one per line."""
    return "".join(f"{key}: {render(value)}\n" for key, value in blocks.items())


def _permissions(permissions: Permissions) -> dict[str, object]:
    publish: dict[str, object] = {"allow": list(dict.fromkeys(permissions.grant.publish))}
    if permissions.deny_publish:
        publish["deny"] = list(permissions.deny_publish)
    rendered: dict[str, object] = {
        "publish": publish,
        "subscribe": {"allow": list(dict.fromkeys(permissions.grant.subscribe))},
    }
    if permissions.allow_responses:
        rendered["allow_responses"] = True
    return rendered


def authorization(passwords: Mapping[str, str]) -> dict[str, object]:
    """The ``authorization`` block: every user, its password and its permissions."""
    users = [
        {"user": user, "password": passwords[user], "permissions": _permissions(permissions)}
        for user, permissions in USERS.items()
    ]
    return {"users": users}


def nkey_authorization(public_keys: Mapping[str, str]) -> dict[str, object]:
    """The ``authorization`` block of users who log in with NKEYs: each user's public key
    in place of its name and password, with the same permissions."""
    users = [
        {"nkey": public_keys[user], "permissions": _permissions(permissions)}
        for user, permissions in USERS.items()
    ]
    return {"users": users}


def external_server_block(nkeys: bool = False) -> str:
    """What an external server's configuration needs, passwords (or the users' public
    NKEYs) from its environment."""
    if nkeys:
        keys = {user: EnvVar(f"JOBSTREAM_NATS_{user.upper()}_NKEY") for user in USERS}
        return conf_text({"authorization": nkey_authorization(keys)})
    passwords = {user: EnvVar(f"JOBSTREAM_NATS_{user.upper()}_PASSWORD") for user in USERS}
    return conf_text({"authorization": authorization(passwords)})


if __name__ == "__main__":  # `python -m jobstream_infra.nats_conf [--nkeys]`: the docs' block
    print(external_server_block(nkeys="--nkeys" in sys.argv[1:]), end="")
