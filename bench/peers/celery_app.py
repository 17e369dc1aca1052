"""The Celery peer: a no-op task on Redis (broker and result backend). Runs in the peer venv."""

import os

from celery import Celery

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
app = Celery("bench", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, result_expires=600)


@app.task
def noop(message: str) -> str:
    return message
