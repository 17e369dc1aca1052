"""Traces over OpenTelemetry, exported only when the standard ``OTEL_*`` variables ask for it.

Decisions:
- Exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, or ``OTEL_TRACES_EXPORTER=otlp``;
  ``OTEL_TRACES_EXPORTER=none`` or ``OTEL_SDK_DISABLED=true`` turn it off. Otherwise no
  provider is installed and every span is the API's no-op: nothing is recorded or sent.
- The exporter reads its own ``OTEL_EXPORTER_OTLP_*`` variables (endpoint, headers, timeout);
  the service is ``jobstream-<component>`` unless ``OTEL_SERVICE_NAME`` names it.
- A job's trace crosses the stream in its events: the gateway stores the W3C context of the
  request's span in ``JobSubmitted.trace``, and the executor's attempt span continues it
  (``context_of``), however long the job waited in the queue.
"""

import os
from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context

TRACER = trace.get_tracer("jobstream")

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def exporting(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the standard variables ask for traces to be exported."""
    if environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").lower()
    if exporter == "none":
        return False
    return exporter == "otlp" or any(environ.get(name) for name in _ENDPOINTS)


def setup_tracing(component: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Install a provider exporting ``component``'s spans, if asked; whether it did."""
    if not exporting(environ):
        return False
    # Imported on use: a component that exports nothing never loads the SDK.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = environ.get("OTEL_SERVICE_NAME") or f"jobstream-{component}"
    # Flushed at exit (shutdown_on_exit): a component stopped by SIGTERM sends its last spans.
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


def current_context(incoming: Mapping[str, str] | None = None) -> dict[str, str]:
    """The W3C trace context (traceparent, tracestate) of the current span, for an event;
    with no span current, that of ``incoming`` (a request's headers), if it has a valid one."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    if not carrier and incoming is not None:
        propagate.inject(carrier, context=propagate.extract(incoming))
    return carrier


def context_of(carrier: Mapping[str, str]) -> Context:
    """The context an event's stored trace continues."""
    return propagate.extract(dict(carrier))
