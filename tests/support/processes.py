"""Processes the tests need beyond the built-ins, served by executors started by the tests."""

import time
from pathlib import Path

from jobstream_contracts.ogc import (
    ConcurrencyLimit,
    InputDescription,
    OutputDescription,
    ProcessDescription,
    RetryPolicy,
)
from jobstream_contracts.process import PermanentError, Process, no_progress

# Short waits between attempts, so retry tests take a second, not minutes.
QUICK_RETRIES = RetryPolicy(maxAttempts=3, backoff=[0.5, 1.0])


def spin(n: int, on_progress=no_progress) -> dict:
    """Reports progress n times as fast as it can."""
    for i in range(1, n + 1):
        on_progress(i, n, f"step {i}")
    return {"steps": n}


def fail(message: str, on_progress=no_progress) -> dict:
    raise ValueError(message)


def refuse(message: str, on_progress=no_progress) -> dict:
    raise PermanentError(message)


def flaky(marker: str, failures: int, on_progress=no_progress) -> dict:
    """Fails `failures` times (counted in a file), then succeeds."""
    counter = Path(marker)
    seen = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(seen + 1))
    if seen < failures:
        raise ConnectionError(f"transient failure {seen + 1}")
    return {"tries": seen + 1}


def hold(seconds: float, on_progress=no_progress) -> dict:
    """Sleeps without reporting progress (a job longer than AckWait must still run once)."""
    time.sleep(seconds)
    return {"slept": seconds}


def tick(seconds: float, on_progress=no_progress) -> dict:
    """Reports progress every 50 ms for ``seconds`` (stops at once when asked to)."""
    for step in range(int(seconds / 0.05)):
        time.sleep(0.05)
        on_progress(step + 1, None, "ticking")
    return {"ticked": seconds}


def keyed(dataset: str, provider: str, seconds: float, on_progress=no_progress) -> dict:
    """Ticks like ``tick``: one writer per dataset, two jobs at once per provider."""
    return {"ticked": tick(seconds, on_progress)["ticked"]}


KEYED_LIMITS = [
    ConcurrencyLimit(key="dataset:{dataset}", max=1),
    ConcurrencyLimit(key="provider:{provider}", max=2),
]

# The limit of the "tick" process: a job asking for longer is stopped and failed.
TICK_MAX_RUNTIME = 1.0


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
    _process(
        "fail",
        fail,
        {"message": {"type": "string"}},
        "never",
        {"type": "string"},
        retryPolicy=QUICK_RETRIES,
    ),
    _process(
        "refuse",
        refuse,
        {"message": {"type": "string"}},
        "never",
        {"type": "string"},
        retryPolicy=QUICK_RETRIES,
    ),
    _process(
        "flaky",
        flaky,
        {"marker": {"type": "string"}, "failures": {"type": "integer"}},
        "tries",
        {"type": "integer"},
        retryPolicy=QUICK_RETRIES,
    ),
    _process("hold", hold, {"seconds": {"type": "number"}}, "slept", {"type": "number"}),
    _process(
        "tick",
        tick,
        {"seconds": {"type": "number"}},
        "ticked",
        {"type": "number"},
        maxRuntime=TICK_MAX_RUNTIME,
    ),
    _process(
        "keyed",
        keyed,
        {
            "dataset": {"type": "string"},
            "provider": {"type": "string"},
            "seconds": {"type": "number"},
        },
        "ticked",
        {"type": "number"},
        concurrency=KEYED_LIMITS,
    ),
    _process(
        "async-only",
        hold,
        {"seconds": {"type": "number"}},
        "slept",
        {"type": "number"},
        jobControlOptions=["async-execute", "dismiss"],
    ),
]
