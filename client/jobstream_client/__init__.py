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

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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


# Loaded on first use: `jobstream <component>` goes through the client's command line, and a
# component that never makes a request should not pay for httpx and the client's models at
# every start (a few tenths of a second, hundreds of times in the test suite).
_MODULES = {
    "AsyncClient": "aio",
    "AsyncJob": "aio",
    "Recorded": "calls",
    "Client": "client",
    "Job": "client",
    "oidc_client_credentials": "oidc",
}


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{_MODULES.get(name, 'errors')}", __name__)
    value = getattr(module, name)
    globals()[name] = value
    return value


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
