"""The commands that connect to NATS (`events export`, `apikey`) end with one line naming the
address and the setting to change when they cannot connect: never a retry for ever, never a
traceback."""

import os
import subprocess
import sys
import time

import pytest

from jobstream_client.cli.exit_codes import UNREACHABLE, USAGE
from jobstream_infra.embedded import free_port

# Starting Python and importing the NATS client, on a loaded machine.
START_SLACK = 20
# The wait for NATS the command is given, shorter than its 10 s default: the test proves the
# wait ends, not how long it is, and a second is far below the slack a loaded machine needs.
COMMAND_WAIT = 1.0


def jobstream(cwd, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOBSTREAM_")}
    return subprocess.run(
        [sys.executable, "-m", "jobstream", *args],
        cwd=cwd,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=COMMAND_WAIT + START_SLACK,
    )


def test_export_from_an_unreachable_nats_ends_naming_the_address(tmp_path):
    address = f"nats://127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = jobstream(
        tmp_path,
        "events",
        "export",
        JOBSTREAM_NATS_URL=address,
        JOBSTREAM_NATS_COMMAND_WAIT=str(COMMAND_WAIT),
    )
    assert time.monotonic() - started < COMMAND_WAIT + START_SLACK
    assert done.returncode == UNREACHABLE, done.stderr
    assert f"cannot reach NATS at {address} (no answer within {COMMAND_WAIT:g} s)" in done.stderr
    assert "JOBSTREAM_NATS_URL" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_apikey_from_a_folder_without_up_says_what_to_set(tmp_path):
    done = jobstream(tmp_path, "apikey", "list")
    assert done.returncode == USAGE, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line
    assert "JOBSTREAM_NATS_URL" in done.stderr and "jobstream up" in done.stderr


@pytest.mark.parametrize("every", [[], ["--every"]])
def test_archive_without_a_retention_says_what_to_set_and_connects_to_nothing(tmp_path, every):
    # A server nobody answers on: the command must not wait on it.
    address = f"nats://127.0.0.1:{free_port()}"
    done = jobstream(tmp_path, "archive", *every, JOBSTREAM_NATS_URL=address)
    assert done.returncode == USAGE, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line
    assert "JOBSTREAM_ARCHIVE_RETENTION is not set" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
