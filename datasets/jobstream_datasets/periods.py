"""Periods: the unit a dataset is fetched, stored and resumed in.

A period has a text id whose form follows the dataset's period type (``2020``, ``2020-01``,
``2020-01-31``, ``2020-01-31T23``) and a position on the dataset's time axis, counted from
the dataset's first period. Any ISO date or date-time prefix names the period that contains
its first instant, so ``2020-01-15`` is the period ``2020-01`` of a monthly dataset.
"""

import re
from datetime import datetime
from enum import StrEnum

import pandas as pd

_ISO_PREFIX = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ]\d{2}(:\d{2}(:\d{2})?)?Z?)?)?)?$")
# A JSON schema pattern for period inputs: checked by the gateway before a job exists.
PERIOD_PATTERN = _ISO_PREFIX.pattern


class PeriodType(StrEnum):
    hourly = "hourly"
    daily = "daily"
    # Weeks run Monday to Sunday (ISO); a week's id is its Monday.
    weekly = "weekly"
    monthly = "monthly"
    yearly = "yearly"

    @property
    def freq(self) -> str:
        return {"hourly": "h", "daily": "D", "weekly": "W-SUN", "monthly": "M", "yearly": "Y"}[
            self.value
        ]

    @property
    def id_format(self) -> str:
        return {
            "hourly": "%Y-%m-%dT%H",
            "daily": "%Y-%m-%d",
            "weekly": "%Y-%m-%d",
            "monthly": "%Y-%m",
            "yearly": "%Y",
        }[self.value]


class PeriodError(ValueError):
    """A text that names no period."""


def parse_instant(text: str) -> pd.Timestamp:
    if not isinstance(text, str) or not _ISO_PREFIX.match(text.strip()):
        raise PeriodError(
            f"{text!r} is not an ISO date like 2020, 2020-01, 2020-01-31 or 2020-01-31T06"
        )
    value = text.strip().rstrip("Z")
    if len(value) == 4:
        value += "-01-01"
    elif len(value) == 7:
        value += "-01"
    elif len(value) == 13:  # 2020-01-31T06
        value += ":00"
    try:
        return pd.Timestamp(datetime.fromisoformat(value))
    except ValueError as exc:
        raise PeriodError(f"{text!r} is not a valid date: {exc}") from None


def period_of(text: str, kind: PeriodType) -> pd.Period:
    """The period of type ``kind`` that contains the first instant of ``text``."""
    return parse_instant(text).to_period(kind.freq)


def period_id(period: pd.Period, kind: PeriodType) -> str:
    return period.start_time.strftime(kind.id_format)


def period_range(start: pd.Period, end: pd.Period) -> list[pd.Period]:
    if end < start:
        return []
    return list(pd.period_range(start, end))


def index_of(period: pd.Period, origin: pd.Period) -> int:
    """Position of ``period`` on a time axis whose first period is ``origin``."""
    return (period - origin).n
