#!/usr/bin/env python3
"""Set-up and run in one command, on any machine with Python >= 3.11 and git.

    python3 dev.py up      install (first time) and start jobstream on http://127.0.0.1:8000
    python3 dev.py jobstream ARGS   run the `jobstream` command (also .venv/bin/jobstream)
    python3 dev.py test    install (first time) and run the test suite (below)
    python3 dev.py check   install (first time), run ruff and pyright, build the docs (--strict)
    python3 dev.py docs    install (first time) and serve the docs on http://127.0.0.1:8001

Installs uv into .uv/ (a private virtual environment), then the locked workspace into .venv/:
`up` and `jobstream` only what running needs, `test`, `check` and `docs` the development tools
too. Extra arguments go to `jobstream up`, to `jobstream`, to pytest or to `mkdocs serve`.

The suite runs in two passes at once: every test that shares nothing with another on three
pytest-xdist workers at a lower priority (niceness 10), and beside it the tests marked `serial`
(the faults, which wait on time) one at a time at normal priority, since a loaded machine would
change what they measure. Each pass prints its slowest tests. After a whole suite passes, the
CPU-per-job guard (`python -m bench.guard`) runs on the machine the suite no longer loads.
"""

import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
UV_VERSION = "0.13.9"
TOOLS = ROOT / ".uv"
BIN = "Scripts" if os.name == "nt" else "bin"
# mkdocs-material prints a banner about its successor on every build: nothing about this site.
QUIET_MKDOCS = {"NO_MKDOCS_2_WARNING": "1"}
# Beside `dev.py up`, which serves on 8000; `dev.py docs -a HOST:PORT` overrides it.
DOCS_ADDRESS = "127.0.0.1:8001"


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


# The actions that only run jobstream: they need none of the development tools.
RUNNING = ("up", "jobstream")


def sync_command(action: str) -> list[str]:
    """uv's command installing what ``action`` needs. Running installs without the dev group
    and --inexact, so it removes nothing a test run installed; the others install everything
    (exact: what the lock says)."""
    command = [str(TOOLS / BIN / "uv"), "sync", "--frozen", "--python", sys.executable]
    return [*command, "--no-dev", "--inexact"] if action in RUNNING else command


def sync(action: str) -> None:
    if not (ROOT / ".venv").exists():
        print("first run: downloading and installing packages (a few minutes)", flush=True)
    uv()
    subprocess.run(sync_command(action), cwd=ROOT, check=True)


def test_environment() -> dict[str, str]:
    """The suite's environment: this one, but writing bytecode caches as Python does by
    default. Where PYTHONDONTWRITEBYTECODE is set (this CI machine), each of the hundreds of
    component processes the suite starts would compile every module it imports again (a
    gateway's imports: 4.0 s instead of 2.0). Compiling the whole environment at install
    instead (uv's --compile-bytecode) costs 45-90 s for 12,000 files, most never imported."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def check() -> int:
    """ruff (lint and format), pyright, and the docs site built with warnings as errors."""
    tools = ROOT / ".venv" / BIN
    with tempfile.TemporaryDirectory(prefix="jobstream-site-") as site:
        commands = [
            [str(tools / "ruff"), "check", "."],
            [str(tools / "ruff"), "format", "--check", "."],
            [str(tools / "pyright")],
            # --strict: a broken link, anchor or reference fails the check.
            [str(tools / "mkdocs"), "build", "--strict", "--quiet", "--site-dir", site],
        ]
        # Every check runs, so one run shows every finding.
        env = {**os.environ, **QUIET_MKDOCS}
        failed = [c for c in commands if subprocess.run(c, cwd=ROOT, env=env).returncode != 0]
    return 1 if failed else 0


# CFS weights: a niceness of 10 gets about a tenth of a core against a process at 0.
YIELDING_NICENESS = 10
# pytest's exit code when a pass selected no test.
NO_TESTS = 5


def test(extra: list[str]) -> int:
    """Both passes at once; the worst exit code of the two."""
    pytest = [str(ROOT / ".venv" / BIN / "pytest"), "--durations=30"]
    if "-m" in extra:  # the caller chose the tests (e.g. -m slow): one pass, one at a time
        command = [*pytest, "-p", "no:xdist", *extra]
        return subprocess.run(command, cwd=ROOT, env=test_environment()).returncode
    workers = os.environ.get("JOBSTREAM_TEST_WORKERS", "3")
    env = test_environment()
    # loadfile: a module's tests on one worker, so a module-scoped stack is started once.
    parallel = [*pytest, "-n", workers, "--dist", "loadfile", "-m", "not slow and not serial"]
    serial = [*pytest, "-p", "no:xdist", "-m", "serial and not slow"]
    with tempfile.TemporaryFile() as serial_output:
        timed = subprocess.Popen(
            [*serial, *extra], cwd=ROOT, env=env, stdout=serial_output, stderr=subprocess.STDOUT
        )
        yielding = _yielding if os.name == "posix" else None  # no preexec_fn on Windows
        untimed = subprocess.run(
            [*parallel, *extra], cwd=ROOT, env=env, preexec_fn=yielding
        ).returncode
        timed.wait()
        serial_output.seek(0)
        sys.stdout.flush()
        sys.stdout.buffer.write(serial_output.read())
    codes = [untimed, timed.returncode]
    if all(code == NO_TESTS for code in codes):
        return NO_TESTS
    worst = max((code for code in codes if code != NO_TESTS), default=0)
    if worst != 0 or not set(extra) <= OUTPUT_FLAGS:
        return worst
    return guard()


# Flags that change what pytest prints, not which tests run: the whole suite ran.
OUTPUT_FLAGS = {"-q", "-v", "-qq", "-vv"}


def guard() -> int:
    """After the whole suite passed, on a machine it no longer loads: CPU per job against
    the floor (bench/guard.py), which fails the run past the bound in bench/guard.json."""
    command = [str(ROOT / ".venv" / BIN / "python"), "-m", "bench.guard"]
    return subprocess.run(command, cwd=ROOT, env=test_environment()).returncode


def _yielding() -> None:
    """The parallel pass gives way: the serial pass's timed faults run beside it at normal
    priority, so they measure what they would on an idle machine while the parallel pass
    takes the cores they leave."""
    os.nice(YIELDING_NICENESS)


def main() -> None:
    if sys.version_info < (3, 11):
        sys.exit("jobstream needs Python 3.11 or newer")
    if len(sys.argv) < 2 or sys.argv[1] not in ("up", "jobstream", "test", "check", "docs"):
        sys.exit(__doc__)
    action, extra = sys.argv[1], sys.argv[2:]
    sync(action)
    if action == "check":
        sys.exit(check())
    if action == "test":
        sys.exit(test(extra))
    os.execv(*exec_command(action, extra))


def exec_command(action: str, extra: list[str]) -> tuple[str, list[str]]:
    """The program ``action`` becomes, run from the checkout (data/ lands there)."""
    tools = ROOT / ".venv" / BIN
    if action == "docs":
        os.environ.update(QUIET_MKDOCS)
        command = [str(tools / "mkdocs"), "serve", "-a", DOCS_ADDRESS, *extra]
    else:
        command = [str(tools / "jobstream"), *(["up"] if action == "up" else []), *extra]
    os.chdir(ROOT)
    return command[0], command


if __name__ == "__main__":
    main()
