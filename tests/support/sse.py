"""A server-sent events reader for the tests: frames as the spec defines them, over httpx."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Frame:
    id: str | None
    event: str | None
    data: dict[str, Any]


def frames(response: httpx.Response) -> Iterator[Frame]:
    """The events of a streaming response; comments (keep-alives) are skipped."""
    fields: dict[str, list[str]] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in fields:
                yield Frame(
                    fields.get("id", [None])[-1],
                    fields.get("event", [None])[-1],
                    json.loads("\n".join(fields["data"])),
                )
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value.removeprefix(" "))
