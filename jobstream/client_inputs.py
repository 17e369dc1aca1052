"""``key=value`` command-line pairs as a process's inputs.

Decisions: a value is JSON when it parses as JSON (``n=20`` is a number, ``flag=true`` a
boolean, ``bbox=[0,0,1,1]`` an array), else the text as given (``message=hello``), so
strings need no quoting; ``key=@file.json`` reads the value from a JSON file. A pair that is
not ``key=value`` is refused naming the pair, before anything is sent.
"""

import json
from pathlib import Path
from typing import Any


class InputError(ValueError):
    """A ``key=value`` pair that cannot be read."""


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for pair in pairs:
        key, value = _split(pair)
        if key in inputs:
            raise InputError(f"input {key!r} is given twice")
        inputs[key] = _value(key, value)
    return inputs


def _split(pair: str) -> tuple[str, str]:
    key, equals, value = pair.partition("=")
    if not equals or not key.strip():
        raise InputError(f"{pair!r} is not key=value (an input is written name=value)")
    return key.strip(), value


def _value(key: str, text: str) -> Any:
    if text.startswith("@"):
        return _from_file(key, Path(text[1:]))
    try:
        return json.loads(text)
    except ValueError:
        return text  # not JSON: the text itself, so plain strings need no quotes


def _from_file(key: str, path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"input {key!r}: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InputError(f"input {key!r}: {path} is not JSON: {exc}") from None
