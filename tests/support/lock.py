"""Dependency closures read from uv.lock: what installing a package pulls in, on every
platform and Python at once, without installing anything."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What only jobstream-datasets needs: the slim installs and images must not pull any of it.
DATA_STACK = {"xarray", "zarr", "icechunk", "rasterio", "pandas", "numpy"}


def read_lock() -> dict[str, list[dict]]:
    """Lock entries by package name; a name has several entries when the resolution forks."""
    packages: dict[str, list[dict]] = {}
    for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]:
        packages.setdefault(package["name"], []).append(package)
    return packages


def closure(name: str, lock: dict[str, list[dict]], extras: tuple[str, ...] = ()) -> set[str]:
    """Names of `name` (with its `extras`) and everything it pulls in.

    Markers are ignored, so this is the union over all platforms and Python versions; extras
    that a dependency entry asks for (`foo[bar]`, also on workspace members) are followed.
    """
    found: set[str] = set()
    seen: set[tuple[str, str | None, str | None]] = set()
    todo: list[tuple[str, str | None, str | None]] = [(name, None, None)]
    todo += [(name, None, extra) for extra in extras]
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        dep_name, version, extra = item
        assert dep_name in lock, f"{dep_name} is a dependency but has no entry in uv.lock"
        for package in lock[dep_name]:
            if version is not None and package["version"] != version:
                continue
            found.add(dep_name)
            if extra is None:
                deps = package.get("dependencies", [])
            else:
                deps = package.get("optional-dependencies", {}).get(extra, [])
            for dep in deps:
                for dep_extra in (None, *dep.get("extra", ())):
                    todo.append((dep["name"], dep.get("version"), dep_extra))
    return found
