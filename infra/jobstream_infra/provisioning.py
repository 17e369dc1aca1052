"""Idempotent creation of the stream, consumers and buckets jobstream needs.

Every component calls these at start; running them concurrently or again is harmless.
Creating the stream is allowed to every component, changing an existing one's configuration
only to the admin NATS user (nats_users.py): `jobstream up` does that before it starts the
components.

What may leave the stream: the stream itself refuses message deletes (deny_delete), whoever
asks. Purges are allowed by the stream and guarded by NATS permissions instead: only the
archiver user may ask for one, to trim finished jobs' events once their archive file is
written and verified. A stream an older release created denies purges as well, and JetStream
never unsets that (err 10052): it is kept, and the archiver's trims are refused there.

Replicas: the admin's provisioning sets the stream's (and existing buckets') replica count to
the ``replicas`` setting, raising a single-replica stream to R3; a component keeps the count
it finds. Durable consumers inherit the stream's count (no num_replicas of their own, so they
follow it when it changes) and buckets are created with it.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NoStreamResponseError, NotFoundError
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from jobstream_contracts.subjects import (
    ALL_EVENTS,
    APIKEYS_BUCKET,
    DATASET_REGISTRY_BUCKET,
    LEASE_BUCKET,
    NOTIFIER_CONSUMER,
    PROCESS_REGISTRY_BUCKET,
    PROJECTOR_LEASE_BUCKET,
    QUICKLOOK_BUCKET,
    STREAM,
    executor_consumer,
    submissions_filter,
)

from .connection import close_nats, connect_nats
from .settings import ExecutorSettings, NatsSettings, NotifierSettings

log = structlog.get_logger(__name__)

_BUCKETS = (
    PROCESS_REGISTRY_BUCKET,
    DATASET_REGISTRY_BUCKET,
    LEASE_BUCKET,
    PROJECTOR_LEASE_BUCKET,
    APIKEYS_BUCKET,
)
# Object stores are streams too (OBJ_<bucket>), replicated like the KV buckets.
_OBJECT_STORES = (QUICKLOOK_BUCKET,)

# Seconds a new replicated bucket may take to elect its leader.
LEADER_WAIT = 10.0

T = TypeVar("T")
# Seconds a durable consumer's creation is retried while a busy cluster does not answer.
CONSUMER_WAIT = 60.0

# JetStream answers this when a stream exists with another configuration.
_STREAM_NAME_IN_USE = 10058


def stream_config(replicas: int = 1, deny_purge: bool = False) -> StreamConfig:
    """The stream; ``deny_purge`` for one an older release created, which keeps it."""
    # LIMITS retention with no limits: acknowledging a job never deletes its history.
    return StreamConfig(
        name=STREAM,
        description="jobstream job events: the log of record",
        subjects=[ALL_EVENTS],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_msgs=-1,
        max_bytes=-1,
        max_age=0,
        duplicate_window=120,
        allow_direct=True,
        num_replicas=replicas,
        # Once set, JetStream refuses to unset it: no update can bring message deletes back.
        deny_delete=True,
        deny_purge=deny_purge,
    )


class StreamNeedsAdmin(RuntimeError):
    """The stream exists with another configuration, which only the admin user may change."""


async def ensure_stream(
    js: JetStreamContext, replicas: int | None = None, new_replicas: int = 1
) -> int:
    """The stream with ``replicas``; when None, with the count it has (``new_replicas`` when
    it is created: a component may create a missing stream but not change an existing one).
    Returns the stream's replica count."""
    # Adding a stream exactly as it is succeeds for any user: no update is asked for then.
    existing = await _existing_config(js)
    kept_replicas = (existing.num_replicas or 1) if existing else new_replicas
    # An older release's deny_purge is carried over: an update unsetting it is refused.
    denies_purge = bool(existing and existing.deny_purge)
    config = stream_config(replicas or kept_replicas, deny_purge=denies_purge)
    try:
        await js.add_stream(config)
    except BadRequestError as exc:
        if exc.err_code != _STREAM_NAME_IN_USE:
            raise
        await _update_stream(js, config)
    return config.num_replicas or 1


