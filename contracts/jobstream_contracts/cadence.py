"""When a schedule fires: the instants of a cron expression in a time zone, or of an interval.

Instants are computed here, not by the server's cron, so that each firing is one exact instant
(its job's id derives from it) and daylight-saving changes follow one stated rule:

- a wall-clock time that does not occur (spring forward) fires at the end of the gap, once;
- a wall-clock time that occurs twice (fall back) fires once, at its first occurrence, for a
  cron with fixed hours ("30 2 * * *"); one whose hour field has a wildcard or step fires by
  elapsed time, so "*/15 * * * *" keeps firing every 15 minutes through the repeated hour.

An interval counts from its anchor (the schedule's start, or its creation) in whole seconds,
whatever the time zone; its grid runs both ways (a backfill reaches before the anchor).
Both fire only from an optional start to an optional end.
"""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION = re.compile(r"(\d+)(d|h|m|s)")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# The longest interval: its instants stay far inside the dates Python can count.
LONGEST_INTERVAL = 36500 * 86400


def parse_interval(text: str) -> int:
    """Whole seconds of an interval written ``90s``, ``15m``, ``1h30m``, ``1d``; ValueError
    naming what was wrong."""
    compact = text.replace(" ", "").lower()
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not an interval: write e.g. '30s', '15m', '1h30m', '1d'")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds < 1:
        raise ValueError(f"{text!r} is shorter than the shortest interval, 1s")
    if seconds > LONGEST_INTERVAL:
        raise ValueError(f"{text!r} is longer than the longest interval, 36500d (100 years)")
    return seconds


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError when there is none of that name."""
    try:
        return ZoneInfo(name)
    # A folder of zones ("Europe") is an OSError, not a zone.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"{name!r} is not an IANA time zone (e.g. 'UTC', 'Europe/Berlin')"
        ) from None


def _croniter():
    """croniter, the ``schedules`` extra's: imported when an instant is asked for, so that a
    service reading job events installs pydantic alone."""
    try:
        import croniter
    except ImportError:
        raise ImportError(
            "cron schedules need croniter: pip install 'jobstream-contracts[schedules]'"
        ) from None
    return croniter


def check_cron(expression: str) -> None:
    """ValueError unless ``expression`` is a cron of 5 fields (minute first), 6 (seconds
    first, as NATS and Quartz write it) or a macro such as ``@daily``, and one that names a
    date that occurs."""
    cron = _croniter()
    fields = len(expression.split())
    if not (
        (expression.startswith("@") or fields in (5, 6))
        and cron.croniter.is_valid(expression, second_at_beginning=True)
    ):
        raise ValueError(
            f"{expression!r} is not a cron expression: five fields (minute hour day month "
            "weekday), a sixth for seconds, or @hourly, @daily, @weekly, @monthly, @yearly"
        )
    try:
        start = datetime(2000, 1, 1, tzinfo=UTC)
        cron.croniter(expression, start, second_at_beginning=True).get_next()
    except cron.CroniterBadDateError:
        raise ValueError(f"{expression!r} never fires: it names no date that occurs") from None


class Cadence:
    """The firing instants of a cron in a zone, or of an interval on a grid through an
    anchor; both bounded by an optional start and end."""

    def __init__(
        self,
        cron: str | None = None,
        every: int | None = None,
        timezone: str = "UTC",
        anchor: datetime | None = None,
        end: datetime | None = None,
        start: datetime | None = None,
    ) -> None:
        if (cron is None) == (every is None):
            raise ValueError("a cadence is a cron or an interval, exactly one")
        if cron is not None:
            check_cron(cron)
        self.cron = cron
        self.every = every
        self.zone = zone(timezone)
        self.anchor = _whole_second(anchor or datetime(2000, 1, 1, tzinfo=UTC))
        self.end = end
        self.start = start

    def after(self, moment: datetime) -> datetime | None:
        """The first instant strictly after ``moment`` (UTC), None past the end."""
        instant = next(self._from(moment), None)
        if instant is None or (self.end is not None and instant > self.end):
            return None
        return instant

    def upcoming(self, moment: datetime, count: int) -> list[datetime]:
        """The next ``count`` instants after ``moment`` (fewer once the end is reached)."""
        instants: list[datetime] = []
        for instant in self._from(moment):
            if len(instants) == count or (self.end is not None and instant > self.end):
                break
            instants.append(instant)
        return instants

    def between(self, start: datetime, stop: datetime, limit: int) -> list[datetime]:
        """Instants in (start, stop], at most ``limit`` of them: the latest ones."""
        found: list[datetime] = []
        for instant in self._from(start):
            if instant > stop or (self.end is not None and instant > self.end):
                break
            found.append(instant)
            found = found[-limit:] if limit else []
        return found

    def _from(self, moment: datetime) -> Iterator[datetime]:
        if self.start is not None and moment < self.start:
            # The first instant at or after the start.
            moment = self.start - timedelta(microseconds=1)
        if self.every is not None:
            return self._intervals(moment)
        return self._crons(moment)

    def _intervals(self, moment: datetime) -> Iterator[datetime]:
        # The grid runs both ways from the anchor: a backfill reaches before it.
        step = timedelta(seconds=self.every or 1)
        instant = self.anchor + step * ((moment - self.anchor) // step + 1)
        while True:
            yield instant
            instant += step

    def _crons(self, moment: datetime) -> Iterator[datetime]:
        assert self.cron is not None
        local = moment.astimezone(self.zone)
        it = _croniter().croniter(self.cron, local, second_at_beginning=True)
        once = _fixed_hours(self.cron)
        while True:
            instant: datetime = it.get_next(datetime)
            if once and _second_occurrence(instant):
                continue
            yield instant.astimezone(UTC)


def _fixed_hours(cron: str) -> bool:
    if cron.startswith("@"):
        return cron != "@hourly"
    fields = cron.split()
    hour = fields[2] if len(fields) == 6 else fields[1]
    return "*" not in hour and "/" not in hour


def _second_occurrence(instant: datetime) -> bool:
    """A wall-clock time that occurs twice, at its second occurrence (after fall back)."""
    return instant.fold == 1 and instant.replace(fold=0).utcoffset() != instant.utcoffset()


def _whole_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)
