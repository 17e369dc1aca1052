"""A gateway's watch of a bucket (API keys above all: a revocation must reach every gateway)
is supervised: lost, it is started again and catches up; its lag is a metric."""

from datetime import UTC, datetime

import nats
import pytest

from jobstream_contracts.access import ApiKey, Role, digest_of, new_api_key
from jobstream_gateway.identity import ApiKeys
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.metrics import GATEWAY

from ..support.waiting import eventually_async

BUCKET = "keys_under_watch"


@pytest.fixture
async def bucket(tmp_path):
    with EmbeddedNats(tmp_path / "nats") as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        yield js, await js.create_key_value(bucket=BUCKET)
        await nc.close()


async def _put_key(kv, name: str) -> str:
    key = new_api_key()
    await kv.put(
        name,
        ApiKey(name=name, role=Role.SUBMITTER, digest=digest_of(key), created=datetime.now(UTC))
        .model_dump_json()
        .encode(),
    )
    return key


async def _drop_every_consumer(js) -> None:
    """What a server restart without the consumer's state, or an operator, does to a watch."""
    for consumer in await js.consumers_info(f"KV_{BUCKET}"):
        await js.delete_consumer(f"KV_{BUCKET}", consumer.name)


async def test_a_watch_whose_consumer_is_gone_is_started_again_and_applies_a_revocation(bucket):
    js, kv = bucket
    alice = await _put_key(kv, "alice")
    keys = ApiKeys()
    keys.check_interval = 0.2
    await keys.start(kv)
    try:
        assert keys.find(alice) is not None
        await _drop_every_consumer(js)

        await kv.delete("alice")
        bob = await _put_key(kv, "bob")

        async def caught_up() -> bool:
            return keys.find(alice) is None and keys.find(bob) is not None

        await eventually_async(caught_up, 15, "the revocation and the new key applied")
    finally:
        await keys.stop()


async def test_the_watchs_lag_is_a_metric_that_returns_to_zero(bucket):
    _, kv = bucket
    keys = ApiKeys()
    keys.check_interval = 0.1
    await keys.start(kv)
    try:
        await _put_key(kv, "carol")

        async def caught_up() -> bool:
            lag = GATEWAY.get_sample_value("jobstream_registry_lag", {"bucket": BUCKET})
            return lag == 0 and keys.get("carol") is not None

        await eventually_async(caught_up, 10, "a lag of 0 with carol's key applied")
    finally:
        await keys.stop()
