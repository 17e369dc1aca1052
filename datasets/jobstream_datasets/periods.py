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
from pandas.tseries.offsets import BaseOffset

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


def timestamp_of(moment: datetime) -> pd.Timestamp:
    """``moment`` as a pandas Timestamp."""
    timestamp = pd.Timestamp(moment)
    # pandas types its constructor as giving Timestamp or NaT; NaT comes of null-like inputs
    # only, never of a datetime.
    assert isinstance(timestamp, pd.Timestamp)
    return timestamp


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
        return timestamp_of(datetime.fromisoformat(value))
    except ValueError as exc:
        raise PeriodError(f"{text!r} is not a valid date: {exc}") from None


def period_of(text: str, kind: PeriodType) -> pd.Period:
    """The period of type ``kind`` that contains the first instant of ``text``."""
    return parse_instant(text).to_period(kind.freq)


def period_id(period: pd.Period, kind: PeriodType) -> str:
    return period.start_time.strftime(kind.id_format)


def period_range(start: pd.Period, end: pd.Period) -> list[pd.Period]:
    if before(end, start):
        return []
    return list(pd.period_range(start, end))


# pandas' types give Period no comparison operators and type a difference of periods as
# Period | BaseOffset. The helpers below compare, count and shift periods with pandas' own
# arithmetic, typed: periods of different types raise IncompatibleFrequency, as comparing
# them does.


def periods_between(start: pd.Period, end: pd.Period) -> int:
    """How many periods ``end`` comes after ``start``; negative when it comes before."""
    offset = end - start
    # A period minus a period is an offset of that many periods, never a period.
    assert isinstance(offset, BaseOffset)
    return offset.n


def before(period: pd.Period, other: pd.Period) -> bool:
    """Whether ``period`` comes before ``other`` (``period < other``)."""
    return periods_between(period, other) > 0


def earlier(period: pd.Period, other: pd.Period) -> pd.Period:
    """The earlier of two periods, the first when they are equal (``min``)."""
    return other if before(other, period) else period


def later(period: pd.Period, other: pd.Period) -> pd.Period:
    """The later of two periods, the first when they are equal (``max``)."""
    return other if before(period, other) else period


def shifted(period: pd.Period, steps: int) -> pd.Period:
    """The period ``steps`` periods after ``period`` (before it when negative)."""
    return period + steps


def index_of(period: pd.Period, origin: pd.Period) -> int:
    """Position of ``period`` on a time axis whose first period is ``origin``."""
    return periods_between(origin, period)
