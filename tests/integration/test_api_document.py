"""The API document tells the truth: schemathesis, driven by the service's own /api, finds
nothing a running service answers that the document does not declare.

The stack authenticates (API keys), so the security the document declares is tested too, and
serves only the built-in processes: the test processes include ones made to fail, whose results
are a 500 by the standard's design. A synchronous execution hands over its job after 2 s, so no
request waits for a long job.

Every check runs but those that cannot pass by design, where they cannot (see _CONFIG). The
short pass runs with the suite; the long one with
`python3 dev.py test -m slow tests/integration/test_api_document.py`.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..support.stack import Stack, keyed_stack

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
KEY_VARIABLE = "JOBSTREAM_TEST_API_KEY"  # the admin key, named in _CONFIG
_TIMEOUT = 780  # past the long pass's 600 s, within its test's 900 s

# Deterministic generation: the same requests every run, so CI is stable.
# Checks that cannot pass by design are off, where they cannot:
# - positive_data_acceptance ("a schema-valid request is accepted") where OGC's request schemas
#   are looser than the service: execute and estimate inputs are checked against each process's
#   own description (subscriber URLs against the callback policy); the job list's `datetime`,
#   the status's `at` and the `Last-Event-ID` of /events are strings whose grammar (an ordered
#   RFC 3339 interval, an instant, a stream sequence) the document gives in prose; a schedule's
#   cron, interval and zone have grammars of their own, its inputs are its process's. Those
#   requests are rightly 400. A job created by POST /jobs is checked as an execution is; a
#   change or start of a job no longer created (every job an execution made) is rightly 423.
#   A rerun needs a job that succeeded: of any other it is rightly 404 or 409.
# - use_after_free ("a deleted resource is 404"): DELETE /jobs/{id} dismisses a job; the job stays
#   readable, with status "dismissed" and its history, as OGC's dismiss class and the audit trail
#   want.
# Event streams are read for one event or 2 s, whichever comes first. One worker: with two,
# Hypothesis parsed lambdas' sources in both threads at once, and CPython 3.11's parser raised
# "AST constructor recursion depth mismatch" inside schemathesis (a CI run, not our API).
_CONFIG = """
workers = 1
request-timeout = 10
max-stream-events = 1

[generation]
deterministic = true

[auth.openapi.bearerAuth]
bearer = "${JOBSTREAM_TEST_API_KEY}"

[checks]
use_after_free.enabled = false

[[operations]]
include-name = [
  "GET /events",
  "GET /jobs",
  "GET /jobs/{job_id}",
  "GET /processes/{process_id}/estimate",
  "POST /processes/{process_id}/execution",
  "POST /jobs",
  "PATCH /jobs/{job_id}",
  "POST /jobs/{job_id}/results",
  "POST /jobs/{job_id}/rerun",
  "POST /schedules",
  "PATCH /schedules/{schedule_id}",
  "POST /schedules/{schedule_id}/backfill",
]
checks.positive_data_acceptance.enabled = false

[[operations]]
include-path = ["/events", "/jobs/{job_id}/events"]
request-timeout = 2
"""


@pytest.fixture(scope="module")
def authenticating(tmp_path_factory):
    """A stack that authenticates, and an admin's key for it."""
    workdir = tmp_path_factory.mktemp("api-document")
    with keyed_stack(
        workdir, sync_timeout=2, process_modules=json.dumps(["jobstream_executor.builtin"])
    ) as (stack, key):
        stack.wait_ready()
        yield stack, key


def _document(stack: Stack, workdir: Path) -> Path:
    """The service's /api, plus what only the test knows: a request that runs (echo is built
    in). Without it no generated request would create a job, and nothing that follows a job's
    creation would be tested. From a file, /api itself is tested too (from its URL it is not)."""
    document = stack.http.get("/api").json()
    execute = document["paths"]["/processes/{process_id}/execution"]["post"]
    (process_id,) = [p for p in execute["parameters"] if p["name"] == "process_id"]
    process_id["schema"]["example"] = "echo"
    body = execute["requestBody"]["content"]["application/json"]
    body["example"] = {"inputs": {"message": "hello"}}
    path = workdir / "api.json"
    path.write_text(json.dumps(document))
    return path


def _schemathesis(stack: Stack, key: str, workdir: Path, budget: list[str]) -> dict:
    """Run schemathesis against the stack within `budget` (its options); its JSON report."""
    config = workdir / "schemathesis.toml"
    config.write_text(_CONFIG)
    reports = workdir / "reports"
    command = [str(SCHEMATHESIS), "--config-file", str(config), "run"]
    command += [str(_document(stack, workdir)), "--url", stack.url]
    # Every check is on unless _CONFIG turns it off (`--checks` would override _CONFIG).
    options = [*budget, "--no-color"]
    options += ["--report", "json", "--report-dir", str(reports)]
    ran = subprocess.run(
        [*command, *options],
        env={**os.environ, KEY_VARIABLE: key},
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
    )
    (report,) = reports.glob("json-*.json")
    summary = json.loads(report.read_text())
    summary["output"] = ran.stdout[-20_000:] + ran.stderr[-5_000:]
    return summary


def _assert_nothing_found(summary: dict) -> None:
    assert summary["failures"] == [] and summary["errors"] == [], summary["output"]
    assert summary["exit_code"] == 0, summary["output"]
    operations = summary["operations"]
    assert operations["tested"] == operations["total"] >= 18, operations
    ran = {name for name, phase in summary["phases"].items() if phase["status"] == "success"}
    assert ran == {"examples", "coverage", "fuzzing", "stateful"}, summary["phases"]


@pytest.mark.timeout(300)  # 45 s here; room for a machine three times as loaded
def test_schemathesis_finds_nothing_in_a_short_pass(authenticating, tmp_path):
    # A count of cases, not a time budget: on a loaded machine 30 s fuzzed 9 operations of 33
    # (a CI run); each operation gets its cases however slow the machine is.
    stack, key = authenticating
    _assert_nothing_found(_schemathesis(stack, key, tmp_path, ["--max-examples", "15"]))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_schemathesis_finds_nothing_in_ten_minutes(authenticating, tmp_path):
    stack, key = authenticating
    summary = _schemathesis(stack, key, tmp_path, ["--max-time", "600"])
    print(json.dumps({k: summary[k] for k in ("running_time", "test_cases", "warnings")}))
    _assert_nothing_found(summary)
