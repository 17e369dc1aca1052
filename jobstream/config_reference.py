"""docs/reference/configuration.md, rendered from the settings' fields, so the reference
cannot drift from the code (tests/unit/test_config_reference.py compares them). After
changing a field, run the command in REGENERATE."""

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from jobstream_infra.settings import (
    COMMAND_SETTINGS,
    AccessSettings,
    AddressSettings,
    ArchiveSettings,
    CallbackNetworkSettings,
    DatasetSettings,
    EmbeddedNatsSettings,
    EstimateSettings,
    JobstreamSettings,
    NatsSettings,
    ObservabilitySettings,
    PlanLimitSettings,
    PluginSettings,
    ViewSettings,
    variable_of,
)
from jobstream_infra.settings.environment import READ_ELSEWHERE, READ_ELSEWHERE_PREFIXES, shown

REGENERATE = ".venv/bin/python -m jobstream.config_reference > docs/reference/configuration.md"

# Blocks in the order the page shows them, each with its heading.
BLOCKS: dict[type[JobstreamSettings], str] = {
    JobstreamSettings: "Every component",
    NatsSettings: "NATS",
    ObservabilitySettings: "Observability",
    ViewSettings: "View",
    AddressSettings: "Gateway address",
    AccessSettings: "Access",
    EstimateSettings: "Estimates",
    CallbackNetworkSettings: "Callback networks",
    PlanLimitSettings: "Limits on planned work",
    DatasetSettings: "Datasets",
    ArchiveSettings: "Archiving",
    PluginSettings: "Operator's files",
    EmbeddedNatsSettings: "Embedded nats-server",
}
_SCALARS = {int: "integer", float: "number", str: "text", bool: "`true` or `false`"}
_SCALARS |= {SecretStr: "secret text"}
_BOUNDS = {
    annotated_types.Ge: ("≥", "ge"),
    annotated_types.Gt: (">", "gt"),
    annotated_types.Le: ("≤", "le"),
    annotated_types.Lt: ("<", "lt"),
}

INTRO = f"""\
# Configuration

<!-- Rendered from the settings' fields by jobstream/config_reference.py; do not edit.
     Change a field's description in infra/jobstream_infra/settings/, then run
     {REGENERATE} -->

Every setting is an environment variable `JOBSTREAM_<NAME>`. Each command reads only the
settings of its component: the blocks it shares with others and its own. A value a command
refuses stops it at start with one line naming the variable
(`JOBSTREAM_PORT: 'abc': input should be a valid integer, …`); a `JOBSTREAM_*` variable that
no component reads is warned about at start, with the nearest known name.
`jobstream config check [COMMAND]` prints the values in effect, where each came from
(default or environment) and secrets masked, and exits 1 when one is refused.

Lists are JSON (`["a", "b"]`); `AUTH` is comma-separated (`apikey,oidc`). Traces are set up
by the standard `OTEL_*` variables ([Traces](metrics.md#traces)), not by these.
"""


def type_of(annotation: Any) -> str:
    """How a value of this type is written, for people."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(type_of(arg) for arg in args if arg is not type(None))
    if origin is Literal:
        return " \\| ".join(f"`{arg}`" for arg in args)
    if origin is Annotated:
        return type_of(args[0])
    if origin is list:
        return f"JSON list of {type_of(args[0])}"
    if origin is dict:
        return f"JSON object of {type_of(args[0])} to {type_of(args[1])}"
    if origin is frozenset:
        return f"comma-separated {type_of(args[0])}"
    if annotation.__name__ == "Path":
        return "path"
    return _SCALARS[annotation]


def bounds_of(field: FieldInfo) -> str:
    bounds = [
        f"{sign} {getattr(limit, name)}"
        for limit in field.metadata
        for kind, (sign, name) in _BOUNDS.items()
        if isinstance(limit, kind)
    ]
    return f", {', '.join(bounds)}" if bounds else ""


def row_of(name: str, field: FieldInfo) -> str:
    default = shown(field.default)
    default = default if field.default is None else f"`{default}`"
    kind = type_of(field.annotation) + bounds_of(field)
    return f"| `{variable_of(name)}` | {kind} | {default} | {field.description} |"


def table_of(cls: type[JobstreamSettings]) -> list[str]:
    """The fields ``cls`` declares itself, not those of the blocks it inherits."""
    own = [name for name in vars(cls).get("__annotations__", {}) if name in cls.model_fields]
    if not own:
        return ["No settings of its own: only those of its blocks."]
    header = ["| variable | type | default | description |", "| --- | --- | --- | --- |"]
    return header + [row_of(name, cls.model_fields[name]) for name in own]


def section(level: str, title: str, cls: type[JobstreamSettings]) -> list[str]:
    doc = " ".join((cls.__doc__ or "").split())
    return [f"{level} {title}", "", doc, "", *table_of(cls), ""]


def _link(title: str) -> str:
    return f"[{title}](#{title.lower().replace(' ', '-')})"


def components() -> dict[str, type[JobstreamSettings]]:
    """Each settings class under the commands that build it: "events and apikey"."""
    commands: dict[type[JobstreamSettings], list[str]] = {}
    for command, cls in COMMAND_SETTINGS.items():
        commands.setdefault(cls, []).append(command)
    return {" and ".join(names): cls for cls, names in commands.items()}


def commands_table() -> list[str]:
    lines = ["| command | its own settings | and the blocks |", "| --- | --- | --- |"]
    for title, cls in components().items():
        commands = ", ".join(f"`jobstream {name}`" for name in title.split(" and "))
        shared = [name for block, name in BLOCKS.items() if block in cls.__mro__[1:]]
        blocks = ", ".join(_link(name) for name in shared[1:])  # not "Every component"
        lines.append(f"| {commands} | {_link(title)} | {blocks} |")
    return lines


def elsewhere_table() -> list[str]:
    lines = ["| variable | read by |", "| --- | --- |"]
    lines += [f"| `{name}` | {reader} |" for name, reader in READ_ELSEWHERE.items()]
    lines += [f"| `{prefix}*` | {reader} |" for prefix, reader in READ_ELSEWHERE_PREFIXES.items()]
    return lines


def render() -> str:
    lines = [INTRO, "## Which command reads what", "", *commands_table(), "", "## Blocks", ""]
    for cls, title in BLOCKS.items():
        lines += section("###", title, cls)
    lines += ["## Components", ""]
    for title, cls in components().items():
        lines += section("###", title, cls)
    lines += ["## Read elsewhere", "", "Not settings: these are not warned about.", ""]
    lines += elsewhere_table()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
