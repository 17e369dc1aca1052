"""One version for every member of the workspace.

Each pyproject.toml states it (uv locks static versions; a dynamic one would leave uv.lock and
the Dockerfile's dependency layer without it), so a release edits them together and these
tests fail until all agree. At run time every component reads jobstream_contracts.__version__.
"""

import importlib.metadata
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

import jobstream_contracts

ROOT = Path(__file__).resolve().parents[2]


def declared_projects() -> list[dict]:
    """The [project] tables of the root pyproject.toml and each member's."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = [ROOT, *(ROOT / member for member in root["tool"]["uv"]["workspace"]["members"])]
    return [tomllib.loads((folder / "pyproject.toml").read_text())["project"] for folder in folders]


def declared_versions() -> dict[str, str]:
    """Distribution name -> version, from the root pyproject.toml and each member's."""
    return {project["name"]: project["version"] for project in declared_projects()}


def test_every_member_declares_the_same_version():
    versions = declared_versions()
    assert len(versions) == 9, versions
    assert len(set(versions.values())) == 1, versions


def test_members_depend_on_each_other_at_exactly_the_one_version():
    """Installed from wheels, a client 0.2 beside contracts 0.1 would be a mix no test ran."""
    versions = declared_versions()
    (version,) = set(versions.values())
    pins = {}
    for project in declared_projects():
        for requirement in map(Requirement, project["dependencies"]):
            if requirement.name in versions:
                pins[(project["name"], requirement.name)] = str(requirement.specifier)
    assert ("jobstream", "jobstream-client") in pins  # the walk does find them
    assert {pair: pin for pair, pin in pins.items() if pin != f"=={version}"} == {}


def test_the_lock_holds_the_declared_version_of_each_member():
    locked = {
        package["name"]: package["version"]
        for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]
        if package["name"].startswith("jobstream")
    }
    assert locked == declared_versions()


def test_the_installed_members_and_the_package_version_agree():
    versions = declared_versions()
    installed = {name: importlib.metadata.version(name) for name in versions}
    assert installed == versions
    assert jobstream_contracts.__version__ == versions["jobstream"]


def test_every_package_is_marked_typed():
    packages = [ROOT / "jobstream", *ROOT.glob("*/jobstream_*/__init__.py")]
    folders = [path if path.is_dir() else path.parent for path in packages]
    assert len(folders) == 9, folders
    assert [folder for folder in folders if not (folder / "py.typed").is_file()] == []
