"""When ``submit`` tries again: only what cannot make a second job.

Every submission carries an Idempotency-Key (a new one per ``submit`` unless the caller gives
one), so sending it again after no answer or a 503 returns the job the first try made, if it
made one. 429 (too many jobs) is not retried: it lasts until the caller's jobs finish.
"""

from .errors import JobstreamError

SUBMIT_ATTEMPTS = 5
MAX_DELAY = 10.0


def submit_delay(attempt: int, error: JobstreamError) -> float:
    """Seconds before try ``attempt + 1``: the server's Retry-After, else 0.5 s doubling."""
    if error.retry_after is not None:
        return min(error.retry_after, MAX_DELAY)
    return min(0.5 * 2 ** (attempt - 1), MAX_DELAY)
