"""When ``submit`` tries again: only what cannot make a second job.

Every submission carries an Idempotency-Key (a new one per ``submit`` unless the caller gives
one), so sending it again after no answer or a 503 returns the job the first try made, if it
made one. 429 (too many jobs) is not retried: it lasts until the caller's jobs finish.

The retries are stamina's: at most ``SUBMIT_ATTEMPTS`` tries, exponential backoff with jitter
from 0.5 s up to ``MAX_DELAY``; a Retry-After the server sends is waited instead (stamina
waits the seconds its ``on`` hook returns).
"""

import stamina
from stamina.instrumentation import set_on_retry_hooks

from .errors import Unavailable, Unreachable

SUBMIT_ATTEMPTS = 5
MAX_DELAY = 10.0


def submit_again(error: Exception) -> bool | float:
    """Whether a submission that raised ``error`` is sent again: False, True (after the
    backoff), or the seconds the server asked to wait."""
    if not isinstance(error, Unreachable | Unavailable):
        return False
    if error.retry_after is None:
        return True
    return min(float(error.retry_after), MAX_DELAY)


# No overall timeout: each try has the client's own, and the tries are counted.
_BACKOFF = {"wait_initial": 0.5, "wait_max": MAX_DELAY, "wait_jitter": 0.5}
retrying_submit = stamina.RetryingCaller(attempts=SUBMIT_ATTEMPTS, timeout=None, **_BACKOFF).on(
    submit_again
)
async_retrying_submit = stamina.AsyncRetryingCaller(
    attempts=SUBMIT_ATTEMPTS, timeout=None, **_BACKOFF
).on(submit_again)


def quiet_retries() -> None:
    """Log no retries, in the whole process: for a command whose stdout is its answer, as
    stamina logs each retry with structlog when it is installed (its default prints there)."""
    set_on_retry_hooks([])
