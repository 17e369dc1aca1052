"""Finding the processes an executor serves: Python modules, then operators' YAML files."""

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jobstream_contracts.process import Process

from .custom import load_custom_processes
from .signatures import check_signature


def load_processes(modules: Iterable[str], settings: Any = None) -> dict[str, Process]:
    """Processes from each module's ``PROCESSES`` list, or from its ``processes(settings)``
    for processes described from configuration; later modules override earlier ids. A
    process whose function does not fit its inputs is refused (signatures.py).

    Then the custom processes declared in ``<settings.plugins_dir>/processes/*.yaml`` (see
    custom.py), which override any module's process of their id.
    """
    processes: dict[str, Process] = {}
    for name in modules:
        module = importlib.import_module(name)
        found = module.processes(settings) if hasattr(module, "processes") else module.PROCESSES
        for process in found:
            check_signature(process)
            processes[process.id] = process
    plugins_dir = getattr(settings, "plugins_dir", None)
    if plugins_dir is not None:
        processes.update(load_custom_processes(Path(plugins_dir) / "processes"))
    return processes
