"""Idempotent creation of the stream, consumers and buckets jobstream needs.

Every component calls these at start; running them concurrently or again is harmless. The
stream denies purges and message deletes: the log of record only grows. Creating it is allowed
to every component, changing an existing one's configuration only to the admin NATS user
(nats_users.py): `jobstream up` does that before it starts the components.
"""

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
from nats.js.errors import BadRequestError, NotFoundError

from jobstream_contracts.subjects import (
    ALL_EVENTS,
    LEASE_BUCKET,
    NOTIFIER_CONSUMER,
    PROCESS_REGISTRY_BUCKET,
    STREAM,
    executor_consumer,
    submissions_filter,
)

from .connection import close_nats, connect_nats
from .settings import Settings

# JetStream answers this when a stream exists with another configuration.
_STREAM_NAME_IN_USE = 10058


def stream_config() -> StreamConfig:
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
        # Once set, JetStream refuses to unset these: no update can bring purges back.
        deny_delete=True,
        deny_purge=True,
    )


class StreamNeedsAdmin(RuntimeError):
    """The stream exists with another configuration, which only the admin user may change."""


async def ensure_stream(js: JetStreamContext) -> None:
    config = stream_config()
    try:
        await js.add_stream(config)
    except BadRequestError as exc:
        if exc.err_code != _STREAM_NAME_IN_USE:
            raise
        await _update_stream(js, config)


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


async def provision(settings: Settings) -> None:
    """Create or update the stream as the admin user, before the components start."""
    nc = await connect_nats(settings, "admin")
    try:
        await ensure_stream(nc.jetstream())
    finally:
        await close_nats(nc, "admin")


async def ensure_executor_consumer(
    js: JetStreamContext, process_id: str, settings: Settings
) -> str:
    durable = executor_consumer(process_id)
    config = ConsumerConfig(
        durable_name=durable,
        filter_subject=submissions_filter(process_id),
        # A consumer created after jobs were submitted still runs them; finished ones are
        # recognised from their history and skipped.
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait,
        max_ack_pending=-1,
    )
    return await _ensure_durable(js, config)


async def ensure_notifier_consumer(
    js: JetStreamContext, filters: list[str], settings: Settings
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
    return await _ensure_durable(js, config)


async def _ensure_durable(js: JetStreamContext, config: ConsumerConfig) -> str:
    """Create a durable consumer, or bring an existing one's ack wait up to date."""
    assert config.durable_name is not None
    try:
        await js.add_consumer(STREAM, config)
    except BadRequestError:
        info = await js.consumer_info(STREAM, config.durable_name)
        if info.config.ack_wait != config.ack_wait:
            await js.add_consumer(STREAM, config)
    return config.durable_name


async def ensure_registry(
    js: JetStreamContext, bucket: str, description: str = "documents announced by executors"
):
    """A KV bucket of JSON documents that executors announce and gateways watch."""
    try:
        return await js.key_value(bucket)
    except NotFoundError:
        return await js.create_key_value(
            bucket=bucket,
            description=description,
            history=1,
            storage=StorageType.FILE,
        )


async def ensure_process_registry(js: JetStreamContext):
    return await ensure_registry(
        js, PROCESS_REGISTRY_BUCKET, "process descriptions published by executors"
    )


async def ensure_lease_bucket(js: JetStreamContext, ttl: float):
    """The lease bucket, its TTL brought to ``ttl``: holders renew on the rhythm of their own
    setting, and a bucket left at a shorter TTL would expire leases under live holders."""
    try:
        kv = await js.key_value(LEASE_BUCKET)
    except NotFoundError:
        return await js.create_key_value(
            bucket=LEASE_BUCKET,
            description="leases on shared resources; a holder that stops renewing loses its lease",
            history=1,
            ttl=ttl,
            storage=StorageType.FILE,
        )
    status = await kv.status()
    if status.ttl != ttl:
        # A KV bucket's TTL is its stream's max_age; the duplicate window may not exceed it.
        await js.update_stream(
            status.stream_info.config, max_age=ttl, duplicate_window=min(ttl, 120.0)
        )
    return kv
