#!/usr/bin/env python3
"""Set-up and run in one command, on any machine with Python >= 3.11 and git.

    python3 dev.py up      install (first time) and start jobstream on http://127.0.0.1:8000
    python3 dev.py test    install (first time) and run the test suite (below)
    python3 dev.py check   install (first time) and run ruff and pyright

Installs uv into .uv/ (a private virtual environment), then the locked workspace into .venv/.
Extra arguments go to `jobstream up` or to pytest.

The suite runs in two passes: first every test that shares nothing with another, on every core
(pytest-xdist); then the tests marked `serial` (faults, timing and cost measurements), one at a
time, since a loaded machine would change what they measure. Each pass prints its slowest tests.
"""

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
UV_VERSION = "0.13.9"
TOOLS = ROOT / ".uv"
BIN = "Scripts" if os.name == "nt" else "bin"


def uv() -> Path:
    binary = TOOLS / BIN / "uv"
    if not binary.exists():
        print(f"installing uv {UV_VERSION} into {TOOLS}", flush=True)
        venv.create(TOOLS, with_pip=True, clear=True)
        subprocess.run(
            [str(TOOLS / BIN / "python"), "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"],
            check=True,
        )
    return binary


def sync() -> None:
    # One environment for running and testing: switching between them costs nothing.
    if not (ROOT / ".venv").exists():
        print("first run: downloading and installing packages (a few minutes)", flush=True)
    subprocess.run(
        [str(uv()), "sync", "--frozen", "--python", sys.executable], cwd=ROOT, check=True
    )


def check() -> int:
    """ruff (lint and format) and pyright, with the settings in pyproject.toml."""
    tools = ROOT / ".venv" / BIN
    commands = [
        [str(tools / "ruff"), "check", "."],
        [str(tools / "ruff"), "format", "--check", "."],
        [str(tools / "pyright")],
    ]
    # Every check runs, so one run shows every finding.
    failed = [c for c in commands if subprocess.run(c, cwd=ROOT).returncode != 0]
    return 1 if failed else 0


# pytest's exit code when a pass selected no test.
NO_TESTS = 5


def test(extra: list[str]) -> int:
    """The parallel pass, then the serial one; the worst exit code of the two."""
    pytest = [str(ROOT / ".venv" / BIN / "pytest"), "--durations=30"]
    if "-m" in extra:  # the caller chose the tests (e.g. -m slow): one pass, one at a time
        return subprocess.run([*pytest, "-p", "no:xdist", *extra], cwd=ROOT).returncode
    workers = os.environ.get("JOBSTREAM_TEST_WORKERS", "2")
    # loadfile: a module's tests on one worker, so a module-scoped stack is started once.
    passes = [
        [*pytest, "-n", workers, "--dist", "loadfile", "-m", "not slow and not serial"],
        [*pytest, "-p", "no:xdist", "-m", "serial and not slow"],
    ]
    codes = [subprocess.run([*command, *extra], cwd=ROOT).returncode for command in passes]
    if all(code == NO_TESTS for code in codes):
        return NO_TESTS
    return max((code for code in codes if code != NO_TESTS), default=0)


def main() -> None:
    if sys.version_info < (3, 11):
        sys.exit("jobstream needs Python 3.11 or newer")
    if len(sys.argv) < 2 or sys.argv[1] not in ("up", "test", "check"):
        sys.exit(__doc__)
    action, extra = sys.argv[1], sys.argv[2:]
    sync()
    if action == "check":
        sys.exit(check())
    if action == "test":
        sys.exit(test(extra))
    command = [str(ROOT / ".venv" / BIN / "jobstream"), "up", *extra]
    os.chdir(ROOT)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
