"""Settings meet the environment: a refused value names its variable in one line, a
``JOBSTREAM_*`` variable that nothing reads is warned about with the nearest known name, and
the effective configuration is listed with where each value came from, secrets masked."""

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from pydantic import SecretStr, ValidationError
from pydantic_core import ErrorDetails

from ..nats_users import USERS
from .base import PREFIX, JobstreamSettings, variable_of
from .components import COMMAND_SETTINGS

log = structlog.get_logger(__name__)

S = TypeVar("S", bound=JobstreamSettings)

# JOBSTREAM_* variables that other parts read, not the services' settings.
READ_ELSEWHERE: dict[str, str] = {
    "JOBSTREAM_URL": "the gateway the client and the client commands call",
    "JOBSTREAM_TOKEN": "the API key or bearer token the client and the client commands send",
    **{
        f"JOBSTREAM_NATS_{user.upper()}_PASSWORD": "an external nats-server's configuration "
        f"(infra/nats/authorization.conf): the password of the NATS user `{user}`"
        for user in USERS
    },
    **{
        f"JOBSTREAM_NATS_{user.upper()}_NKEY": "an external nats-server's configuration "
        f"(`python -m jobstream_infra.nats_conf --nkeys`): the public NKEY of `{user}`"
        for user in USERS
    },
}
READ_ELSEWHERE_PREFIXES: dict[str, str] = {
    "JOBSTREAM_TEST_": "the test suite's own",
    "JOBSTREAM_BENCH_": "the benchmarks' own",
}
# Words in a setting's name that say its value must not be shown.
SECRET_WORDS = ("password", "secret", "token")
MASK = "********"


class SettingsRefused(ValueError):
    """Values the settings refused: one line each, naming the environment variable."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_settings(cls: type[S], overrides: Mapping[str, Any] | None = None) -> S:
    """``cls`` from the environment, with the ``overrides`` (command-line flags) it has."""
    given = {name: value for name, value in (overrides or {}).items() if name in cls.model_fields}
    try:
        return cls(**given)
    except ValidationError as exc:
        raise SettingsRefused([refusal_line(error) for error in exc.errors()]) from None


def refusal_line(error: ErrorDetails) -> str:
    """``JOBSTREAM_PORT: 'abc': input should be a valid integer, …``."""
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:
        return message  # a rule across fields: its message names the variables
    # The input is the refused item itself when the value is a list or a set.
    variable = variable_of(str(error["loc"][0]))
    return f"{variable}: {error['input']!r}: {message[:1].lower()}{message[1:]}"


def known_variables() -> set[str]:
    fields = {name for cls in COMMAND_SETTINGS.values() for name in cls.model_fields}
    return {variable_of(name) for name in fields} | set(READ_ELSEWHERE)


def unknown_variables(environ: Mapping[str, str]) -> dict[str, str | None]:
    """Each ``JOBSTREAM_*`` variable nothing reads, with the known name nearest to it."""
    known = known_variables()
    suffixes = {name.removeprefix(PREFIX): name for name in known}
    unknown = {}
    for name in sorted(environ):
        if not name.startswith(PREFIX) or name in known:
            continue
        if name.startswith(tuple(READ_ELSEWHERE_PREFIXES)):
            continue
        nearest = difflib.get_close_matches(name.removeprefix(PREFIX), suffixes, n=1)
        unknown[name] = suffixes[nearest[0]] if nearest else None
    return unknown


def warn_unknown_variables(environ: Mapping[str, str]) -> None:
    for name, nearest in unknown_variables(environ).items():
        log.warning("unknown setting: no component reads it", variable=name, nearest=nearest)


@dataclass(frozen=True)
class Row:
    variable: str
    value: str
    source: str


def effective_rows(settings: JobstreamSettings) -> list[Row]:
    """Every variable of ``settings``: its value as it would be written in the environment
    (secrets masked) and where it came from."""
    rows = []
    for name in type(settings).model_fields:
        source = "environment" if name in settings.model_fields_set else "default"
        value = shown(getattr(settings, name), secret=is_secret(type(settings), name))
        rows.append(Row(variable_of(name), value, source))
    return rows


def is_secret(cls: type[JobstreamSettings], name: str) -> bool:
    """Whether the value of field ``name`` must not be shown: a SecretStr, or named so."""
    annotation = str(cls.model_fields[name].annotation)
    return "SecretStr" in annotation or any(word in name for word in SECRET_WORDS)


def shown(value: Any, secret: bool = False) -> str:
    """``value`` as it is written in the environment: lists as JSON, sets comma-separated."""
    if value is None:
        return "unset"
    if secret or isinstance(value, SecretStr):
        return MASK
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, frozenset | set):
        return ",".join(sorted(value))
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)
