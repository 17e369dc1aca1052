"""What each ``jobstream`` command's exit code means, and which client error gives which code.

Here, with the client commands, as they are the ones installed everywhere; the server's
commands (the ``jobstream`` distribution) use the same table.

| code | meaning |
| --- | --- |
| 0 | success (a followed job ended ``successful``) |
| 1 | the job failed |
| 2 | bad usage: a malformed argument or ``key=value`` input (argparse's own code) |
| 3 | the job was dismissed |
| 4 | the service refused the request (an HTTP error: 4xx, or 5xx after retries) |
| 5 | no answer: the gateway is unreachable, or ``--timeout`` passed while following |
| 6 | ``jobstream up``: its data folder is held by another ``up``, or a port is in use |
| 7 | ``events export``, ``projector rebuild``: the stream holds an event this version cannot read |
| 130 | interrupted (Ctrl-C) while following: the job goes on unless dismissal was asked |

A server command (``up``, ``gateway``…) where only the client is installed exits 2 as well.

The commands that connect to NATS (``events export``, ``archive``, ``apikey``, ``projector
rebuild``) use the same codes: 2 when
no server is configured (no JOBSTREAM_NATS_URL and no ``jobstream up`` in this folder), 4 when
the server refuses the credentials, 5 when it does not answer within a few seconds.
``archive`` exits 2 as well when no retention is set (JOBSTREAM_ARCHIVE_RETENTION).

Decisions: failure and dismissal have codes of their own so a script can tell them apart
from a refused request; unreachable and timeout share one (nothing was learned either way).
"""

SUCCESS = 0
FAILED = 1
USAGE = 2
DISMISSED = 3
REFUSED = 4
UNREACHABLE = 5
TAKEN = 6
UNREADABLE = 7
INTERRUPTED = 130


def exit_code_of(error: BaseException) -> int:
    """The exit code of an error a client command ended with."""
    # Here: the server's commands read the codes above and make no requests (no httpx).
    from jobstream_client.errors import JobDismissed, JobFailed, JobstreamError, Unreachable

    if isinstance(error, JobFailed):
        return FAILED
    if isinstance(error, JobDismissed):
        return DISMISSED
    if isinstance(error, Unreachable | TimeoutError):
        return UNREACHABLE
    if isinstance(error, JobstreamError):
        return REFUSED
    raise error
