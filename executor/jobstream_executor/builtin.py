"""The built-in processes: `echo` (OGC's test process) and `count` (visible progress)."""

import time

from jobstream_contracts.ogc import InputDescription, OutputDescription, ProcessDescription
from jobstream_contracts.process import Process, ProgressCallback, no_progress


def echo(message: str, pause: float = 0.0, on_progress: ProgressCallback = no_progress) -> dict:
    deadline = time.monotonic() + pause
    # Sleep in short steps so a dismissal is seen within 0.1 s.
    while (left := deadline - time.monotonic()) > 0:
        on_progress(pause - left, pause, "pausing")
        time.sleep(min(0.1, left))
    return {"echo": message}


def count(n: int, interval: float = 0.1, on_progress: ProgressCallback = no_progress) -> dict:
    for i in range(1, n + 1):
        if interval:
            time.sleep(interval)
        on_progress(i, n, f"counted {i} of {n}")
    return {"count": n}


# Every byte of a message is stored twice (submitted and succeeded): a bound keeps the test
# process from being a way to fill the event store.
ECHO_MAX_LENGTH = 65_536

ECHO = Process(
    ProcessDescription(
        id="echo",
        version="1.0.0",
        title="Echo",
        description="Returns its `message` input unchanged, optionally after `pause` seconds "
        "(the OGC API - Processes test process).",
        keywords=["test"],
        inputs={
            "message": InputDescription(
                title="Message",
                description=f"The text to echo, at most {ECHO_MAX_LENGTH:,} characters.",
                schema={"type": "string", "maxLength": ECHO_MAX_LENGTH},
            ),
            "pause": InputDescription(
                title="Pause",
                description="Seconds to wait before answering.",
                minOccurs=0,
                schema={"type": "number", "minimum": 0, "maximum": 3600, "default": 0},
            ),
        },
        outputs={"echo": OutputDescription(title="Echo", schema={"type": "string"})},
    ),
    echo,
)

COUNT = Process(
    ProcessDescription(
        id="count",
        version="1.0.0",
        title="Count",
        description="Counts from 1 to `n`, one step every `interval` seconds, reporting "
        "progress at each step.",
        keywords=["test", "progress"],
        inputs={
            "n": InputDescription(
                title="Steps",
                schema={"type": "integer", "minimum": 1, "maximum": 1000000},
            ),
            "interval": InputDescription(
                title="Interval",
                description="Seconds per step.",
                minOccurs=0,
                schema={"type": "number", "minimum": 0, "maximum": 60, "default": 0.1},
            ),
        },
        outputs={"count": OutputDescription(title="Count", schema={"type": "integer"})},
    ),
    count,
)

PROCESSES = [ECHO, COUNT]
