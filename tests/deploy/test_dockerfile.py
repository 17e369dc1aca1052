"""The Dockerfile, checked without a container daemon: its instructions parse, what it copies
exists, it installs every workspace member, it runs as a user, and its ENTRYPOINT and
HEALTHCHECK work against a real gateway."""

import json
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

from jobstream_infra.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction: comments dropped, continuations joined."""
    joined = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    parsed = []
    for line in lines:
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            parsed.append((keyword.upper(), arguments.strip()))
    return parsed


def arguments_of(keyword: str) -> list[str]:
    return [arguments for found, arguments in instructions() if found == keyword]


def copied_sources() -> list[str]:
    """Sources of the COPY instructions that copy from the build context."""
    sources = []
    for arguments in arguments_of("COPY"):
        words = shlex.split(arguments)
        if not any(word.startswith("--from") for word in words):
            sources += [word for word in words[:-1] if not word.startswith("--")]
    return sources


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_instruction_is_a_dockerfile_instruction():
    known = {"FROM", "RUN", "COPY", "ENV", "WORKDIR", "USER", "EXPOSE", "HEALTHCHECK"}
    known |= {"ENTRYPOINT", "CMD", "ARG", "LABEL"}
    assert {keyword for keyword, _ in instructions()} <= known


def test_copy_sources_exist():
    for source in copied_sources():
        assert (ROOT / source).exists(), source


def test_every_workspace_member_and_the_cli_are_installed():
    members = pyproject()["tool"]["uv"]["workspace"]["members"]
    sources = set(copied_sources())
    for member in members:
        assert f"{member}/pyproject.toml" in sources and member in sources, member
    assert "jobstream" in sources and "uv.lock" in sources


def test_the_lock_is_installed_frozen_without_development_tools():
    syncs = [run for run in arguments_of("RUN") if "uv sync" in run]
    assert syncs and all("--frozen" in run and "--no-dev" in run for run in syncs)


def test_entrypoint_is_the_jobstream_command():
    (entrypoint,) = arguments_of("ENTRYPOINT")
    assert json.loads(entrypoint) == ["jobstream"]
    # jobstream-client declares the one script; the image's server commands join it.
    client = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())
    assert client["project"]["scripts"]["jobstream"] == "jobstream_client.cli.main:main"


def test_runs_as_a_user_not_root():
    users = arguments_of("USER")
    assert users and users[-1] not in ("root", "0")


def healthcheck_command() -> list[str]:
    (healthcheck,) = arguments_of("HEALTHCHECK")
    return json.loads(healthcheck.split("CMD", 1)[1])


def probe(port: int) -> int:
    command = healthcheck_command()
    # The image's python is the venv's; here, the tests' own interpreter.
    command[0] = sys.executable if command[0] == "python" else command[0]
    env = {"JOBSTREAM_PORT": str(port)}
    return subprocess.run(command, env=env, capture_output=True, timeout=30).returncode


def test_healthcheck_passes_on_a_live_gateway_and_fails_without_one(stack):
    assert probe(stack.port) == 0
    assert probe(free_port()) != 0
