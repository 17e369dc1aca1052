"""The Celery peer behind FastAPI: an async job API as a user would build one on Celery.

Runs in the peer venv: `python -m uvicorn celery_front:app --app-dir bench/peers`. Celery's
client calls block, so the routes are plain functions, which FastAPI runs in its thread pool.
"""

from celery.result import AsyncResult
from celery_app import app as celery
from celery_app import noop
from fastapi import FastAPI, Response
from pydantic import BaseModel

app = FastAPI()

# Celery's task states as OGC API - Processes job statuses. PENDING is also what Celery says of
# a task it has never heard of.
STATUS = {
    "PENDING": "accepted",
    "RECEIVED": "accepted",
    "STARTED": "running",
    "RETRY": "running",
    "SUCCESS": "successful",
    "FAILURE": "failed",
    "REVOKED": "dismissed",
}


class Execute(BaseModel):
    inputs: dict[str, str]


@app.post("/jobs", status_code=201)
def submit(execute: Execute, response: Response) -> dict[str, str]:
    task = noop.delay(execute.inputs["message"])
    response.headers["Location"] = f"/jobs/{task.id}"
    return {"jobID": task.id, "status": "accepted"}


@app.get("/jobs/{task_id}")
def status(task_id: str) -> dict[str, str]:
    state = AsyncResult(task_id, app=celery).state
    return {"jobID": task_id, "status": STATUS.get(state, "running")}
