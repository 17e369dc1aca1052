"""Processes the tests need beyond the built-ins, served by executors started by the tests."""

import time

from jobstream_contracts.ogc import InputDescription, OutputDescription, ProcessDescription
from jobstream_executor.process import Process, no_progress


def spin(n: int, on_progress=no_progress) -> dict:
    """Reports progress n times as fast as it can."""
    for i in range(1, n + 1):
        on_progress(i, n, f"step {i}")
    return {"steps": n}


def fail(message: str, on_progress=no_progress) -> dict:
    raise ValueError(message)


def hold(seconds: float, on_progress=no_progress) -> dict:
    """Sleeps without reporting progress (a job longer than AckWait must still run once)."""
    time.sleep(seconds)
    return {"slept": seconds}


def _process(id: str, function, inputs: dict, output: str, schema: dict, **extra) -> Process:
    return Process(
        ProcessDescription(
            id=id,
            version="1.0.0",
            title=id,
            inputs={k: InputDescription(schema=v) for k, v in inputs.items()},
            outputs={output: OutputDescription(schema=schema)},
            **extra,
        ),
        function,
    )


PROCESSES = [
    _process("spin", spin, {"n": {"type": "integer", "minimum": 1}}, "steps", {"type": "integer"}),
    _process("fail", fail, {"message": {"type": "string"}}, "never", {"type": "string"}),
    _process("hold", hold, {"seconds": {"type": "number"}}, "slept", {"type": "number"}),
    _process(
        "async-only", hold, {"seconds": {"type": "number"}}, "slept", {"type": "number"},
        jobControlOptions=["async-execute", "dismiss"],
    ),
]
