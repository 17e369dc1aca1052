"""OpenTelemetry traces from real components to an OTLP/HTTP receiver on loopback: a job's
attempt in the executor is a child of the gateway's span for the request that submitted it,
itself a child of the caller's traceparent."""

from collections.abc import Callable

import pytest

from jobstream_infra.tracing import exporting

from ..support.datasets import DATA_SETTINGS
from ..support.otlp import OtlpReceiver, ReceivedSpan
from ..support.stack import Stack, own_server_stack
from ..support.waiting import eventually

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """One stack for the module exporting to one receiver; each test finds the spans of its
    own job (only the ingest test commits to a dataset)."""
    with (
        OtlpReceiver() as receiver,
        own_server_stack(tmp_path_factory.mktemp("tracing"), **DATA_SETTINGS) as stack,
    ):
        stack.env.update(receiver.env())
        stack.start(wait=False).wait_ready(("echo", "ingest"))
        yield stack, receiver


def _wait_for(receiver: OtlpReceiver, holds: Callable[[ReceivedSpan], bool]) -> ReceivedSpan:
    """The first span received that ``holds``; each component exports in its own batches."""
    return eventually(
        lambda: next((span for span in list(receiver.spans) if holds(span)), None),
        30,
        lambda: f"such a span in {[s.name for s in receiver.spans]}",
        interval=0.1,
    )


def _attempt_of(job_id: str) -> Callable[[ReceivedSpan], bool]:
    return lambda span: (
        span.name.startswith("attempt ") and span.attributes.get("jobstream.job_id") == job_id
    )


def test_an_attempt_continues_the_trace_of_the_request_that_submitted_it(
    traced: tuple[Stack, OtlpReceiver],
):
    stack, receiver = traced
    job = stack.http.post(
        "/processes/echo/execution",
        json={"inputs": {"message": "traced"}},
        headers={"Prefer": "respond-async", "traceparent": TRACEPARENT},
    ).json()["jobID"]
    assert stack.wait_job(job)["status"] == "successful"

    attempt = _wait_for(receiver, _attempt_of(job))
    request = _wait_for(receiver, lambda span: span.parent_span_id == CALLER_SPAN)
    gateway = [s for s in receiver.spans if s.service == "jobstream-gateway"]
    assert attempt.name == "attempt echo"
    assert request.service == "jobstream-gateway"
    assert request.trace_id == attempt.trace_id == CALLER_TRACE
    assert attempt.service == "jobstream-executor"
    assert attempt.parent_span_id in {s.span_id for s in gateway}
    assert attempt.attributes["jobstream.attempt"] == 1


def test_a_data_jobs_commits_are_spans_of_its_attempt(traced: tuple[Stack, OtlpReceiver]):
    stack, receiver = traced
    inputs = {"dataset_id": "demo", "start": "2020-01-01", "end": "2020-01-30"}
    job = stack.submit("ingest", inputs)
    assert stack.wait_job(job, timeout=110)["status"] == "successful"

    attempt = _wait_for(receiver, _attempt_of(job))
    assert attempt.name == "attempt ingest"
    commits = eventually(
        lambda: (
            found
            if len(found := [s for s in receiver.spans if s.name == "dataset commit"]) >= 3
            else None
        ),
        30,
        lambda: f"three commit spans in {[s.name for s in receiver.spans]}",
        interval=0.1,
    )
    assert {c.parent_span_id for c in commits} == {attempt.span_id}
    assert sum(int(str(c.attributes["jobstream.periods"])) for c in commits) == 30


def test_traces_are_exported_only_when_the_standard_variables_say_so():
    assert not exporting({})
    assert exporting({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert exporting({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})
    assert exporting({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not exporting({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})
    assert not exporting({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})
