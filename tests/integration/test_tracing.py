"""OpenTelemetry traces from real components to an OTLP/HTTP receiver on loopback: a job's
attempt in the executor is a child of the gateway's span for the request that submitted it,
itself a child of the caller's traceparent."""

import time
from collections.abc import Callable

from jobstream_infra.tracing import exporting

from ..support.datasets import data_stack
from ..support.otlp import OtlpReceiver, ReceivedSpan

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


def _wait_for(receiver: OtlpReceiver, holds: Callable[[ReceivedSpan], bool]) -> ReceivedSpan:
    """The first span received that ``holds``; each component exports in its own batches."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for span in list(receiver.spans):
            if holds(span):
                return span
        time.sleep(0.1)
    raise AssertionError(f"no such span in {[s.name for s in receiver.spans]}")


def test_an_attempt_continues_the_trace_of_the_request_that_submitted_it(make_stack):
    with OtlpReceiver() as receiver:
        stack = make_stack()
        stack.env.update(receiver.env())
        stack.start()
        job = stack.http.post(
            "/processes/echo/execution",
            json={"inputs": {"message": "traced"}},
            headers={
                "Prefer": "respond-async",
                "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
            },
        ).json()["jobID"]
        assert stack.wait_job(job)["status"] == "successful"

        attempt = _wait_for(receiver, lambda span: span.name == "attempt echo")
        request = _wait_for(receiver, lambda span: span.parent_span_id == CALLER_SPAN)
        gateway = [s for s in receiver.spans if s.service == "jobstream-gateway"]
        assert request.service == "jobstream-gateway"
        assert request.trace_id == attempt.trace_id == CALLER_TRACE
        assert attempt.service == "jobstream-executor"
        assert attempt.parent_span_id in {s.span_id for s in gateway}
        assert attempt.attributes["jobstream.job_id"] == job
        assert attempt.attributes["jobstream.attempt"] == 1


def test_a_data_jobs_commits_are_spans_of_its_attempt(make_stack):
    with OtlpReceiver() as receiver:
        stack = data_stack(make_stack)
        stack.env.update(receiver.env())
        stack.start(wait=False).wait_ready(("ingest",))
        inputs = {"dataset_id": "demo", "start": "2020-01-01", "end": "2020-01-30"}
        assert stack.wait_job(stack.submit("ingest", inputs), timeout=120)["status"] == "successful"

        attempt = _wait_for(receiver, lambda span: span.name == "attempt ingest")
        deadline = time.monotonic() + 30
        while len(commits := [s for s in receiver.spans if s.name == "dataset commit"]) < 3:
            assert time.monotonic() < deadline, [s.name for s in receiver.spans]
            time.sleep(0.1)
        assert {c.parent_span_id for c in commits} == {attempt.span_id}
        assert sum(int(str(c.attributes["jobstream.periods"])) for c in commits) == 30


def test_traces_are_exported_only_when_the_standard_variables_say_so():
    assert not exporting({})
    assert exporting({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert exporting({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})
    assert exporting({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not exporting({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})
    assert not exporting({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})
