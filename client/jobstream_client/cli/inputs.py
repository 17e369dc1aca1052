"""``key=value`` command-line pairs as a process's inputs, typed by the process's schemas.

Decisions: a value is read as the input's schema says. An input that takes only text
(``"type": "string"``) gets the text as given, so ``message=123`` is the string "123" (a JSON
string, ``message='"x"'``, is its text); any other value is JSON when it parses as JSON
(``n=20`` is a number, ``flag=true`` a boolean, ``bbox=[0,0,1,1]`` an array), else the text,
so strings need no quoting. ``key=@file.json`` reads the value from a JSON file. A pair that is
not ``key=value`` is refused naming the pair, before anything is sent.
"""

import json
from pathlib import Path
from typing import Any

from jobstream_contracts.ogc import InputDescription


class InputError(ValueError):
    """A ``key=value`` pair that cannot be read."""


def read_pairs(pairs: list[str]) -> dict[str, str]:
    """Each input's text, by name; refuses a malformed or repeated pair."""
    texts: dict[str, str] = {}
    for pair in pairs:
        key, value = _split(pair)
        if key in texts:
            raise InputError(f"input {key!r} is given twice")
        texts[key] = value
    return texts


def typed_inputs(texts: dict[str, str], described: dict[str, InputDescription]) -> dict[str, Any]:
    """The inputs' values, read as their descriptions' schemas say (unknown names as JSON)."""
    inputs: dict[str, Any] = {}
    for key, text in texts.items():
        description = described.get(key)
        text_only = description is not None and takes_only_text(description.schema_)
        inputs[key] = _value(key, text, text_only)
    return inputs


def takes_only_text(schema: dict[str, Any]) -> bool:
    """Whether the schema accepts strings and nothing else (null aside)."""
    alternatives = schema.get("anyOf") or schema.get("oneOf") or [schema]
    types: set[str] = set()
    for alternative in alternatives:
        kind = alternative.get("type")
        if kind is None:
            return False  # a reference or an open schema: anything may be meant
        types.update([kind] if isinstance(kind, str) else kind)
    return types - {"null"} == {"string"}


def _split(pair: str) -> tuple[str, str]:
    key, equals, value = pair.partition("=")
    if not equals or not key.strip():
        raise InputError(f"{pair!r} is not key=value (an input is written name=value)")
    return key.strip(), value


def _value(key: str, text: str, text_only: bool) -> Any:
    if text.startswith("@"):
        return _from_file(key, Path(text[1:]))
    try:
        value = json.loads(text)
    except ValueError:
        return text  # not JSON: the text itself, so plain strings need no quotes
    return text if text_only and not isinstance(value, str) else value


def _from_file(key: str, path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"input {key!r}: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InputError(f"input {key!r}: {path} is not JSON: {exc}") from None
