"""Each API request as data, with the function that reads its answer: shared by both clients.

A :class:`Call` says what to send and how to decode the answer into contracts models; the sync
and async clients only send it. So the two clients cannot drift apart, and each method of theirs
is one line.
"""

import itertools
import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic_core import to_jsonable_python

from jobstream_contracts.cloudevents import TYPE_PREFIX, event_of
from jobstream_contracts.dataset_records import DatasetList, DatasetRecord
from jobstream_contracts.estimates import EstimateAnswer
from jobstream_contracts.events import Event
from jobstream_contracts.ogc import (
    JobList,
    ProcessDescription,
    ProcessList,
    ProcessSummary,
    StatusInfo,
    Subscriber,
)
from jobstream_contracts.queue import Queue
from jobstream_contracts.schedule_events import (
    SCHEDULE_EVENT_TYPES,
    ScheduleEvent,
    decode_schedule_event,
)
from jobstream_contracts.schedules import Schedule, ScheduleList, ScheduleSpec
from jobstream_contracts.subjects import schedule_event_subject

from .errors import error_from

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"
PAGE = 1000  # the gateway's largest page of processes, jobs and events


def settings(url: str | None, token: str | None) -> tuple[str, str | None]:
    """The service's URL and token: as given, else JOBSTREAM_URL and JOBSTREAM_TOKEN."""
    url = url or os.environ.get("JOBSTREAM_URL") or DEFAULT_URL
    return url.rstrip("/"), token or os.environ.get("JOBSTREAM_TOKEN") or None


def _version() -> str:
    try:
        return version("jobstream-client")
    except PackageNotFoundError:  # imported from a checkout, not installed
        return "unknown"


USER_AGENT = f"jobstream-client/{_version()}"


