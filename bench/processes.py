"""Processes only the benchmarks serve."""

import time

from jobstream_contracts.ogc import InputDescription, OutputDescription, ProcessDescription
from jobstream_contracts.process import Process, no_progress


def sleep(seconds: float, on_progress=no_progress) -> dict:
    time.sleep(seconds)
    return {"slept": seconds}


PROCESSES = [
    Process(
        ProcessDescription(
            id="sleep",
            version="1.0.0",
            title="Sleep",
            inputs={"seconds": InputDescription(schema={"type": "number", "minimum": 0})},
            outputs={"slept": OutputDescription(schema={"type": "number"})},
        ),
        sleep,
    )
]
