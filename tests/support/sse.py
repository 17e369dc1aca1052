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
    return frames_of_lines(response.iter_lines())


def frames_in(text: str) -> list[Frame]:
    """The events of a whole event-stream body."""
    return list(frames_of_lines(iter([*text.splitlines(), ""])))


def frames_of_lines(lines: Iterator[str]) -> Iterator[Frame]:
    fields: dict[str, list[str]] = {}
    for line in lines:
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