async def _existing_config(js: JetStreamContext) -> StreamConfig | None:
    try:
        return (await js.stream_info(STREAM)).config
    except NotFoundError:
        return None


async def stream_replicas(js: JetStreamContext, stream: str = STREAM, missing: int = 1) -> int:
    """The replica count of ``stream``; ``missing`` when it does not exist (yet)."""
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return missing
    return info.config.num_replicas or 1


async def _update_stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.update_stream(config)
    except TimeoutError as exc:
        # A user without the grant gets no answer, only a permissions violation (logged).
        raise StreamNeedsAdmin(
            f"the stream {STREAM} has an older configuration and updating it needs the admin "
            "NATS user: start `jobstream up` once, or this component with the admin's "
            "JOBSTREAM_NATS_USER and JOBSTREAM_NATS_PASSWORD"
        ) from exc


async def provision(settings: NatsSettings) -> None:
    """Create or update the stream as the admin user, before the components start; bring
    the stream and the existing buckets to the configured replicas."""
    nc = await connect_nats(settings, "admin")
    try:
        js = nc.jetstream()
        await ensure_stream(js, settings.replicas)
        await _replicate_buckets(js, settings.replicas)
    finally:
        await close_nats(nc, "admin")


async def _replicate_buckets(js: JetStreamContext, replicas: int) -> None:
    # A bucket is the stream KV_<bucket> (OBJ_<bucket>); its other settings are left as they are.
    streams = [f"KV_{b}" for b in _BUCKETS] + [f"OBJ_{b}" for b in _OBJECT_STORES]
    for stream in streams:
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            continue
        if info.config.num_replicas != replicas:
            await js.update_stream(info.config, num_replicas=replicas)


async def ensure_executor_consumer(
    js: JetStreamContext, process_id: str, settings: ExecutorSettings, lane: str = "normal"
) -> str:
    durable = executor_consumer(process_id, lane)
    config = ConsumerConfig(
        durable_name=durable,
        filter_subject=submissions_filter(process_id, lane),
        # A consumer created after jobs were submitted still runs them; finished ones are
        # recognised from their history and skipped.
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait,
        max_ack_pending=-1,
    )
    return await ensure_durable(js, config)


async def ensure_notifier_consumer(
    js: JetStreamContext, filters: list[str], settings: NotifierSettings
) -> str:
    config = ConsumerConfig(
        durable_name=NOTIFIER_CONSUMER,
        filter_subjects=filters,
        # From the start: a notifier first started after jobs were submitted still calls them
        # back; events of jobs without a subscriber are acked at once.
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        # A delivery may take the whole callback timeout; past twice that it is redelivered.
        ack_wait=2 * settings.callback_timeout + 5,
        max_ack_pending=-1,
    )
    return await ensure_durable(js, config)


async def ensure_durable(js: JetStreamContext, config: ConsumerConfig, stream: str = STREAM) -> str:
    """Create a durable consumer, or bring an existing one's ack wait up to date.

    On a replicated stream the consumer's Raft group is formed first; with several components
    asking at once on a busy cluster, the answer can come after the API's timeout (measured: an
    executor of three starting together exited on it). Asking again is safe: the config is
    the same.
    """
    assert config.durable_name is not None
    deadline = asyncio.get_running_loop().time() + CONSUMER_WAIT
    while True:
        try:
            await _add_or_update(js, config, stream)
            return config.durable_name
        except TimeoutError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("consumer not created in time; asking again", consumer=config.durable_name)


async def _add_or_update(js: JetStreamContext, config: ConsumerConfig, stream: str) -> None:
    assert config.durable_name is not None
    try:
        await js.add_consumer(stream, config)
    except BadRequestError:
        info = await js.consumer_info(stream, config.durable_name)
        if info.config.ack_wait != config.ack_wait:
            await js.add_consumer(stream, config)


