"""The AsyncAPI 3.0 document of jobstream's events, generated from the event models.

It describes the NATS channel every event is published on (one subject per event, read with a
JetStream consumer), each event's payload schema, and the gateway's server-sent event streams,
whose messages are the same events wrapped as CloudEvents. No I/O: the gateway serves it at
``/asyncapi`` with its own address filled in.
"""

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .cloudevents import SPEC_VERSION, cloud_type
from .events import EVENT_TYPES
from .subjects import STREAM, SUBJECT_ROOT

_SCHEMAS = "#/components/schemas/{model}"
_PARAMETER = {"description": "a subject token: letters, digits, '-' and '_'"}


def _event_schemas() -> dict[str, Any]:
    """Every event's JSON schema, with the models they share, keyed by model name."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (cls, "serialization") for cls in EVENT_TYPES.values()
    ]
    _, top = models_json_schema(models, ref_template=_SCHEMAS)
    return top["$defs"]


def _messages() -> dict[str, Any]:
    messages: dict[str, Any] = {}
    for name, cls in EVENT_TYPES.items():
        messages[name] = {
            "name": name,
            "title": name,
            "summary": (cls.__doc__ or name).strip().splitlines()[0],
            "contentType": "application/json",
            "payload": {"$ref": _SCHEMAS.format(model=name)},
        }
        messages[f"{name}CloudEvent"] = {
            "name": cloud_type(name),
            "title": f"{name} as a CloudEvent",
            "contentType": "application/json",
            "payload": {
                "allOf": [{"$ref": _SCHEMAS.format(model="CloudEvent")}],
                "properties": {
                    "type": {"const": cloud_type(name)},
                    "data": {"$ref": _SCHEMAS.format(model=name)},
                },
            },
        }
    return messages


_CLOUD_EVENT = {
    "type": "object",
    "description": "CloudEvents 1.0 (JSON format) wrapping one job event as `data`.",
    "required": ["specversion", "id", "source", "type", "subject", "time", "data", "sequence"],
    "properties": {
        "specversion": {"const": SPEC_VERSION},
        "id": {"type": "string", "description": "the event id"},
        "source": {"type": "string", "description": "/processes/{processId}"},
        "type": {"type": "string"},
        "subject": {"type": "string", "description": "the job id"},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"const": "application/json"},
        "data": {"type": "object"},
        "sequence": {
            "type": "string",
            "pattern": "^[0-9]{20}$",
            "description": "the stream sequence, zero-padded to 20 digits so that it orders as "
            "text (the CloudEvents sequence extension); the SSE id",
        },
        "recorded": {
            "type": "string",
            "format": "date-time",
            "description": "when the stream stored the event",
        },
    },
}


def _refs(names: list[str]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/messages/{name}"} for name in names}


def asyncapi_document(gateway_host: str, gateway_protocol: str, version: str) -> dict[str, Any]:
    names = sorted(EVENT_TYPES)
    cloud = [f"{name}CloudEvent" for name in names]
    sse = {
        "description": "server-sent events (text/event-stream): `id:` the stream sequence, "
        "`event:` the CloudEvents type, `data:` the CloudEvent; resume with "
        "Last-Event-ID"
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "jobstream job events",
            "version": version,
            "description": f"Every change of every job is an event in the JetStream stream "
            f"{STREAM}. Read them with a JetStream consumer (not a core-NATS subscription, which "
            "also sees publishes the stream refused), or from the gateway's event streams.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "gateway": {
                "host": gateway_host,
                "protocol": gateway_protocol,
                "description": "the HTTP gateway (server-sent event streams)",
            },
        },
        "channels": {
            "jobEvents": {
                "address": f"{SUBJECT_ROOT}.{{processId}}.{{jobId}}.{{event}}",
                "title": f"NATS subjects of the stream {STREAM}",
                "parameters": {
                    "processId": _PARAMETER,
                    "jobId": _PARAMETER,
                    "event": {
                        "enum": sorted(t for cls in EVENT_TYPES.values() for t in cls.tokens()),
                        "description": "the event's token",
                    },
                },
                "messages": _refs(names),
            },
            "jobEventStream": {
                "address": "/jobs/{jobId}/events",
                "servers": [{"$ref": "#/servers/gateway"}],
                "parameters": {"jobId": _PARAMETER},
                "description": "one job's history, then its live events, until its final one; "
                + sse["description"],
                "messages": _refs(cloud),
            },
            "eventStream": {
                "address": "/events",
                "servers": [{"$ref": "#/servers/gateway"}],
                "description": "every job's events from now (filters processID, type); "
                + sse["description"],
                "messages": _refs(cloud),
            },
        },
        "operations": {
            name: {
                "action": "send",
                "channel": {"$ref": f"#/channels/{name}"},
                "messages": [
                    {"$ref": f"#/channels/{name}/messages/{m}"}
                    for m in (names if name == "jobEvents" else cloud)
                ],
            }
            for name in ("jobEvents", "jobEventStream", "eventStream")
        },
        "components": {
            "schemas": {**_event_schemas(), "CloudEvent": _CLOUD_EVENT},
            "messages": _messages(),
        },
    }
