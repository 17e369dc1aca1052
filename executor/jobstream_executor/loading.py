"""Finding the processes an executor serves: installed plugins, Python modules, then
operators' YAML files."""

import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from jobstream_contracts.process import Process

from .custom import load_custom_processes
from .signatures import check_signature

# Installed packages offer processes here: each entry point names a module as
# JOBSTREAM_PROCESS_MODULES lists them, found without any configuration.
ENTRY_POINTS = "jobstream.processes"


def load_processes(modules: Iterable[str], settings: Any = None) -> dict[str, Process]:
    """Processes of every installed package's ``jobstream.processes`` entry points, then of
    ``modules``: each module's ``PROCESSES`` list, or its ``processes(settings)`` for
    processes described from configuration; later ones override earlier ids, so a listed
    module wins over a plugin. A process whose function does not fit its inputs is refused
    (signatures.py).

    Then the custom processes declared in ``<settings.plugins_dir>/processes/*.yaml`` (see
    custom.py), which override any module's process of their id.
    """
    plugins = [entry.load() for entry in entry_points(group=ENTRY_POINTS)]
    processes: dict[str, Process] = {}
    for module in [*plugins, *map(importlib.import_module, modules)]:
        for process in _offered_by(module, settings):
            check_signature(process)
            processes[process.id] = process
    plugins_dir = getattr(settings, "plugins_dir", None)
    if plugins_dir is not None:
        processes.update(load_custom_processes(Path(plugins_dir) / "processes"))
    return processes


def _offered_by(module: ModuleType, settings: Any) -> list[Process]:
    if hasattr(module, "processes"):
        return list(module.processes(settings))
    return list(module.PROCESSES)
