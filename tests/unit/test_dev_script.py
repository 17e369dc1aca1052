"""dev.py installs what each action needs: running (`up`, `jobstream`) without the
development tools and without removing them; testing, checking and the docs everything."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_dev_script():
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_running_syncs_without_the_dev_group_and_removes_nothing():
    dev = load_dev_script()
    for action in ("up", "jobstream"):
        command = dev.sync_command(action)
        assert command[1:3] == ["sync", "--frozen"]
        assert "--no-dev" in command and "--inexact" in command, command


def test_testing_checking_and_docs_sync_everything():
    dev = load_dev_script()
    for action in ("test", "check", "docs"):
        command = dev.sync_command(action)
        assert command[1:3] == ["sync", "--frozen"]
        assert "--no-dev" not in command and "--only-dev" not in command, command


def test_jobstream_runs_the_command_from_the_checkout(monkeypatch, tmp_path):
    dev = load_dev_script()
    monkeypatch.chdir(tmp_path)
    program, argv = dev.exec_command("jobstream", ["show", "354677c7"])
    assert argv == [str(ROOT / ".venv" / dev.BIN / "jobstream"), "show", "354677c7"]
    assert program == argv[0] and Path.cwd() == ROOT
    _, argv = dev.exec_command("up", ["--port", "8010"])
    assert argv[1:] == ["up", "--port", "8010"]


def test_the_suite_writes_bytecode_caches(monkeypatch):
    # Else, where PYTHONDONTWRITEBYTECODE is set, every component start compiles its imports.
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("UNRELATED_SETTING", "kept")
    env = load_dev_script().test_environment()
    assert "PYTHONDONTWRITEBYTECODE" not in env and env["UNRELATED_SETTING"] == "kept"


def test_the_parallel_pass_runs_at_a_lower_priority():
    # So the serial pass's timed faults, beside it at normal priority, see an idle machine.
    dev = load_dev_script()
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.nice(0))"],
        preexec_fn=dev._yielding,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(child.stdout) == min(os.nice(0) + dev.YIELDING_NICENESS, 19)