def headers(token: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What every request carries: ``extra`` last, so a caller's own headers win."""
    sent = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return {**sent, **(extra or {})}


@dataclass(frozen=True)
class Service:
    """Where requests go and what each one carries, whoever's httpx client sends them: the
    URL is joined to every path and the headers added to every request, so a client the
    caller made (proxies, certificates, event hooks) needs no base URL of its own."""

    url: str
    headers: dict[str, str]
    # Sent with every request (an OIDC token that refreshes itself); None: the httpx client's.
    auth: httpx.Auth | None = None

    def send_options(self) -> dict[str, Any]:
        return {} if self.auth is None else {"auth": self.auth}


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    decode: Callable[[httpx.Response], T]
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None

    def request(self, http: httpx.Client | httpx.AsyncClient, service: Service) -> httpx.Request:
        return http.build_request(
            self.method,
            service.url + self.path,
            params=self.params,
            headers={**service.headers, **self.headers},
            json=self.json,
        )


@dataclass(frozen=True)
class Recorded:
    """One event of a job's history: its stream sequence, when the stream stored it, the event."""

    sequence: int
    recorded: datetime | None
    event: Event


def checked(response: httpx.Response) -> httpx.Response:
    if not response.is_success:
        raise error_from(response)
    return response


def segment(value: str) -> str:
    return quote(value, safe="")


def _json(response: httpx.Response) -> Any:
    return checked(response).json()


def _status(response: httpx.Response) -> StatusInfo:
    return StatusInfo.model_validate(_json(response))


def processes() -> Call[list[ProcessSummary]]:
    return Call(
        "GET",
        "/processes",
        lambda r: ProcessList.model_validate(_json(r)).processes,
        params={"limit": PAGE},
    )


def process(process_id: str) -> Call[ProcessDescription]:
    return Call(
        "GET",
        f"/processes/{segment(process_id)}",
        lambda r: ProcessDescription.model_validate(_json(r)),
    )


def estimate(process_id: str, inputs: dict[str, Any]) -> Call[EstimateAnswer]:
    """What a run with ``inputs`` would take; the inputs travel as query parameters, arrays
    comma-separated."""
    params = {
        name: ",".join(map(str, value)) if isinstance(value, list | tuple) else _text(value)
        for name, value in inputs.items()
    }
    return Call(
        "GET",
        f"/processes/{segment(process_id)}/estimate",
        lambda r: EstimateAnswer.model_validate(_json(r)),
        params=params,
    )


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def new_idempotency_key() -> str:
    return f"jobstream-client-{uuid.uuid4()}"


def submit(
    process_id: str,
    inputs: dict[str, Any],
    idempotency_key: str,
    subscriber: Subscriber | dict[str, str] | None = None,
    priority: str | None = None,
) -> Call[StatusInfo]:
    """Always asynchronous: the answer is the job (201), never the result."""
    body: dict[str, Any] = {"inputs": inputs}
    if subscriber is not None:
        body["subscriber"] = Subscriber.model_validate(subscriber).to_json()
    if priority is not None:
        body["priority"] = priority
    return Call(
        "POST",
        f"/processes/{segment(process_id)}/execution",
        _submitted,
        headers={"Prefer": "respond-async", "Idempotency-Key": idempotency_key},
        json=body,
    )


def _submitted(response: httpx.Response) -> StatusInfo:
    """The job's status; a process that runs only synchronously answers its result (200) with
    the job as a ``monitor`` link, so the job is read back from there."""
    if checked(response).status_code == 201:
        return _status(response)
    monitor = response.links.get("monitor", {}).get("url", "")
    job_id = monitor.rstrip("/").rpartition("/")[2]
    return StatusInfo.model_validate({"jobID": job_id, "status": "successful"})


def jobs(
    status: str | list[str] | None, process_id: str | list[str] | None, limit: int, offset: int
) -> Call[list[StatusInfo]]:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if status:
        params["status"] = status
    if process_id:
        params["processID"] = process_id
    return Call("GET", "/jobs", lambda r: JobList.model_validate(_json(r)).jobs, params=params)


def offsets(page: int) -> Iterator[int]:
    """The offsets of consecutive pages of ``page`` items."""
    return itertools.count(0, page)


class Seen:
    """The jobs an iteration gave already: a list newest first shifts as jobs are submitted,
    so a page may repeat the end of the one before."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def new(self, listed: list[StatusInfo]) -> list[StatusInfo]:
        fresh = [job for job in listed if job.jobID not in self.ids]
        self.ids.update(job.jobID for job in fresh)
        return fresh


def job(job_id: str) -> Call[StatusInfo]:
    return Call("GET", f"/jobs/{segment(job_id)}", _status)


def rerun(job_id: str) -> Call[StatusInfo]:
    return Call("POST", f"/jobs/{segment(job_id)}/rerun", _status)


def results(job_id: str) -> Call[Any]:
    return Call("GET", f"/jobs/{segment(job_id)}/results", _results)


def _results(response: httpx.Response) -> Any:
    """The bare value of a one-output job (text or JSON), or the results document."""
    checked(response)
    if response.headers.get("Content-Type", "").startswith("application/json"):
        return response.json()
    return response.text


def dismiss(job_id: str) -> Call[StatusInfo]:
    return Call("DELETE", f"/jobs/{segment(job_id)}", _status)


def events_page(job_id: str, after: int) -> Call[list[Recorded]]:
    return Call(
        "GET",
        f"/jobs/{segment(job_id)}/events",
        lambda r: [recorded(ce) for ce in _json(r)["events"]],
        params={"after": after, "limit": PAGE},
    )


def recorded(cloudevent: dict[str, Any]) -> Recorded:
    sequence, event = event_of(cloudevent)
    stored = cloudevent.get("recorded")
    return Recorded(sequence, datetime.fromisoformat(stored) if stored else None, event)


def queue() -> Call[Queue]:
    return Call("GET", "/queue", lambda r: Queue.model_validate(_json(r)))


def datasets() -> Call[list[DatasetRecord]]:
    return Call("GET", "/datasets", lambda r: DatasetList.model_validate(_json(r)).datasets)


def dataset(dataset_id: str) -> Call[DatasetRecord]:
    return Call(
        "GET",
        f"/datasets/{segment(dataset_id)}",
        lambda r: DatasetRecord.model_validate(_json(r)),
    )


# -- schedules -------------------------------------------------------------------------------
def schedules() -> Call[list[Schedule]]:
    return Call("GET", "/schedules", lambda r: ScheduleList.model_validate(_json(r)).schedules)


def schedule(schedule_id: str) -> Call[Schedule]:
    return Call("GET", f"/schedules/{segment(schedule_id)}", _schedule)


def _schedule(response: httpx.Response) -> Schedule:
    return Schedule.model_validate(_json(response))


def create_schedule(process_id: str, inputs: dict[str, Any], **members: Any) -> Call[Schedule]:
    """A new schedule of ``members`` (Python names or the API's); those given as None are
    left to the gateway's defaults. The gateway checks them all: a bad cron is its 400."""
    given = {name: value for name, value in members.items() if value is not None}
    body = schedule_body({"process": process_id, "inputs": inputs, **given})
    return Call("POST", "/schedules", _schedule, json=body)


def change_schedule(schedule_id: str, changes: dict[str, Any]) -> Call[Schedule]:
    """Only the members in ``changes`` change; one given as None is cleared (``end=None``)."""
    return Call(
        "PATCH", f"/schedules/{segment(schedule_id)}", _schedule, json=schedule_body(changes)
    )


def schedule_body(members: dict[str, Any]) -> dict[str, Any]:
    """Members as the API names them (``catch_up`` is ``catchUp``), as JSON (datetimes as
    RFC 3339 text). A name the API does not know is sent as it is, for the gateway to refuse."""
    return {_api_name(name): to_jsonable_python(value) for name, value in members.items()}


def _api_name(name: str) -> str:
    field = ScheduleSpec.model_fields.get(name)
    return field.alias if field is not None and field.alias else name


def delete_schedule(schedule_id: str) -> Call[None]:
    return Call("DELETE", f"/schedules/{segment(schedule_id)}", _nothing)


def _nothing(response: httpx.Response) -> None:
    checked(response)


def trigger_schedule(schedule_id: str) -> Call[StatusInfo]:
    return Call("POST", f"/schedules/{segment(schedule_id)}/trigger", _status)


def schedule_events(schedule_id: str) -> Call[list[ScheduleEvent]]:
    return Call(
        "GET",
        f"/schedules/{segment(schedule_id)}/events",
        lambda r: [schedule_event_of(cloudevent) for cloudevent in _json(r)],
    )


_SCHEDULE_TOKENS = {kind.__name__: kind.token for kind in SCHEDULE_EVENT_TYPES}


def schedule_event_of(cloudevent: dict[str, Any]) -> ScheduleEvent:
    """The schedule event a CloudEvent carries; as ``event_of``, its data must agree with its
    envelope (subject and type)."""
    token = _SCHEDULE_TOKENS.get(str(cloudevent.get("type", "")).removeprefix(TYPE_PREFIX), "")
    subject = schedule_event_subject(str(cloudevent.get("subject", "")), token)
    return decode_schedule_event(json.dumps(cloudevent["data"]).encode(), subject)
