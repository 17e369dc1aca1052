"""`jobstream apikey create|list|revoke`: the admin's commands for API keys.

They write the key bucket over NATS as the admin user; every gateway watching the bucket sees
the change within moments. A new key is printed once and stored only as its hash.
"""

import json
import sys
from typing import TextIO

from jobstream_contracts.access import Role
from jobstream_infra.apikeys import (
    ApiKeyRefused,
    api_key_bucket,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from jobstream_infra.connection import close_nats, connect_nats
from jobstream_infra.settings import NatsSettings


async def manage_keys(
    settings: NatsSettings, action: str, name: str | None, role: str | None, out: TextIO
) -> int:
    """Carry out ``action``; returns the exit status."""
    nc = await connect_nats(settings, "admin", wait=settings.nats_command_wait)
    try:
        kv = await api_key_bucket(nc.jetstream())
        if action == "create":
            assert name is not None and role is not None
            out.write(await create_api_key(kv, name, Role(role)) + "\n")
        elif action == "list":
            for key in await list_api_keys(kv):
                out.write(json.dumps(key.model_dump(mode="json", exclude={"digest"})) + "\n")
        else:
            assert name is not None
            await revoke_api_key(kv, name)
        return 0
    except ApiKeyRefused as exc:
        print(f"jobstream apikey {action}: {exc}", file=sys.stderr)
        return 2
    finally:
        await close_nats(nc, "admin")
