"""The NATS users jobstream's components connect as, and what each may do: the trust model.

Decisions:
- One user per component, allowed only the subjects and JetStream API calls its code makes. A
  component's credentials, leaked or misused, cannot purge the log, rewrite it, or forge the
  events of another: only the executor records a job's outcome, only the gateway (and an
  executor, for jobs a job causes) submits, only the notifier records callbacks.
- Creating the stream or a bucket is allowed to the components that need it, as before users:
  JetStream refuses a create that differs from what exists. Changing a configuration is the
  admin's: an update could shrink the stream's limits, a purge by other means.
- Nobody deletes the stream over NATS, not even the admin; the stream itself refuses message
  deletes (deny_delete), whoever asks.
- Only the archiver removes events: it may purge the stream (a finished job's subjects, once
  their archive file is written and verified) and do nothing else but read it. It records no
  event, deletes no message, changes no configuration. The stream allows purges (an older
  release's, which denies them, keeps denying them: provisioning.py), so the permissions are
  the guard: no other user has the purge subject, the admin is denied it.
- Each user has its own inbox prefix (``_INBOX.<user>``), so no component reads another's
  replies. The executor answers estimate requests through ``allow_responses``, not a grant on
  the gateway's inbox.
- Limits that remain: a component that may read the stream may create consumers on it (a
  durable one included), and one that acks may ack any consumer's message; neither loses an
  event from the log.
"""

from dataclasses import dataclass

from jobstream_contracts.events import (
    CallbackAbandoned,
    CallbackDelivered,
    DatasetCommitted,
    Event,
    JobChanged,
    JobCreated,
    JobDismissed,
    JobEstimated,
    JobFailed,
    JobProgressed,
    JobRetryScheduled,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
    JobWaiting,
)
from jobstream_contracts.subjects import (
    APIKEYS_BUCKET,
    CLOCK_ROOT,
    DATASET_REGISTRY_BUCKET,
    LEASE_BUCKET,
    NOTIFIER_CONSUMER,
    PROCESS_REGISTRY_BUCKET,
    PROJECTOR_LEASE_BUCKET,
    QUICKLOOK_BUCKET,
    SCHEDULE_ROOT,
    SCHEDULE_STREAM,
    SCHEDULER_CONSUMER,
    STREAM,
    TRIGGERS_CONSUMER,
    estimate_cancel_subject,
    estimate_subject,
    event_subject,
    job_event_filter,
)

API = "$JS.API"


@dataclass(frozen=True)
class Grant:
    """Subjects a user may publish to and subscribe to."""

    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()

    def __add__(self, other: "Grant") -> "Grant":
        return Grant(self.publish + other.publish, self.subscribe + other.subscribe)


@dataclass(frozen=True)
class Permissions:
    grant: Grant
    deny_publish: tuple[str, ...] = ()
    # May answer requests it received (once each), whatever their reply subject.
    allow_responses: bool = False


def reads_stream(stream: str) -> Grant:
    """Stream info, direct gets, and consumers of its own to read from."""
    return Grant(
        publish=(
            f"{API}.STREAM.INFO.{stream}",
            f"{API}.DIRECT.GET.{stream}",
            f"{API}.DIRECT.GET.{stream}.>",
            f"{API}.STREAM.MSG.GET.{stream}",
            f"{API}.CONSUMER.CREATE.{stream}",
            f"{API}.CONSUMER.CREATE.{stream}.>",
            f"{API}.CONSUMER.INFO.{stream}.*",
            f"{API}.CONSUMER.MSG.NEXT.{stream}.*",
            # Flow-control answers of the ordered consumers that watch buckets.
            f"$JS.FC.{stream}.>",
        )
    )


def creates_stream(stream: str) -> Grant:
    return Grant(publish=(f"{API}.STREAM.CREATE.{stream}",))


def consumes(durable: str, stream: str = STREAM) -> Grant:
    """A durable consumer of a stream, kept up to date, its messages acked."""
    return Grant(
        publish=(f"{API}.CONSUMER.DURABLE.CREATE.{stream}.{durable}", f"$JS.ACK.{stream}.>")
    )


def records(*kinds: type[Event]) -> Grant:
    return Grant(
        publish=tuple(event_subject("*", "*", token) for kind in kinds for token in kind.tokens())
    )


def _bucket_stream(bucket: str) -> str:
    return f"KV_{bucket}"


def reads_bucket(bucket: str) -> Grant:
    """Get and watch its keys; create it when missing."""
    stream = _bucket_stream(bucket)
    return reads_stream(stream) + creates_stream(stream)


def writes_bucket(bucket: str) -> Grant:
    return reads_bucket(bucket) + Grant(publish=(f"$KV.{bucket}.>",))


def reads_objects(bucket: str) -> Grant:
    """Get an object store's objects (meta by direct get, chunks by an ordered consumer,
    whose stream nats-py looks up by subject: the stream names are no secret)."""
    return reads_stream(f"OBJ_{bucket}") + Grant(publish=(f"{API}.STREAM.NAMES",))


