"""Server-sent events, parsed a line at a time (the WHATWG event-stream format).

Pure: the sync and async clients feed it the lines httpx gives them. Comments (the gateway's
keep-alives) and frames without data yield nothing.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Frame:
    id: str | None
    event: str | None
    data: str


@dataclass
class FrameParser:
    _fields: dict[str, list[str]] = field(default_factory=dict)

    def feed(self, line: str) -> Frame | None:
        """The frame a blank line completes, else None."""
        if not line:
            fields, self._fields = self._fields, {}
            if "data" not in fields:
                return None
            return Frame(
                id=fields.get("id", [None])[-1],
                event=fields.get("event", [None])[-1],
                data="\n".join(fields["data"]),
            )
        if not line.startswith(":"):
            name, _, value = line.partition(":")
            self._fields.setdefault(name, []).append(value.removeprefix(" "))
        return None
