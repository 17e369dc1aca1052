"""Installs that fit the part: the gateway, the projector, the notifier and the contracts install
and import without the data stack (xarray, zarr, icechunk, rasterio, pandas, numpy), which only
jobstream-datasets needs.

Two checks: the dependency closures in uv.lock (fast, every platform and Python at once), and
real installs into fresh virtual environments, which import the code and look at what got loaded.
"""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from jobstream_infra.embedded import free_port

from .support.dockerfile import command, healthcheck, image_closure, installed
from .support.lock import DATA_STACK, closure, read_lock
from .support.waiting import eventually

ROOT = Path(__file__).resolve().parents[1]
BIN = "Scripts" if os.name == "nt" else "bin"
UV = ROOT / ".uv" / BIN / ("uv.exe" if os.name == "nt" else "uv")  # installed by dev.py

SLIM = ("jobstream-contracts", "jobstream-gateway", "jobstream-projector", "jobstream-notifier")


# --- uv.lock ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SLIM)
def test_lock_closure_has_no_data_stack(name):
    lock = read_lock()
    pulled = closure(name, lock)
    assert not pulled & DATA_STACK, f"{name} pulls {sorted(pulled & DATA_STACK)}: {sorted(pulled)}"


def test_lock_closure_of_contracts_is_pydantic():
    lock = read_lock()
    (contracts,) = lock["jobstream-contracts"]
    assert [dep["name"] for dep in contracts.get("dependencies", [])] == ["pydantic"]
    assert closure("jobstream-contracts", lock) == {"jobstream-contracts"} | closure(
        "pydantic", lock
    )


def test_lock_closure_sees_the_data_stack_where_it_is():
    # Keeps the checks above honest: the same walk does find the data stack under datasets.
    assert DATA_STACK <= closure("jobstream-datasets", read_lock())


# --- real installs ---------------------------------------------------------------------------


def isolated_environment() -> dict[str, str]:
    """This process's environment, without what would leak the caller's packages (its
    PYTHONPATH, active venv) or settings (JOBSTREAM_*) into a fresh environment."""
    leaking = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    return {
        k: v for k, v in os.environ.items() if k not in leaking and not k.startswith("JOBSTREAM_")
    }


def run(command: list, *, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in command],
        check=False,
        cwd=cwd,
        env=isolated_environment(),
        text=True,
        capture_output=True,
        timeout=100,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def fresh_venv(where: Path) -> Path:
    """An empty virtual environment of this Python in ``where``; returns its python."""
    if not UV.exists():
        pytest.fail(
            f"uv not found at {UV}: run the tests with `python3 dev.py test`, "
            "which installs it there"
        )
    venv = where / "venv"
    run([UV, "venv", "--quiet", "--python", sys.executable, venv], cwd=where)
    return venv / BIN / ("python.exe" if os.name == "nt" else "python")


def pip_install(python: Path, arguments: list, where: Path) -> None:
    """``uv pip install`` into ``python``'s venv: from uv's cache (filled by dev.py's `uv sync`)
    without network; only if the cache lacks a wheel is PyPI asked."""
    install = [UV, "pip", "install", "--quiet", "--python", python, *arguments]
    if run([*install, "--offline"], cwd=where, check=False).returncode != 0:
        run(install, cwd=where)


def install_alone(package: str, tmp_path: Path) -> Path:
    """A fresh venv holding `package` and its locked closure only; returns its python.

    The closure is exported from uv.lock as pylock.toml, so the versions are the tested ones.
    Workspace members go in editable: a non-editable build of a local folder is cached by uv
    until its pyproject.toml changes, and would test stale code.
    """
    python = fresh_venv(tmp_path)
    pylock = tmp_path / "pylock.toml"
    run(
        [
            UV,
            "export",
            "--quiet",
            "--frozen",
            "--no-dev",
            "--package",
            package,
            "--format",
            "pylock.toml",
            "--output-file",
            pylock,
        ],
        cwd=ROOT,
    )
    pip_install(python, ["-r", pylock], tmp_path)
    return python