def writes_objects(bucket: str) -> Grant:
    """Create the store, put objects; a put purges the chunks of the object it replaces."""
    stream = f"OBJ_{bucket}"
    return (
        reads_stream(stream)
        + creates_stream(stream)
        + Grant(publish=(f"$O.{bucket}.>", f"{API}.STREAM.PURGE.{stream}"))
    )


def inbox_prefix(user: str) -> str:
    return f"_INBOX.{user}"


def _member(user: str) -> Grant:
    """What every component needs: its replies, and the stream created when missing."""
    return Grant(subscribe=(f"{inbox_prefix(user)}.>",)) + creates_stream(STREAM)


GATEWAY = (
    _member("gateway")
    + reads_stream(STREAM)
    # Part 4: a job created, changed while created, then submitted when started.
    + records(JobCreated, JobChanged, JobSubmitted, JobDismissed)
    # A job's events as they are published: what sync execution and event streams wait on.
    + Grant(
        publish=(estimate_subject("*"), estimate_cancel_subject("*")),
        subscribe=(event_subject("*", "*", "*"),),
    )
    + reads_bucket(PROCESS_REGISTRY_BUCKET)
    + reads_bucket(DATASET_REGISTRY_BUCKET)
    + reads_bucket(APIKEYS_BUCKET)
    + reads_objects(QUICKLOOK_BUCKET)
    # The account's usage and limits: how near the store is to its submissions' reserve.
    + Grant(publish=(f"{API}.INFO",))
    # Schedules: their events, their clocks, and the firings the gateways share.
    + creates_stream(SCHEDULE_STREAM)
    + reads_stream(SCHEDULE_STREAM)
    + consumes(SCHEDULER_CONSUMER, SCHEDULE_STREAM)
    + consumes(TRIGGERS_CONSUMER)
    + Grant(publish=(f"{SCHEDULE_ROOT}.>", f"{CLOCK_ROOT}.>"))
)

EXECUTOR = (
    _member("executor")
    + reads_stream(STREAM)
    + consumes("*")
    + records(
        JobWaiting,
        JobStarted,
        JobProgressed,
        JobEstimated,
        DatasetCommitted,
        JobSucceeded,
        JobFailed,
        JobRetryScheduled,
        # Jobs a job causes, and a submission it cannot read failed.
        JobSubmitted,
    )
    + Grant(
        subscribe=(
            job_event_filter("*", JobDismissed.token),
            estimate_subject("*"),
            estimate_cancel_subject("*"),
        )
    )
    + writes_bucket(PROCESS_REGISTRY_BUCKET)
    + writes_bucket(DATASET_REGISTRY_BUCKET)
    + writes_bucket(LEASE_BUCKET)
    # Data jobs store each dataset's quick-look as they commit.
    + writes_objects(QUICKLOOK_BUCKET)
    # The lease bucket's TTL follows the executor's setting.
    + Grant(publish=(f"{API}.STREAM.UPDATE.{_bucket_stream(LEASE_BUCKET)}",))
)

PROJECTOR = (
    _member("projector")
    + reads_stream(STREAM)
    # One active projector per view; its lease bucket's TTL follows the projector's setting.
    + writes_bucket(PROJECTOR_LEASE_BUCKET)
    + Grant(publish=(f"{API}.STREAM.UPDATE.{_bucket_stream(PROJECTOR_LEASE_BUCKET)}",))
)

NOTIFIER = (
    _member("notifier")
    + reads_stream(STREAM)
    + consumes(NOTIFIER_CONSUMER)
    + records(CallbackDelivered, CallbackAbandoned)
)

# Reads the stream as the projector does, and trims what it archived: nothing else.
ARCHIVER = (
    _member("archiver") + reads_stream(STREAM) + Grant(publish=(f"{API}.STREAM.PURGE.{STREAM}",))
)

USERS: dict[str, Permissions] = {
    "admin": Permissions(
        Grant(publish=(">",), subscribe=(">",)),
        # What would remove events: the stream, a purge (the archiver's alone), a message.
        deny_publish=(
            f"{API}.STREAM.DELETE.{STREAM}",
            f"{API}.STREAM.PURGE.{STREAM}",
            f"{API}.STREAM.MSG.DELETE.{STREAM}",
        ),
    ),
    "gateway": Permissions(GATEWAY),
    "executor": Permissions(EXECUTOR, allow_responses=True),
    "projector": Permissions(PROJECTOR),
    "notifier": Permissions(NOTIFIER),
    "archiver": Permissions(ARCHIVER),
}

# Commands that are not components connect as the user whose rights fit: the export reads
# the stream as the projector does; `jobstream archive` is the archiver.
_ACTS_AS = {"export": "projector", "archive": "archiver"}


def user_of(component: str) -> str:
    """The NATS user a component (or command) connects as."""
    user = _ACTS_AS.get(component, component)
    if user not in USERS:
        raise ValueError(f"{component!r} has no NATS user; the users are {', '.join(USERS)}")
    return user
