"""What every settings class shares: the ``JOBSTREAM_`` prefix, the value types that arrive
as text from the environment, and the fields of every component (data dir, host)."""

import ipaddress
import json
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PREFIX = "JOBSTREAM_"


def variable_of(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"{PREFIX}{field.upper()}"


def _json(example: str) -> BeforeValidator:
    """Text from the environment read as JSON; refused with ``example`` of what to give."""

    def parsed(value: object) -> object:
        # Done here rather than by pydantic-settings, which raises a SettingsError naming no
        # variable: a ValueError becomes a ValidationError at the field's own location.
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError(f"not JSON: give {example}") from None

    return BeforeValidator(parsed)


_JSON_LIST = _json('a list such as ["a", "b"]')


def _comma_separated(value: object) -> object:
    if not isinstance(value, str):
        return value
    return [part.strip() for part in value.split(",") if part.strip()]


def _lowercase(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


# A list set from the environment as JSON: JOBSTREAM_CALLBACK_BACKOFF='[2, 10, 60]'.
JsonStrings = Annotated[list[str], NoDecode, _JSON_LIST]
JsonSeconds = Annotated[list[float], NoDecode, _JSON_LIST]
# Concurrency limits by key set as a JSON object: JOBSTREAM_CONCURRENCY='{"provider:cds": 2}'.
JsonLimits = Annotated[
    dict[str, Annotated[int, Field(ge=1, le=1000)]],
    NoDecode,
    _json('an object such as {"provider:cds": 2}'),
]
# Words set from the environment comma-separated (JOBSTREAM_AUTH=apikey,oidc); with NoDecode.
CommaSeparated = BeforeValidator(_comma_separated)
# Enumerations whose spelling in capitals was always accepted (JOBSTREAM_LOG_LEVEL=DEBUG).
CaseInsensitive = BeforeValidator(_lowercase)


class JobstreamSettings(BaseSettings):
    """Every component: where it keeps its files and the address its servers listen on."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True)

    data_dir: Path = Field(
        default=Path("data"),
        description="The embedded nats-server's store and credentials, the default SQLite "
        "view and the default dataset repositories live under this directory.",
    )
    host: str = Field(
        default="127.0.0.1",
        description="The address the gateway serves HTTP on (also `--host`), and "
        "executors, projectors and notifiers their `/metrics`.",
    )

    @property
    def loopback_only(self) -> bool:
        """Whether the host is reachable from this machine only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a host name: it may resolve to anything
