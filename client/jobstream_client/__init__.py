"""A Python client for jobstream's OGC API - Processes, sync and async.

    from jobstream_client import Client
    with Client("http://127.0.0.1:8000") as client:
        job = client.submit("count", {"n": 20})
        job.wait(progress=True)
        print(job.results())

Modules: ``calls`` (each request as data and the decoding of its answer), ``following``
(how ``wait`` follows a job; httpx-sse parses the event stream), ``errors`` (typed OGC
exceptions), ``progress``, ``retrying``; ``client`` and ``aio`` are thin shells over them.
"""

from .aio import AsyncClient, AsyncJob
from .calls import Recorded
from .client import Client, Job
from .errors import (
    BadRequest,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidParameter,
    JobDismissed,
    JobEnded,
    JobFailed,
    JobstreamError,
    NoSuchDataset,
    NoSuchJob,
    NoSuchProcess,
    NotFound,
    ResultNotReady,
    TooManyJobs,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
    Unreachable,
)
from .oidc import oidc_client_credentials

__all__ = [
    "AsyncClient",
    "AsyncJob",
    "BadRequest",
    "Client",
    "Forbidden",
    "IdempotencyKeyReused",
    "InvalidInput",
    "InvalidParameter",
    "Job",
    "JobDismissed",
    "JobEnded",
    "JobFailed",
    "JobstreamError",
    "NoSuchDataset",
    "NoSuchJob",
    "NoSuchProcess",
    "NotFound",
    "Recorded",
    "ResultNotReady",
    "TooManyJobs",
    "TooManyRequests",
    "Unauthenticated",
    "Unavailable",
    "Unreachable",
    "oidc_client_credentials",
]
