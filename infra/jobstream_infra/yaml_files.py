"""Operators' YAML files (custom processes, dataset templates, schedules): read and
validated whole.

A bad file is reported with its path and every field at fault, so a typo is seen when a
service starts, and nothing of the file is used.
"""

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Model = TypeVar("Model", bound=BaseModel)


def load_yaml_model(path: Path, model: type[Model], error: type[Exception], what: str) -> Model:
    """The ``model`` the YAML file at ``path`` declares; raises ``error`` naming the file.

    ``what`` names the kind of file in the message ("a template", "a process file").
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise error(f"{path}: not readable YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: {what} is a YAML mapping")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_location(e)}: {e['msg']}" for e in exc.errors())
        raise error(f"{path}: {problems}") from None


def _location(error: ErrorDetails) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"
