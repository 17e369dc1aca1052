"""A process's declared inputs against its function's signature, checked when it loads.

The inputs (JSON schema, what the gateway validates) and the function (what the executor
calls) are checked against each other rather than derived from one model: the descriptions
carry what a signature cannot say (titles, the dataset ids an executor reads from its
templates as an enum, period patterns), and operators' YAML processes declare their inputs
apart from the function anyway. One check covers both kinds, so a mismatch stops the
executor at start, naming the process and the input, instead of failing a job at run time.

Checked: every input is a keyword parameter (or the function takes ``**kwargs``); every
parameter without a default is an input (or one the executor passes); an optional input has
a default; a schema's ``type`` fits the parameter's annotation where there is one.
"""

import inspect
from collections.abc import Callable, Mapping, Sequence
from types import UnionType
from typing import Any, Protocol, Union, get_args, get_origin

from jobstream_contracts.process import Process

from .process_file import RESERVED_PARAMETERS

# The annotations that take the values a JSON schema type admits.
_FITTING: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int, float),
    "number": (float,),
    "boolean": (bool,),
    "array": (list, tuple, Sequence),
    "object": (dict, Mapping),
}


class DeclaredInput(Protocol):
    @property
    def minOccurs(self) -> int: ...

    @property
    def schema_(self) -> dict[str, Any]: ...


class SignatureMismatch(ValueError):
    """A process whose inputs and function do not fit each other."""


def check_signature(process: Process) -> None:
    """SignatureMismatch naming the process and the input unless its function fits its inputs."""
    problem = signature_problem(process.function, process.description.inputs)
    if problem is not None:
        raise SignatureMismatch(f"process {process.id}: its function {problem}")


def _parameters(function: Callable[..., Any]) -> Mapping[str, inspect.Parameter] | None:
    try:
        return inspect.signature(function, eval_str=True).parameters
    except NameError:  # an annotation that does not resolve: check names, not types
        return inspect.signature(function).parameters
    except (TypeError, ValueError):  # some C callables have no signature: trust them
        return None


def signature_problem(
    function: Callable[..., Any], inputs: Mapping[str, DeclaredInput]
) -> str | None:
    """Why the executor's call (inputs, on_progress and job as keywords) does not fit."""
    parameters = _parameters(function)
    if parameters is None:
        return None
    named = {
        name: p
        for name, p in parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    checks = (
        _unreachable(parameters, named, inputs),
        _positional_only(parameters),
        _unfilled(named, inputs),
        _optional_without_default(named, inputs),
        _types(named, inputs),
    )
    return next((problem for problem in checks if problem is not None), None)


def _unreachable(
    parameters: Mapping[str, inspect.Parameter],
    named: Mapping[str, inspect.Parameter],
    inputs: Mapping[str, DeclaredInput],
) -> str | None:
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return None
    if "on_progress" not in named:
        return "takes no `on_progress` parameter (add `on_progress=no_progress`)"
    missing = [name for name in inputs if name not in named]
    return f"takes no parameter for input(s) {', '.join(missing)}" if missing else None


def _positional_only(parameters: Mapping[str, inspect.Parameter]) -> str | None:
    positional = [
        name
        for name, p in parameters.items()
        if p.kind == p.POSITIONAL_ONLY and p.default is p.empty
    ]
    if positional:
        return f"parameter(s) {', '.join(positional)} are positional-only; inputs are keywords"
    return None


def _unfilled(
    named: Mapping[str, inspect.Parameter], inputs: Mapping[str, DeclaredInput]
) -> str | None:
    unfilled = [
        name
        for name, p in named.items()
        if p.default is p.empty and name not in inputs and name not in RESERVED_PARAMETERS
    ]
    if unfilled:
        return f"parameter(s) {', '.join(unfilled)} have no default and are not inputs"
    return None


def _optional_without_default(
    named: Mapping[str, inspect.Parameter], inputs: Mapping[str, DeclaredInput]
) -> str | None:
    optional = [
        name
        for name, declared in inputs.items()
        if declared.minOccurs == 0 and name in named and named[name].default is named[name].empty
    ]
    if optional:
        return (
            f"input(s) {', '.join(optional)} are optional (minOccurs: 0) but their "
            "parameters have no default"
        )
    return None


def _types(
    named: Mapping[str, inspect.Parameter], inputs: Mapping[str, DeclaredInput]
) -> str | None:
    for name, declared in inputs.items():
        kind = declared.schema_.get("type")
        parameter = named.get(name)
        if parameter is None or not isinstance(kind, str) or kind not in _FITTING:
            continue
        if not _fits(parameter.annotation, _FITTING[kind]):
            return (
                f"annotates input {name} as {_shown(parameter.annotation)}, but its schema "
                f"says {kind}"
            )
    return None


def _fits(annotation: Any, fitting: tuple[type, ...]) -> bool:
    """Whether a value of the schema's type may be passed as ``annotation``; annotations this
    cannot judge (none, Any, Literal, type variables) are taken to fit."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    if get_origin(annotation) in (Union, UnionType):
        members = [m for m in get_args(annotation) if m is not type(None)]
        return any(_fits(member, fitting) for member in members)
    origin = get_origin(annotation) or annotation
    if not isinstance(origin, type):
        return True
    if origin is bool and bool not in fitting:
        return False  # a bool is an int to issubclass, never to a schema
    return issubclass(origin, fitting)


def _shown(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)
