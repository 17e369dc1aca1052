"""The Dockerfile, checked without a container daemon: its instructions parse, what it copies
exists; each image (a build target) installs its component's locked closure and no more
(the slim ones without the data stack, read from uv.lock), runs that component through the
`jobstream` entry point as uid 10001, carries the OCI labels, and only the images that serve
HTTP have the gateway's HEALTHCHECK, which works against a real gateway."""

import json
import re
import shlex
import subprocess
import sys
import tomllib

import pytest

from jobstream_client.cli.main import SERVER_COMMANDS, build_parser
from jobstream_infra.embedded import free_port

from ..support.dockerfile import (
    ROOT,
    command,
    global_args,
    healthcheck,
    image_closure,
    images,
    inherited,
    instructions,
    labels,
    stages,
    syncs,
    venv_stage,
)
from ..support.lock import DATA_STACK

SLIM = ("gateway", "projector", "notifier")
OCI = "org.opencontainers.image."


def copied_sources() -> list[str]:
    """Sources of the COPY instructions that copy from the build context."""
    sources = []
    for keyword, arguments in instructions():
        words = shlex.split(arguments)
        if keyword == "COPY" and not any(word.startswith("--from") for word in words):
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


def test_every_workspace_member_and_the_cli_are_copied():
    members = pyproject()["tool"]["uv"]["workspace"]["members"]
    sources = set(copied_sources())
    for member in members:
        assert f"{member}/pyproject.toml" in sources and member in sources, member
    assert "jobstream" in sources and "uv.lock" in sources


def test_the_lock_is_installed_frozen_without_development_tools():
    every = [words for stage in stages() for words in syncs(stage)]
    assert every and all("--frozen" in words and "--no-dev" in words for words in every)


def test_an_image_per_component_and_one_of_everything_built_by_default():
    assert images() == ["gateway", "projector", "notifier", "executor", "all"]
    assert list(stages())[-1] == "all"  # what `docker build` without --target makes


def test_each_environment_installs_the_dependencies_then_the_same_packages_as_wheels():
    # The first sync (third-party only) is the layer source edits leave cached: it must
    # resolve what the second installs.
    for image in images():
        stage = venv_stage(image)
        assert stage is not None
        dependencies, workspace = syncs(stage)
        assert "--no-install-workspace" in dependencies and "--no-editable" in workspace
        dependencies.remove("--no-install-workspace")
        workspace.remove("--no-editable")
        assert dependencies == workspace, image


@pytest.mark.parametrize("image", SLIM)
def test_slim_images_hold_no_data_stack(image):
    pulled = image_closure(image)
    assert not pulled & DATA_STACK, f"{image} pulls {sorted(pulled & DATA_STACK)}"


def test_the_executor_image_holds_the_data_stack_and_its_processes():
    assert DATA_STACK | {"jobstream-executor", "jobstream-datasets"} <= image_closure("executor")


def test_the_images_that_read_the_view_have_its_postgresql_driver():
    for image in ("gateway", "projector", "all"):
        assert "psycopg" in image_closure(image), image


def test_each_image_runs_its_component_with_the_package_that_adds_it():
    parser = build_parser()
    for image in images():
        args = parser.parse_args(command(image))
        assert args.command == ("gateway" if image == "all" else image)
        assert SERVER_COMMANDS[args.command] in image_closure(image), image
    assert set(SERVER_COMMANDS.values()) <= image_closure("all")  # `up`, `apikey`…


def test_entrypoint_is_the_jobstream_command():
    for image in images():
        assert json.loads(inherited(image, "ENTRYPOINT")[-1]) == ["jobstream"], image
    # jobstream-client declares the one script; each package's commands join it.
    client = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())
    assert client["project"]["scripts"]["jobstream"] == "jobstream_client.cli.main:main"


def test_every_image_runs_as_uid_10001_not_root():
    for image in images():
        assert inherited(image, "USER")[-1] == "jobstream", image
        (made,) = [run for run in inherited(image, "RUN") if "useradd" in run]
        assert re.match(r"useradd [^&]*--uid 10001 [^&]* jobstream\s+&&", made), made


def test_every_image_carries_the_oci_labels():
    for image in images():
        found = labels(image)
        for key in ("title", "description", "version", "source", "licenses"):
            assert found.get(OCI + key), (image, key)
        assert found[OCI + "version"] == "${VERSION}", image
        assert found[OCI + "licenses"] == pyproject()["project"]["license"]
    titles = [labels(image)[OCI + "title"] for image in images()]
    assert len(set(titles)) == len(titles), titles


def test_the_version_built_by_default_is_the_workspaces():
    assert global_args()["VERSION"] == pyproject()["project"]["version"]


def test_only_the_images_that_serve_http_have_the_healthcheck():
    serving = {image for image in images() if command(image) == ["gateway"]}
    assert serving == {"gateway", "all"}
    assert {image for image in images() if healthcheck(image)} == serving
    for image in serving:
        assert inherited(image, "EXPOSE") == ["8000"], image


def probe(port: int) -> int:
    found = healthcheck("gateway")
    assert found is not None
    # The image's python is the venv's; here, the tests' own interpreter.
    found[0] = sys.executable if found[0] == "python" else found[0]
    env = {"JOBSTREAM_PORT": str(port)}
    return subprocess.run(found, env=env, capture_output=True, timeout=30).returncode


def test_healthcheck_passes_on_a_live_gateway_and_fails_without_one(stack):
    assert probe(stack.port) == 0
    assert probe(free_port()) != 0
