"""API keys in a KV bucket, so that every gateway sees the same set within moments.

Only an admin (the `jobstream apikey` commands) writes the bucket; gateways watch it. A key is
shown once, when it is made; the bucket holds its hash.
"""

from datetime import UTC, datetime

from nats.js import JetStreamContext
from nats.js.errors import (
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NoKeysError,
)
from nats.js.kv import KeyValue

from jobstream_contracts.access import ApiKey, Role, digest_of, new_api_key
from jobstream_contracts.subjects import APIKEYS_BUCKET, is_valid_token

from .provisioning import ensure_bucket


class ApiKeyRefused(ValueError):
    """The key cannot be made or revoked as asked (a bad or taken name, an unknown key)."""


async def api_key_bucket(js: JetStreamContext) -> KeyValue:
    return await ensure_bucket(
        js,
        APIKEYS_BUCKET,
        description="API keys by name: their hash and role, never the key",
        history=1,
    )


async def create_api_key(kv: KeyValue, name: str, role: Role) -> str:
    """Store a new key under ``name``; returns the key, which is not stored anywhere."""
    if not is_valid_token(name):
        raise ApiKeyRefused(f"{name!r} is not a valid key name (letters, digits, - and _)")
    key = new_api_key()
    record = ApiKey(name=name, role=role, digest=digest_of(key), created=datetime.now(UTC))
    try:
        await kv.create(name, record.model_dump_json().encode())
    except KeyWrongLastSequenceError:
        raise ApiKeyRefused(f"a key named {name!r} exists; revoke it first") from None
    return key


async def list_api_keys(kv: KeyValue) -> list[ApiKey]:
    try:
        names = await kv.keys()
    except NoKeysError:
        return []
    keys = []
    for name in sorted(names):
        try:
            keys.append(ApiKey.model_validate_json((await kv.get(name)).value or b""))
        except (KeyNotFoundError, ValueError):
            continue  # revoked meanwhile, or not ours to show
    return keys


async def revoke_api_key(kv: KeyValue, name: str) -> None:
    try:
        await kv.get(name)
    except KeyNotFoundError:
        raise ApiKeyRefused(f"no key named {name!r}") from None
    await kv.delete(name)
