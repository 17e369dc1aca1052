"""Every NATS name jobstream uses, defined once.

Subjects carry the process id and the job id
(``jobstream.jobs.<process_id>.<job_id>.<event>``) so that executors consume one process's
submissions and anyone can read one job's history with a subject filter.
"""

import re

STREAM = "JOBSTREAM"
SUBJECT_ROOT = "jobstream.jobs"
ALL_EVENTS = f"{SUBJECT_ROOT}.>"
PROCESS_REGISTRY_BUCKET = "jobstream_processes"
# Dataset templates announced by executors that run the data processes, keyed by dataset id.
DATASET_REGISTRY_BUCKET = "jobstream_datasets"
# Leases on shared resources (one writer per dataset); entries expire unless renewed.
LEASE_BUCKET = "jobstream_leases"
# The projectors' leases, one per view: the holder writes the view, the others stand by. Its
# own bucket because a bucket's TTL is its entries' TTL, and the projector's is shorter.
PROJECTOR_LEASE_BUCKET = "jobstream_projector_leases"
# API keys, keyed by name; each entry holds the key's hash and role, never the key.
APIKEYS_BUCKET = "jobstream_apikeys"
# Object store of each dataset's quick-look PNG (its newest stored period), keyed by dataset id:
# the data job renders it at commit, the gateway serves it without reading the dataset.
QUICKLOOK_BUCKET = "jobstream_quicklooks"

# Process ids become subject tokens, so they may not contain dots, wildcards or spaces.
PROCESS_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_TOKEN = re.compile(PROCESS_ID_PATTERN)


def is_valid_token(value: str) -> bool:
    return bool(_TOKEN.fullmatch(value))


def event_subject(process_id: str, job_id: str, token: str) -> str:
    return f"{SUBJECT_ROOT}.{process_id}.{job_id}.{token}"


def job_filter(job_id: str) -> str:
    """Every event of one job, whatever its process."""
    return f"{SUBJECT_ROOT}.*.{job_id}.*"


def job_event_filter(job_id: str, token: str) -> str:
    return f"{SUBJECT_ROOT}.*.{job_id}.{token}"


# A submission's subject names its lane, so that executors consume each lane on its own and
# take the higher first. Normal keeps the token submissions always had.
SUBMITTED = "submitted"


def submission_token(lane: str) -> str:
    return SUBMITTED if lane == "normal" else f"{SUBMITTED}-{lane}"


def submissions_filter(process_id: str, lane: str = "normal") -> str:
    return f"{SUBJECT_ROOT}.{process_id}.*.{submission_token(lane)}"


def projector_lease_key(view: str) -> str:
    """The lease that every projector of one view competes for (``view`` is a KV key token)."""
    return f"projector.{view}"


def executor_consumer(process_id: str, lane: str = "normal") -> str:
    """The durable consumer that all executors of one process share, one per lane. (":"
    is in no process id: no lane of one process takes another's name.)"""
    return f"executor-{process_id}" if lane == "normal" else f"executor-{process_id}:{lane}"


def estimate_subject(process_id: str) -> str:
    """Request-reply (core NATS, not stored): executors answer estimates of a process's run."""
    return f"jobstream.estimates.{process_id}"


def estimate_cancel_subject(request_id: str) -> str:
    """Core NATS: the asker of an estimate stopped waiting; its executor stops working."""
    return f"jobstream.estimates-cancelled.{request_id}"


# The durable consumer that all notifiers share: each event is delivered to one of them.
NOTIFIER_CONSUMER = "notifier"


def notified_filters(tokens: list[str]) -> list[str]:
    """The events of these kinds, of every job of every process."""
    return [f"{SUBJECT_ROOT}.*.*.{token}" for token in tokens]


# Executors answering estimate requests share this queue group: one answers each request.
ESTIMATORS_QUEUE = "jobstream-estimators"


# Schedules: their events, and the server's clock that fires them (the schedules stream).
SCHEDULE_STREAM = "JOBSTREAM-SCHEDULES"
SCHEDULE_ROOT = "jobstream.schedules"
ALL_SCHEDULE_EVENTS = f"{SCHEDULE_ROOT}.>"
# The one message per schedule that arms the server's clock (a Nats-Schedule at its next
# instant), and where the server publishes each firing.
CLOCK_ROOT = "jobstream.clock"
TICK_ROOT = "jobstream.ticks"
# The durable consumer of firings all gateways share: each firing is handled by one.
SCHEDULER_CONSUMER = "scheduler"
# The durable consumer of dataset updates (commits) that fire schedules, on the job stream.
TRIGGERS_CONSUMER = "schedule-triggers"


def schedule_event_subject(schedule_id: str, token: str) -> str:
    return f"{SCHEDULE_ROOT}.{schedule_id}.{token}"


def schedule_filter(schedule_id: str) -> str:
    return f"{SCHEDULE_ROOT}.{schedule_id}.*"


def clock_subject(schedule_id: str) -> str:
    return f"{CLOCK_ROOT}.{schedule_id}"


def tick_subject(schedule_id: str) -> str:
    return f"{TICK_ROOT}.{schedule_id}"


def parse_subject(subject: str) -> tuple[str, str, str]:
    """``(process_id, job_id, token)`` of an event subject."""
    process_id, job_id, token = subject[len(SUBJECT_ROOT) + 1 :].split(".")
    return process_id, job_id, token
