"""The concurrency slots a job needs: its process's limits resolved against its inputs.

Pure, so the executor that takes the slots, the tests and the docs' examples resolve a key the
same way.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from string import Formatter
from typing import Any

from .ogc import ConcurrencyLimit


@dataclass(frozen=True, order=True)
class SlotKey:
    """One key a job must hold a slot of: ``key`` resolved (``provider:cds``), at most
    ``limit`` holders, from the process's ``template`` (``provider:{provider}``)."""

    key: str
    limit: int
    template: str


def template_names(template: str) -> list[str]:
    """The ``{name}`` fields of a key template, in order."""
    return [name for _, name, _, _ in Formatter().parse(template) if name is not None]


def _scalar(value: Any) -> str | None:
    # Lists and objects make no key: a bbox is not something to count jobs by.
    if isinstance(value, bool | int | float | str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return None


def resolve(template: str, values: Mapping[str, Any]) -> str | None:
    """The key ``template`` names for these values; None when one of its names has none."""
    found: dict[str, str] = {}
    for name in template_names(template):
        value = _scalar(values.get(name))
        if value is None:
            return None
        found[name] = value
    return template.format_map(found)


def needed_slots(
    limits: Iterable[ConcurrencyLimit],
    values: Mapping[str, Any],
    overrides: Mapping[str, int] | None = None,
) -> list[SlotKey]:
    """The slots a job with ``values`` (its inputs and its process's labels) needs, sorted by
    key so every executor takes them in one order. ``overrides`` (an operator's) set a
    limit by resolved key (``provider:cds``) or by template (``provider:{provider}``); the
    resolved key wins."""
    overrides = overrides or {}
    slots: dict[str, SlotKey] = {}
    for limit in limits:
        key = resolve(limit.key, values)
        if key is None:
            continue
        most = overrides.get(key, overrides.get(limit.key, limit.max))
        # Two of the limits resolving to one key: the stricter holds.
        if key not in slots or most < slots[key].limit:
            slots[key] = SlotKey(key, most, limit.key)
    return sorted(slots.values())