def probe(python: Path, code: str, tmp_path: Path) -> dict:
    """Run `code` isolated (-I: no cwd, user site or PYTHONPATH); it prints one JSON object."""
    result = run([python, "-I", "-c", code], cwd=tmp_path)
    return json.loads(result.stdout.strip().splitlines()[-1])


ABSENT = """
import importlib, importlib.metadata as md, json, sys
missing = []
for name in {names!r}:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        missing.append(name)
installed = sorted({{d.metadata["Name"].lower().replace("_", "-") for d in md.distributions()}})
print(json.dumps({{"missing": missing, "installed": installed}}))
"""


def test_contracts_install_with_pydantic_only(tmp_path):
    python = install_alone("jobstream-contracts", tmp_path)
    imported = probe(
        python,
        (
            "import json, pkgutil, importlib, jobstream_contracts.events, jobstream_contracts.ogc\n"
            "import jobstream_contracts as c\n"
            "names = [m.name for m in pkgutil.walk_packages(c.__path__, 'jobstream_contracts.')]\n"
            "for name in names: importlib.import_module(name)\n"
            "print(json.dumps(names))"
        ),
        tmp_path,
    )
    assert {"jobstream_contracts.events", "jobstream_contracts.ogc"} <= set(imported)

    found = probe(python, ABSENT.format(names=("xarray", "nats", "sqlmodel")), tmp_path)
    lock = read_lock()
    allowed = {"jobstream-contracts"} | closure("pydantic", lock)
    assert "pydantic" in found["installed"]
    assert set(found["installed"]) <= allowed, sorted(set(found["installed"]) - allowed)
    assert found["missing"] == ["xarray", "nats", "sqlmodel"], found


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    """Every member's sdist, and its wheel built from that sdist, as a release builds them
    (`uv build`, no --wheel: a file the sdist left out fails here, not on a user's machine);
    built once, for the archive checks and the installs from wheels."""
    out = tmp_path_factory.mktemp("wheels")
    build = [UV, "build", "--quiet", "--all-packages", "--out-dir", out]
    if run([*build, "--offline"], cwd=ROOT, check=False).returncode != 0:
        run(build, cwd=ROOT)
    return out


def test_every_member_builds_an_sdist_and_from_it_a_wheel_with_py_typed(wheels):
    """The marker that lets type checkers read the packages ships in each wheel, and every
    wheel's metadata names the same version."""
    built = sorted(wheels.glob("*.whl"))
    assert len(built) == 9, built
    sdists = {sdist.name.removesuffix(".tar.gz") for sdist in wheels.glob("*.tar.gz")}
    assert sdists == {"-".join(wheel.name.split("-")[:2]) for wheel in built}
    versions = set()
    for wheel in built:
        names = zipfile.ZipFile(wheel).namelist()
        package = wheel.name.split("-")[0]
        assert f"{package}/py.typed" in names, wheel.name
        versions.add(wheel.name.split("-")[1])
    assert len(versions) == 1, versions


def install_from_wheels(requirements: dict[str, str], wheels: Path, where: Path) -> Path:
    """A fresh venv holding members as a user installs them: their built wheels (distribution
    name -> extras, "[cli]") and what those pull in, the third-party packages at the versions
    uv.lock holds (as constraints); returns its python.

    The wheels are named by path, not found by name: no index can stand in for one.
    """
    python = fresh_venv(where)
    constraints = where / "constraints.txt"
    run(
        [
            *(UV, "export", "--quiet", "--frozen", "--no-dev", "--all-packages", "--all-extras"),
            *("--no-emit-workspace", "--no-hashes", "--format", "requirements.txt"),
            *("--output-file", constraints),
        ],
        cwd=ROOT,
    )
    named = [
        f"{name}{extras} @ {next(wheels.glob(name.replace('-', '_') + '-*.whl')).as_uri()}"
        for name, extras in requirements.items()
    ]
    pip_install(python, [*named, "--constraint", constraints], where)
    return python


