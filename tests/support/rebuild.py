"""The view a fresh rebuild gives, to compare a live view with: `jobstream projector rebuild`
into another SQLite file, and the job rows of either as comparable dicts."""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from jobstream_projector.view import JobRow, create_view_engine

from .stack import ROOT, Stack
from .waiting import eventually


def wait_projected(stack: Stack, ids: list[str]) -> None:
    """Until the jobs ``ids`` have ended and the live view holds the whole stream."""
    for job_id in ids:
        stack.wait_job(job_id, timeout=60)
    eventually(
        lambda: stack.http.get("/ready").json()["projector_lag"] == 0,
        60,
        lambda: f"the projector caught up: {stack.http.get('/ready').json()}",
    )


def rebuilt_view(stack: Stack, directory: Path) -> str:
    """The URL of a view rebuilt from ``stack``'s stream into ``directory``."""
    url = f"sqlite:///{directory / 'rebuilt.sqlite'}"
    result = subprocess.run(
        [sys.executable, "-m", "jobstream", "projector", "rebuild"],
        env={**stack.env, "JOBSTREAM_DATABASE_URL": url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return url


def job_rows(url: str) -> list[dict]:
    """The view's jobs by id, datetimes as naive UTC whatever the database."""
    engine = create_view_engine(url)
    with Session(engine) as session:
        rows = [r.model_dump() for r in session.exec(select(JobRow).order_by(JobRow.job_id))]
    engine.dispose()
    return [{key: _naive_utc(value) for key, value in row.items()} for row in rows]


def _naive_utc(value):
    # SQLite gives back naive UTC datetimes, PostgreSQL aware ones.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
