"""`jobstream config check [COMMAND]`: the effective configuration of a command (of every
one when none is named), where each value came from, secrets masked; exit 1 when a value is
refused, with a line naming each variable."""

from collections.abc import Mapping
from typing import TextIO

from jobstream_infra.settings import COMMAND_SETTINGS, JobstreamSettings, load_settings
from jobstream_infra.settings.environment import (
    Row,
    SettingsRefused,
    effective_rows,
    unknown_variables,
)


def settings_classes(command: str | None) -> list[type[JobstreamSettings]]:
    """The settings ``command`` builds; without one, those of every command."""
    if command is not None:
        return [COMMAND_SETTINGS[command]]
    return list(dict.fromkeys(COMMAND_SETTINGS.values()))


def examine(
    classes: list[type[JobstreamSettings]], overrides: Mapping[str, object] | None = None
) -> tuple[list[Row], list[str]]:
    """The rows of every variable the classes read, and each refused value's line, once
    though several classes read its variable."""
    rows: dict[str, Row] = {}
    refused: dict[str, None] = {}
    for cls in classes:
        try:
            settings = load_settings(cls, overrides)
        except SettingsRefused as exc:
            refused.update(dict.fromkeys(exc.lines))
            continue
        rows.update({row.variable: row for row in effective_rows(settings)})
    return list(rows.values()), list(refused)


def _print_rows(rows: list[Row], out: TextIO) -> None:
    width = max(len(row.variable) for row in rows)
    for row in rows:
        print(f"{row.variable:<{width}}  {row.source:<12}  {row.value}", file=out)


def check_configuration(
    command: str | None, environ: Mapping[str, str], out: TextIO, err: TextIO
) -> int:
    rows, refused = examine(settings_classes(command))
    if rows:
        _print_rows(rows, out)
    for name, nearest in unknown_variables(environ).items():
        hint = f" (did you mean {nearest}?)" if nearest else ""
        print(f"warning: {name} is read by no component{hint}", file=err)
    for line in refused:
        print(line, file=err)
    return 1 if refused else 0
