"""Custom processes: YAML files declaring a process and the Python function that runs it.

An operator's live in ``<plugins_dir>/processes/*.yaml``; ``loading.load_processes`` merges them
over the modules' processes, so a file replaces a built-in of its id. ``ogcapi.expose: false``
keeps a process off the HTTP API while executors still run it for server-side submitters
(derived datasets, ``JobContext.submit``). Every file is validated whole, its function
imported and its signature checked against the inputs: a bad file is reported with its file
and field at start, and nothing of it is used.

A file::

    id: shout
    title: Shout
    description: Returns its text in capitals.
    version: 1.0.0
    inputs:
      text: {title: Text, schema: {type: string}}
    outputs:
      shouted: {schema: {type: string}}
    execution:
      function: my_package.module:shout
"""

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobstream_contracts.process import Process
from jobstream_infra.yaml_files import load_yaml_model

from .process_file import ProcessFile, ProcessFileError
from .signatures import signature_problem


def _resolve(reference: str) -> Callable[..., Any]:
    """The callable ``module:attribute`` names; ProcessFileError's text says why it cannot."""
    module_name, _, attribute = reference.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - a module failing to import in any way
        raise ProcessFileError(
            f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ProcessFileError(
                f"{reference!r}: module {module_name!r} has no attribute {attribute!r}"
            ) from None
    if not callable(target):
        raise ProcessFileError(f"{reference!r} is a {type(target).__name__}, not callable")
    return target


def _schema_problems(spec: ProcessFile) -> list[str]:
    """JSON schemas the gateway's validator would refuse; none checked without jsonschema."""
    try:
        from jsonschema import Draft7Validator
        from jsonschema.exceptions import SchemaError
    except ImportError:
        return []
    problems = []
    for kind, members in (("inputs", spec.inputs), ("outputs", spec.outputs)):
        for name, member in members.items():
            try:
                Draft7Validator.check_schema(member.schema_)
            except SchemaError as exc:
                problems.append(f"{kind}.{name}.schema: not a valid JSON schema: {exc.message}")
    return problems


def load_process_file(path: Path) -> Process:
    """The process one file declares; raises ProcessFileError naming the file and field."""
    spec = load_yaml_model(path, ProcessFile, ProcessFileError, "a process file")
    problems = _schema_problems(spec)
    function = None
    try:
        function = _resolve(spec.execution.function)
    except ProcessFileError as exc:
        problems.append(f"execution.function: {exc}")
    else:
        if (problem := signature_problem(function, spec.inputs)) is not None:
            problems.append(f"execution.function: {spec.execution.function} {problem}")
    if problems or function is None:
        raise ProcessFileError(f"{path}: {'; '.join(problems)}")
    return Process(spec.to_description(), function, exposed=spec.ogcapi.expose)


def load_custom_processes(directory: Path) -> dict[str, Process]:
    """The processes of every ``*.yaml`` (or ``*.yml``) file in ``directory``, by id.

    A missing directory declares none. Raises ProcessFileError naming every bad file, so a
    typo is seen when the executor starts, not when a job runs.
    """
    processes: dict[str, Process] = {}
    origins: dict[str, Path] = {}
    problems: list[str] = []
    for path in sorted(Path(directory).glob("*.y*ml")):
        try:
            process = load_process_file(path)
        except ProcessFileError as exc:
            problems.append(str(exc))
            continue
        if process.id in origins:
            problems.append(
                f"{path}: id: process {process.id!r} is already declared in {origins[process.id]}"
            )
            continue
        processes[process.id] = process
        origins[process.id] = path
    if problems:
        raise ProcessFileError("\n".join(problems))
    return processes
