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


class KeyQueue(Model):
    key: str = Field(description="a concurrency key: provider:cds, dataset:era5-land")
    limit: int = Field(ge=1, description="the most jobs that hold it at once")
    waiting: int = Field(ge=0, description="jobs whose turn came, waiting for a slot of it")
    running: int = Field(ge=0, description="jobs holding a slot of it")
    holders: list[str] = Field(description="the ids of the jobs holding it")
    oldestWaiting: datetime | None = None
    oldestWaitingSeconds: float | None = None


class Queue(Model):
    processes: list[ProcessQueue]
    keys: list[KeyQueue] = Field(default_factory=list)
    links: list[Link]