# The client's wheel and the contracts' it pins: a person following jobs needs nothing else.
CLIENT_ALONE = {"jobstream-client": "[cli]", "jobstream-contracts": ""}


@pytest.fixture(scope="module")
def client_alone(wheels, tmp_path_factory) -> Path:
    """`pip install 'jobstream-client[cli]'` into an empty venv; its python."""
    return install_from_wheels(CLIENT_ALONE, wheels, tmp_path_factory.mktemp("client"))


def jobstream_script(python: Path) -> Path:
    return python.parent / ("jobstream.exe" if os.name == "nt" else "jobstream")


def test_the_client_alone_installs_without_the_server_or_the_data_stack(client_alone, tmp_path):
    data_stack = sorted(DATA_STACK)
    found = probe(client_alone, ABSENT.format(names=["rich", *data_stack]), tmp_path)
    members = {name for name in found["installed"] if name.startswith("jobstream")}
    assert members == set(CLIENT_ALONE), found["installed"]
    assert found["missing"] == data_stack, found  # rich is there: the cli extra
    assert not set(found["installed"]) & {"nats-py", "fastapi", "sqlmodel"}, found


def test_the_client_alone_follows_a_job_of_a_running_stack(client_alone, stack, tmp_path):
    followed = run(
        [jobstream_script(client_alone), "submit", "echo", "message=from the client alone"]
        + ["--follow", "--url", stack.url],
        cwd=tmp_path,
        check=False,
    )
    # 0 is a followed job that ended successful; its result (one text) follows on stdout.
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout == "from the client alone\n"


def test_the_client_without_its_cli_extra_says_how_to_add_it(wheels, tmp_path):
    python = install_from_wheels({**CLIENT_ALONE, "jobstream-client": ""}, wheels, tmp_path)
    submit = run([jobstream_script(python), "submit", "echo"], cwd=tmp_path, check=False)
    assert submit.returncode == 2, submit
    assert "pip install 'jobstream-client[cli]'" in submit.stderr, submit.stderr


def test_the_client_alone_says_how_to_install_the_server(client_alone, tmp_path):
    up = run([jobstream_script(client_alone), "up", "--port", "8000"], cwd=tmp_path, check=False)
    assert up.returncode == 2, up  # bad usage, as for any command not there
    assert "jobstream up" in up.stderr and "pip install jobstream" in up.stderr, up.stderr
    assert "Traceback" not in up.stderr


# --- the gateway image's environment -----------------------------------------------------


@pytest.fixture(scope="module")
def gateway_image(wheels, tmp_path_factory) -> Path:
    """What the Dockerfile's gateway target installs (its package and extras, and the members
    of its locked closure), from their wheels; its python."""
    package, extras = installed("gateway")
    members = {name: "" for name in image_closure("gateway") if name.startswith("jobstream")}
    members[package] = f"[{','.join(extras)}]" if extras else ""
    return install_from_wheels(members, wheels, tmp_path_factory.mktemp("gateway"))


def test_the_gateway_image_installs_without_the_data_stack(gateway_image, tmp_path):
    python = gateway_image
    forbidden = (
        "xarray",
        "icechunk",
        "zarr",
        "jobstream_projector.service",
        "jobstream_executor",
        "jobstream_datasets",
    )
    loaded = probe(
        python,
        (
            "import json, sys, jobstream_gateway.app\n"
            f"print(json.dumps([m for m in {forbidden!r} if m in sys.modules]))"
        ),
        tmp_path,
    )
    assert loaded == [], f"importing jobstream_gateway.app loaded {loaded}"

    not_installed = (
        "xarray",
        "zarr",
        "icechunk",
        "rasterio",
        "pandas",
        "numpy",
        "jobstream_executor",
        "jobstream_datasets",
    )
    found = probe(python, ABSENT.format(names=not_installed), tmp_path)
    assert found["missing"] == list(not_installed), found
    assert {
        "jobstream-gateway",
        "jobstream-projector",
        "jobstream-infra",
        "jobstream-contracts",
    } <= set(found["installed"])


