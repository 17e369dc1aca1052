"""Custom processes: YAML files declaring a process and the Python function that runs it.

An operator's live in ``<plugins_dir>/processes/*.yaml``; :func:`loading.load_processes` merges them
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
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jobstream_contracts.ogc import (
    DEFAULT_JOB_CONTROL,
    InputDescription,
    JobControlOption,
    OutputDescription,
    ProcessDescription,
    RetryPolicy,
)
from jobstream_contracts.process import Process
from jobstream_contracts.subjects import is_valid_token

from .yaml_files import load_yaml_model

# Parameters the executor passes itself; no input may take their names.
RESERVED_PARAMETERS = ("on_progress", "job")
_REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


class ProcessFileError(ValueError):
    """A process file that cannot be used, with the file and field at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    title: str | None = None
    description: str | None = None
    minOccurs: int = Field(default=1, ge=0)
    maxOccurs: int | Literal["unbounded"] | None = Field(default=None)
    schema_: dict[str, Any] = Field(alias="schema")

    @field_validator("maxOccurs")
    @classmethod
    def _positive(cls, value):
        if isinstance(value, int) and value < 1:
            raise ValueError("maxOccurs is at least 1 (or `unbounded`)")
        return value

    @model_validator(mode="after")
    def _occurs(self) -> "InputSpec":
        if isinstance(self.maxOccurs, int) and self.maxOccurs < self.minOccurs:
            raise ValueError(f"maxOccurs ({self.maxOccurs}) is below minOccurs ({self.minOccurs})")
        return self


class OutputSpec(_Strict):
    title: str | None = None
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")


class RetrySpec(_Strict):
    maxAttempts: int = Field(default=RetryPolicy().maxAttempts, ge=1)
    backoff: list[float] = Field(default_factory=lambda: RetryPolicy().backoff, min_length=1)

    @field_validator("backoff")
    @classmethod
    def _not_negative(cls, value: list[float]) -> list[float]:
        if any(seconds < 0 for seconds in value):
            raise ValueError("backoff is a list of seconds, none negative")
        return value


class Execution(_Strict):
    # "package.module:callable" (the callable may be dotted: "module:Class.method").
    function: str

    @field_validator("function")
    @classmethod
    def _reference(cls, value: str) -> str:
        if not _REFERENCE.fullmatch(value):
            raise ValueError(f"{value!r} is not of the form 'package.module:callable'")
        return value


class OgcApi(_Strict):
    # False: not listed, described or executable over HTTP; executors still run it.
    expose: bool = True


class ProcessFile(_Strict):
    id: str
    title: str
    description: str
    version: str
    keywords: list[str] | None = None
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    outputs: dict[str, OutputSpec] = Field(min_length=1)
    jobControlOptions: list[JobControlOption] = Field(
        default_factory=lambda: list(DEFAULT_JOB_CONTROL), min_length=1
    )
    retryPolicy: RetrySpec = Field(default_factory=RetrySpec)
    execution: Execution
    ogcapi: OgcApi = Field(default_factory=OgcApi)

    @field_validator("id")
    @classmethod
    def _token(cls, value: str) -> str:
        if not is_valid_token(value):
            raise ValueError(
                "a process id is 1 to 64 letters, digits, '-' and '_', starting "
                "with a letter or digit"
            )
        return value

    @field_validator("inputs")
    @classmethod
    def _not_reserved(cls, value: dict[str, InputSpec]) -> dict[str, InputSpec]:
        for name in value:
            if name in RESERVED_PARAMETERS:
                raise ValueError(f"{name!r} is passed by the executor and cannot be an input")
        return value

    @field_validator("jobControlOptions")
    @classmethod
    def _unique(cls, value: list[JobControlOption]) -> list[JobControlOption]:
        if len(set(value)) != len(value):
            raise ValueError("each option may appear once")
        if JobControlOption.SYNC not in value and JobControlOption.ASYNC not in value:
            raise ValueError("needs sync-execute or async-execute (or both)")
        return value

    def to_description(self) -> ProcessDescription:
        return ProcessDescription(
            id=self.id,
            title=self.title,
            description=self.description,
            version=self.version,
            keywords=self.keywords,
            jobControlOptions=self.jobControlOptions,
            retryPolicy=RetryPolicy(**self.retryPolicy.model_dump()),
            inputs={
                name: InputDescription.model_validate(spec.model_dump(by_alias=True))
                for name, spec in self.inputs.items()
            },
            outputs={
                name: OutputDescription.model_validate(spec.model_dump(by_alias=True))
                for name, spec in self.outputs.items()
            },
        )


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


def _signature_problem(function: Callable[..., Any], spec: ProcessFile) -> str | None:
    """Why the executor's call (inputs + on_progress as keywords) cannot bind to the function."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # some C callables have no signature: trust them
        return None
    named = {
        name: p
        for name, p in parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    takes_any = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    if not takes_any:
        if "on_progress" not in named:
            return "takes no `on_progress` parameter (add `on_progress=no_progress`)"
        missing = [name for name in spec.inputs if name not in named]
        if missing:
            return f"takes no parameter for input(s) {', '.join(missing)}"
    positional = [
        name
        for name, p in parameters.items()
        if p.kind == p.POSITIONAL_ONLY and p.default is p.empty
    ]
    if positional:
        return f"parameter(s) {', '.join(positional)} are positional-only; inputs are keywords"
    unfilled = [
        name
        for name, p in named.items()
        if p.default is p.empty and name not in spec.inputs and name not in RESERVED_PARAMETERS
    ]
    if unfilled:
        return f"parameter(s) {', '.join(unfilled)} have no default and are not inputs"
    optional = [
        name
        for name, input_ in spec.inputs.items()
        if input_.minOccurs == 0
        and name in named
        and named[name].default is inspect.Parameter.empty
    ]
    if optional:
        return (
            f"input(s) {', '.join(optional)} are optional (minOccurs: 0) but their "
            "parameters have no default"
        )
    return None


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
        if (problem := _signature_problem(function, spec)) is not None:
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
