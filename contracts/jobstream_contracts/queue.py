"""``GET /queue``: the jobs waiting and running, process by process, as one caller may see them
(every job for an operator or an auditor, their own for anyone else)."""

from datetime import datetime

from pydantic import Field

from .ogc import Link, Model


class ProcessQueue(Model):
    processID: str
    waiting: int = Field(ge=0, description="jobs accepted and not started")
    running: int = Field(ge=0)
    oldestWaiting: datetime | None = Field(
        default=None, description="when the job waiting longest was submitted"
    )
    oldestWaitingSeconds: float | None = Field(
        default=None, description="how long the job waiting longest has waited"
    )


class Queue(Model):
    processes: list[ProcessQueue]
    links: list[Link]