def test_the_gateway_image_serves_its_healthcheck_and_names_what_it_lacks(
    gateway_image, nats_server, tmp_path
):
    port = free_port()
    env = {
        **isolated_environment(),
        **nats_server.credentials.env_for("gateway"),
        # As in the image: its environment's commands first on the PATH.
        "PATH": os.pathsep.join([str(gateway_image.parent), os.environ["PATH"]]),
        "JOBSTREAM_PORT": str(port),
        "JOBSTREAM_DATA_DIR": str(tmp_path),
    }
    log = tmp_path / "gateway.log"
    with open(log, "wb") as out:
        gateway = subprocess.Popen(
            ["jobstream", *command("gateway")], env=env, cwd=tmp_path, stdout=out, stderr=out
        )
    try:
        health = f"http://127.0.0.1:{port}/health"
        eventually(lambda: httpx.get(health).is_success, 60, lambda: log.read_text())
        checked = subprocess.run(healthcheck("gateway") or [], env=env, timeout=30)
        assert checked.returncode == 0
    finally:
        gateway.terminate()
        assert gateway.wait(30) == 0, log.read_text()
    executor = subprocess.run(
        ["jobstream", "executor"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert executor.returncode == 2, executor
    assert "pip install jobstream-executor" in executor.stderr, executor.stderr


# A plugin package as a process or source author makes one: its entry points are all it takes.
PLUGIN_PACKAGE = {
    "pyproject.toml": """
[project]
name = "jobstream-plugin-demo"
version = "1.0.0"
dependencies = []

[project.entry-points."jobstream.processes"]
demo = "jobstream_plugin_demo.processes"

[project.entry-points."jobstream.sources"]
demo-source = "jobstream_plugin_demo.sources:DemoSource"

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
""",
    "jobstream_plugin_demo/__init__.py": "",
    "jobstream_plugin_demo/processes.py": """
from jobstream_contracts.ogc import InputDescription, OutputDescription, ProcessDescription
from jobstream_contracts.process import Process, no_progress


def double(x: float, on_progress=no_progress) -> float:
    return 2 * x


PROCESSES = [
    Process(
        ProcessDescription(
            id="demo-double",
            version="1.0.0",
            inputs={"x": InputDescription(schema={"type": "number"})},
            outputs={"doubled": OutputDescription(schema={"type": "number"})},
        ),
        double,
    )
]
""",
    "jobstream_plugin_demo/sources.py": """
from jobstream_datasets.plugins.synthetic import SyntheticSource


class DemoSource(SyntheticSource):
    \"\"\"A provider's source, as a plugin package ships one.\"\"\"
""",
}

FOUND_BY_ENTRY_POINTS = """
import json
from jobstream_datasets.plugin import plugin_class
from jobstream_executor.loading import load_processes

processes = load_processes(["jobstream_executor.builtin"])
print(json.dumps({
    "processes": sorted(processes),
    "doubled": processes["demo-double"].function(x=21),
    "source": plugin_class("demo-source").__name__,
}))
"""


def test_an_installed_plugin_package_is_found_by_its_entry_points(tmp_path):
    python = install_alone("jobstream-datasets", tmp_path)
    package = tmp_path / "plugin"
    for name, text in PLUGIN_PACKAGE.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text.lstrip())
    pip_install(python, [package], tmp_path)
    found = probe(python, FOUND_BY_ENTRY_POINTS, tmp_path)
    # No JOBSTREAM_PROCESS_MODULES, no module:attribute: installing the package was enough.
    assert {"demo-double", "echo", "count"} <= set(found["processes"]), found
    assert found["doubled"] == 42
    assert found["source"] == "DemoSource"