async def ensure_registry(
    js: JetStreamContext, bucket: str, description: str = "documents announced by executors"
):
    """A KV bucket of JSON documents that executors announce and gateways watch."""
    return await ensure_bucket(js, bucket, description=description, history=1)


async def ensure_bucket(js: JetStreamContext, bucket: str, **config) -> KeyValue:
    """A file bucket, created with the stream's replicas, once its stream has a leader.

    Until a new replicated bucket has a leader a put finds no responders, also for a component
    that found it created by another a moment ago (three executors starting together: one
    exited on it), so a found bucket is waited for as well.
    """

    async def find_or_create() -> KeyValue:
        try:
            return await js.key_value(bucket)
        except NotFoundError:
            replicas = await stream_replicas(js)
            return await js.create_key_value(
                bucket=bucket, storage=StorageType.FILE, replicas=replicas, **config
            )

    kv = await patiently(find_or_create, f"the bucket {bucket}")
    await _wait_for_leader(js, f"KV_{bucket}")
    return kv


async def ensure_object_store(js: JetStreamContext, bucket: str, **config) -> ObjectStore:
    """An object store, created with the stream's replicas, once its stream has a leader
    (as ensure_bucket)."""

    async def find_or_create() -> ObjectStore:
        try:
            return await js.object_store(bucket)
        except NotFoundError:
            replicas = await stream_replicas(js)
            return await js.create_object_store(
                bucket, storage=StorageType.FILE, replicas=replicas, **config
            )

    store = await patiently(find_or_create, f"the object store {bucket}")
    await _wait_for_leader(js, f"OBJ_{bucket}")
    return store


async def patiently(ask: Callable[[], Awaitable[T]], what: str) -> T:
    """``ask()``, asked again for up to LEADER_WAIT seconds while a cluster cannot answer yet:
    the JetStream API does not answer in time (its meta leader placing many new streams at
    once: CI, stop 31, an executor exited on it), or no stream answers a publish to a bucket
    that has a leader a moment ago elected (CI, stop 31 again: an executor's announcement)."""
    deadline = asyncio.get_running_loop().time() + LEADER_WAIT
    while True:
        try:
            return await ask()
        except (TimeoutError, NoStreamResponseError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("the cluster did not answer; asking again", about=what, error=repr(exc))
            await asyncio.sleep(0.05)


async def _wait_for_leader(js: JetStreamContext, stream: str) -> None:
    deadline = asyncio.get_running_loop().time() + LEADER_WAIT
    while not await _has_leader(js, stream):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"the stream {stream} has no leader after {LEADER_WAIT}s")
        await asyncio.sleep(0.05)


async def _has_leader(js: JetStreamContext, stream: str) -> bool:
    try:
        cluster = (await js.stream_info(stream)).cluster
    except (NotFoundError, TimeoutError):
        # On a cluster a stream created a moment ago (by us or by a component starting beside
        # us) is not yet known to every server: the server we asked answers 404 until the
        # meta leader's assignment reaches it (CI, stop 30: an executor exited on it), or, while
        # the meta leader is busy placing many new streams, does not answer in time.
        return False
    # A single server reports no cluster: its streams lead themselves.
    return cluster is None or bool(cluster.leader)


async def ensure_process_registry(js: JetStreamContext):
    return await ensure_registry(
        js, PROCESS_REGISTRY_BUCKET, "process descriptions published by executors"
    )


async def ensure_lease_bucket(js: JetStreamContext, ttl: float, bucket: str = LEASE_BUCKET):
    """The lease bucket, its TTL brought to ``ttl``: holders renew on the rhythm of their own
    setting, and a bucket left at a shorter TTL would expire leases under live holders."""
    kv = await ensure_bucket(
        js,
        bucket,
        description="leases on shared resources; a holder that stops renewing loses its lease",
        history=1,
        ttl=ttl,
    )
    status = await kv.status()
    if status.ttl != ttl:
        # A KV bucket's TTL is its stream's max_age; the duplicate window may not exceed it.
        await js.update_stream(
            status.stream_info.config, max_age=ttl, duplicate_window=min(ttl, 120.0)
        )
    return kv
