"""When a schedule fires: a cron's instants in its time zone, through both daylight-saving
changes, an interval's from its anchor, both bounded; and what a bad cadence is told."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from jobstream_contracts.cadence import Cadence, check_cron, parse_interval, zone

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour=0, minute=0, second=0, micro=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def walls(instants: list[datetime], tz: ZoneInfo) -> list[str]:
    """The instants as the zone's clocks show them, with the offset in force."""
    return [instant.astimezone(tz).strftime("%m-%d %H:%M %Z") for instant in instants]


def day_of(cron: str, tz: str, day: datetime) -> list[datetime]:
    """A cron's instants from noon (UTC) the day before ``day`` to noon the day after."""
    span = timedelta(hours=36)
    return Cadence(cron, timezone=tz).between(day - span, day + span, 99)


# --- crons --------------------------------------------------------------------------------


def test_a_five_field_cron_reads_minute_first():
    assert Cadence("*/15 9 * * *").upcoming(utc(2026, 1, 1, 9, 7), 3) == [
        utc(2026, 1, 1, 9, 15),
        utc(2026, 1, 1, 9, 30),
        utc(2026, 1, 1, 9, 45),
    ]


def test_a_six_field_cron_reads_seconds_first():
    assert Cadence("*/20 * * * * *").upcoming(utc(2026, 1, 1), 3) == [
        utc(2026, 1, 1, 0, 0, 20),
        utc(2026, 1, 1, 0, 0, 40),
        utc(2026, 1, 1, 0, 1, 0),
    ]
    assert Cadence("30 15 9 * * *").after(utc(2026, 1, 1)) == utc(2026, 1, 1, 9, 15, 30)


@pytest.mark.parametrize(
    ("macro", "first"),
    [
        ("@hourly", utc(2026, 1, 1, 13)),
        ("@daily", utc(2026, 1, 2)),
        ("@midnight", utc(2026, 1, 2)),
        # 2026-01-01 is a Thursday: a week starts on Sunday.
        ("@weekly", utc(2026, 1, 4)),
        ("@monthly", utc(2026, 2, 1)),
        ("@yearly", utc(2027, 1, 1)),
        ("@annually", utc(2027, 1, 1)),
    ],
)
def test_a_macro_fires_at_the_start_of_its_period(macro, first):
    assert Cadence(macro).after(utc(2026, 1, 1, 12, 30)) == first


@pytest.mark.parametrize(
    ("tz", "winter", "summer"),
    [
        ("UTC", utc(2026, 1, 15, 9), utc(2026, 7, 15, 9)),
        ("Europe/Berlin", utc(2026, 1, 15, 8), utc(2026, 7, 15, 7)),
        ("America/New_York", utc(2026, 1, 15, 14), utc(2026, 7, 15, 13)),
        ("Asia/Kolkata", utc(2026, 1, 15, 3, 30), utc(2026, 7, 15, 3, 30)),
    ],
)
def test_a_cron_fires_at_its_zones_wall_clock_time_given_in_utc(tz, winter, summer):
    cadence = Cadence("0 9 * * *", timezone=tz)
    assert cadence.after(utc(2026, 1, 15)) == winter
    assert cadence.after(utc(2026, 7, 15)) == summer
    assert winter.tzinfo is UTC


def test_the_instant_after_a_moment_is_strictly_after_it():
    cadence = Cadence("*/30 * * * *")
    assert cadence.after(utc(2026, 1, 1, 0, 30)) == utc(2026, 1, 1, 1)
    assert cadence.after(utc(2026, 1, 1, 0, 29, 59, 999999)) == utc(2026, 1, 1, 0, 30)
    assert cadence.after(utc(2026, 1, 1, 0, 30, 0, 1)) == utc(2026, 1, 1, 1)


def test_a_moment_in_any_zone_is_the_same_moment():
    cadence = Cadence("0 * * * *")
    in_berlin = utc(2026, 1, 1, 10, 30).astimezone(BERLIN)
    assert cadence.after(in_berlin) == utc(2026, 1, 1, 11)


# --- spring forward: a wall-clock time that does not occur ---------------------------------


@pytest.mark.parametrize(
    ("cron", "tz", "day", "expected"),
    [
        # Berlin: 02:00 CET becomes 03:00 CEST on 2026-03-29 (01:00 UTC).
        (
            "30 2 * * *",
            "Europe/Berlin",
            utc(2026, 3, 29),
            ["03-28 02:30 CET", "03-29 03:00 CEST", "03-30 02:30 CEST"],
        ),
        (
            "0 2 * * *",
            "Europe/Berlin",
            utc(2026, 3, 29),
            ["03-28 02:00 CET", "03-29 03:00 CEST", "03-30 02:00 CEST"],
        ),
        # New York: 02:00 EST becomes 03:00 EDT on 2026-03-08 (07:00 UTC).
        (
            "30 2 * * *",
            "America/New_York",
            utc(2026, 3, 8),
            ["03-07 02:30 EST", "03-08 03:00 EDT", "03-09 02:30 EDT"],
        ),
        (
            "0 30 2 * * *",
            "America/New_York",
            utc(2026, 3, 8),
            ["03-07 02:30 EST", "03-08 03:00 EDT", "03-09 02:30 EDT"],
        ),
    ],
)
def test_a_time_that_does_not_occur_fires_at_the_end_of_the_gap(cron, tz, day, expected):
    assert walls(day_of(cron, tz, day), ZoneInfo(tz)) == expected


def test_several_times_in_the_gap_fire_once_at_its_end():
    instants = day_of("0,15,30,45 2 * * *", "Europe/Berlin", utc(2026, 3, 29))
    assert walls(instants, BERLIN)[3:6] == [
        "03-28 02:45 CET",
        "03-29 03:00 CEST",
        "03-30 02:00 CEST",
    ]
    assert len(instants) == 4 + 1 + 4


def test_the_end_of_the_gap_is_an_instant_in_utc():
    assert Cadence("30 2 * * *", timezone="Europe/Berlin").after(utc(2026, 3, 29)) == utc(
        2026, 3, 29, 1
    )
    assert Cadence("30 2 * * *", timezone="America/New_York").after(utc(2026, 3, 8)) == utc(
        2026, 3, 8, 7
    )


def test_a_cron_with_a_wildcard_hour_keeps_its_elapsed_pace_through_the_gap():
    half_hourly = Cadence("*/30 * * * *", timezone="Europe/Berlin")
    assert half_hourly.between(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2), 99) == [
        utc(2026, 3, 29, 0, 30),
        utc(2026, 3, 29, 1),
        utc(2026, 3, 29, 1, 30),
        utc(2026, 3, 29, 2),
    ]
    hourly = Cadence("30 * * * *", timezone="Europe/Berlin")
    # 01:30 CET, then 03:30 CEST: an hour apart, no firing added at the end of the gap.
    assert hourly.between(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2), 99) == [
        utc(2026, 3, 29, 0, 30),
        utc(2026, 3, 29, 1, 30),
    ]


# --- fall back: a wall-clock time that occurs twice -----------------------------------------


@pytest.mark.parametrize(
    ("cron", "tz", "day", "expected"),
    [
        # Berlin: 03:00 CEST becomes 02:00 CET on 2026-10-25 (01:00 UTC).
        (
            "30 2 * * *",
            "Europe/Berlin",
            utc(2026, 10, 25),
            ["10-24 02:30 CEST", "10-25 02:30 CEST", "10-26 02:30 CET"],
        ),
        (
            "0 0 2 * * *",
            "Europe/Berlin",
            utc(2026, 10, 25),
            ["10-24 02:00 CEST", "10-25 02:00 CEST", "10-26 02:00 CET"],
        ),
        # New York: 02:00 EDT becomes 01:00 EST on 2026-11-01 (06:00 UTC).
        (
            "30 1 * * *",
            "America/New_York",
            utc(2026, 11, 1),
            ["10-31 01:30 EDT", "11-01 01:30 EDT", "11-02 01:30 EST"],
        ),
    ],
)
def test_a_repeated_time_of_a_cron_with_fixed_hours_fires_once_at_its_first_occurrence(
    cron, tz, day, expected
):
    assert walls(day_of(cron, tz, day), ZoneInfo(tz)) == expected


def test_the_first_occurrence_of_a_repeated_time_is_the_earlier_instant_in_utc():
    cadence = Cadence("30 2 * * *", timezone="Europe/Berlin")
    assert cadence.between(utc(2026, 10, 24, 12), utc(2026, 10, 26), 99) == [
        utc(2026, 10, 25, 0, 30)
    ]


def test_a_fixed_hour_with_several_minutes_fires_through_its_first_hour_only():
    instants = Cadence("*/15 2 * * *", timezone="Europe/Berlin").between(
        utc(2026, 10, 24, 12), utc(2026, 10, 25, 12), 99
    )
    assert walls(instants, BERLIN) == [
        "10-25 02:00 CEST",
        "10-25 02:15 CEST",
        "10-25 02:30 CEST",
        "10-25 02:45 CEST",
    ]


def test_a_range_of_hours_counts_as_fixed_hours():
    instants = Cadence("30 1-3 * * *", timezone="Europe/Berlin").between(
        utc(2026, 10, 24, 12), utc(2026, 10, 25, 12), 99
    )
    assert walls(instants, BERLIN) == ["10-25 01:30 CEST", "10-25 02:30 CEST", "10-25 03:30 CET"]


def test_a_sub_hourly_cron_with_a_wildcard_hour_fires_by_elapsed_time_through_the_repeat():
    cadence = Cadence("*/30 * * * *", timezone="Europe/Berlin")
    instants = cadence.between(utc(2026, 10, 24, 23, 59), utc(2026, 10, 25, 1, 30), 99)
    assert instants == [
        utc(2026, 10, 25, 0, 0),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 0),
        utc(2026, 10, 25, 1, 30),
    ]
    assert walls(instants, BERLIN) == [
        "10-25 02:00 CEST",
        "10-25 02:30 CEST",
        "10-25 02:00 CET",
        "10-25 02:30 CET",
    ]


@pytest.mark.parametrize("cron", ["*/30 * * * *", "0,30 */1 * * *"])
def test_a_wildcard_or_step_hour_fires_every_half_hour_through_new_yorks_repeat(cron):
    instants = Cadence(cron, timezone="America/New_York").between(
        utc(2026, 11, 1, 4, 59), utc(2026, 11, 1, 7), 99
    )
    assert instants == [utc(2026, 11, 1, 5) + timedelta(minutes=30 * n) for n in range(5)]


@pytest.mark.parametrize("cron", ["@hourly", "0 * * * *", "0 0 * * * *"])
def test_an_hourly_cron_fires_every_hour_in_utc_through_the_repeat(cron):
    instants = Cadence(cron, timezone="Europe/Berlin").between(
        utc(2026, 10, 24, 22, 30), utc(2026, 10, 25, 3), 99
    )
    assert instants == [utc(2026, 10, 24, 23) + timedelta(hours=n) for n in range(5)]


@pytest.mark.parametrize(
    ("cron", "tz", "first", "following"),
    [
        ("30 2 * * *", "Europe/Berlin", utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),
        ("0 30 2 * * *", "Europe/Berlin", utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),
        ("*/15 2 * * *", "Europe/Berlin", utc(2026, 10, 25, 0, 45), utc(2026, 10, 26, 1)),
        ("30 1 * * *", "America/New_York", utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)),
    ],
)
def test_rearming_at_the_first_occurrence_skips_the_second(cron, tz, first, following):
    cadence = Cadence(cron, timezone=tz)
    assert cadence.after(first) == following
    # From within the repeated hour, second time round, too.
    assert cadence.after(first + timedelta(hours=1)) == following


def test_rearming_a_wildcard_hour_at_the_first_occurrence_gives_the_second():
    cadence = Cadence("*/30 * * * *", timezone="Europe/Berlin")
    assert cadence.after(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 1)


def test_rearming_after_each_firing_walks_the_same_instants_as_between():
    cadence = Cadence("30 2 * * *", timezone="Europe/Berlin")
    walked, moment = [], utc(2026, 10, 20)
    while (moment := cadence.after(moment)) is not None and moment < utc(2026, 10, 30):
        walked.append(moment)
    assert walked == cadence.between(utc(2026, 10, 20), utc(2026, 10, 30), 99)
    assert len(walked) == 10


# --- intervals ------------------------------------------------------------------------------


def test_an_interval_fires_every_period_counted_from_its_anchor():
    cadence = Cadence(every=90, anchor=utc(2026, 1, 1, 12))
    assert cadence.upcoming(utc(2026, 1, 1, 12, 0, 10), 3) == [
        utc(2026, 1, 1, 12, 1, 30),
        utc(2026, 1, 1, 12, 3),
        utc(2026, 1, 1, 12, 4, 30),
    ]


def test_an_interval_is_a_grid_through_its_anchor_both_ways():
    anchor = utc(2026, 1, 1, 12)
    cadence = Cadence(every=600, anchor=anchor)
    assert cadence.after(anchor - timedelta(days=3)) == anchor - timedelta(days=3, minutes=-10)
    assert cadence.after(anchor - timedelta(minutes=1)) == anchor
    assert cadence.after(anchor) == anchor + timedelta(minutes=10)
    assert cadence.after(anchor + timedelta(minutes=10)) == anchor + timedelta(minutes=20)


def test_an_interval_counts_elapsed_seconds_whatever_the_zone():
    cadence = Cadence(every=86400, timezone="Europe/Berlin", anchor=utc(2026, 3, 28, 12))
    instants = cadence.upcoming(utc(2026, 3, 28, 12), 2)
    assert instants == [utc(2026, 3, 29, 12), utc(2026, 3, 30, 12)]
    assert walls(instants, BERLIN) == ["03-29 14:00 CEST", "03-30 14:00 CEST"]


def test_an_interval_anchored_at_a_fraction_of_a_second_counts_from_the_whole_second():
    cadence = Cadence(every=10, anchor=utc(2026, 1, 1, 12, 0, 0, 700000))
    instants = cadence.upcoming(utc(2026, 1, 1, 12, 0, 0, 800000), 2)
    assert instants == [utc(2026, 1, 1, 12, 0, 10), utc(2026, 1, 1, 12, 0, 20)]
    assert cadence.anchor == utc(2026, 1, 1, 12)


def test_an_anchor_in_another_zone_is_the_same_instant():
    anchor = datetime(2026, 1, 1, 13, tzinfo=timezone(timedelta(hours=1)))
    assert Cadence(every=3600, anchor=anchor).after(utc(2026, 1, 1, 12, 30)) == utc(2026, 1, 1, 13)


# --- bounds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cadence",
    [
        Cadence("0 * * * *", end=utc(2026, 1, 1, 3)),
        Cadence(every=3600, anchor=utc(2026, 1, 1), end=utc(2026, 1, 1, 3)),
    ],
    ids=["cron", "interval"],
)
def test_no_instant_comes_after_the_end_which_itself_may_fire(cadence):
    assert cadence.after(utc(2026, 1, 1, 2)) == utc(2026, 1, 1, 3)
    assert cadence.after(utc(2026, 1, 1, 3)) is None
    assert cadence.upcoming(utc(2026, 1, 1), 5) == [utc(2026, 1, 1, h) for h in (1, 2, 3)]
    assert cadence.between(utc(2026, 1, 1), utc(2026, 1, 2), 99) == [
        utc(2026, 1, 1, h) for h in (1, 2, 3)
    ]


def test_a_cron_or_an_interval_fires_first_at_or_after_its_start():
    cadence = Cadence("0 9 * * *", start=utc(2027, 1, 1, 9))
    assert cadence.after(utc(2026, 1, 1)) == utc(2027, 1, 1, 9)
    assert cadence.upcoming(utc(2026, 1, 1), 2) == [utc(2027, 1, 1, 9), utc(2027, 1, 2, 9)]
    assert Cadence("0 9 * * *", start=utc(2027, 1, 1, 9, 0, 1)).after(utc(2026, 1, 1)) == utc(
        2027, 1, 2, 9
    )
    interval = Cadence(every=3600, anchor=utc(2026, 1, 1), start=utc(2026, 6, 1, 0, 30))
    assert interval.after(utc(2026, 1, 1)) == utc(2026, 6, 1, 1)
    assert interval.between(utc(2026, 1, 1), utc(2026, 6, 1, 2), 10) == [
        utc(2026, 6, 1, 1),
        utc(2026, 6, 1, 2),
    ]


def test_upcoming_gives_as_many_instants_as_asked():
    cadence = Cadence("@daily")
    assert len(cadence.upcoming(utc(2026, 1, 1), 7)) == 7
    assert cadence.upcoming(utc(2026, 1, 1), 0) == []


def test_between_excludes_its_start_and_includes_its_stop():
    cadence = Cadence("0 * * * *")
    assert cadence.between(utc(2026, 1, 1, 1), utc(2026, 1, 1, 3), 99) == [
        utc(2026, 1, 1, 2),
        utc(2026, 1, 1, 3),
    ]


def test_between_keeps_only_the_latest_instants_up_to_its_limit():
    cadence = Cadence("0 * * * *")
    assert cadence.between(utc(2026, 1, 1), utc(2026, 1, 2), 3) == [
        utc(2026, 1, 1, 22),
        utc(2026, 1, 1, 23),
        utc(2026, 1, 2),
    ]
    assert cadence.between(utc(2026, 1, 1), utc(2026, 1, 2), 0) == []


def test_between_a_stop_before_the_next_instant_is_empty():
    cadence = Cadence("0 * * * *")
    assert cadence.between(utc(2026, 1, 1, 1), utc(2026, 1, 1, 1, 59), 99) == []
    assert cadence.between(utc(2026, 1, 1, 5), utc(2026, 1, 1, 1), 99) == []


@pytest.mark.parametrize(("cron", "every"), [(None, None), ("0 * * * *", 60)])
def test_a_cadence_is_a_cron_or_an_interval_exactly_one(cron, every):
    with pytest.raises(ValueError, match="exactly one"):
        Cadence(cron, every)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1),
        ("90s", 90),
        ("15m", 900),
        ("1h30m", 5400),
        ("1d", 86400),
        ("2d12h", 216000),
        (" 1H 30M ", 5400),
        ("36500d", 36500 * 86400),
    ],
)
def test_an_interval_is_written_in_days_hours_minutes_and_seconds(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["soon", "1x", "", "10", "1.5h", "-1s", "1h1", "h", "1 h x"])
def test_what_is_not_an_interval_is_told_how_to_write_one(text):
    with pytest.raises(ValueError, match=r"is not an interval: write e\.g\. '30s'"):
        parse_interval(text)


@pytest.mark.parametrize("text", ["0s", "0h0m"])
def test_an_interval_is_at_least_a_second(text):
    with pytest.raises(ValueError, match="shorter than the shortest interval, 1s"):
        parse_interval(text)


@pytest.mark.parametrize("text", ["36501d", "9999999999d"])
def test_an_interval_is_at_most_a_hundred_years(text):
    with pytest.raises(ValueError, match="longer than the longest interval"):
        parse_interval(text)


def test_the_longest_interval_still_has_instants():
    cadence = Cadence(every=parse_interval("36500d"), anchor=utc(2026, 1, 1))
    assert cadence.upcoming(utc(2026, 1, 1), 2) == [utc(2125, 12, 8), utc(2225, 11, 14)]


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_a_zone_is_found_by_its_iana_name(name):
    assert zone(name).key == name


@pytest.mark.parametrize(
    "name", ["Mars/Base", "", "Europe/Berlin ", "../etc/passwd", "/etc/localtime", "Europe"]
)
def test_a_name_that_is_no_iana_zone_is_refused_with_an_example(name):
    with pytest.raises(ValueError, match=r"is not an IANA time zone \(e\.g\. 'UTC'"):
        zone(name)


def test_a_cadence_in_an_unknown_zone_is_refused():
    with pytest.raises(ValueError, match="'Mars/Base' is not an IANA time zone"):
        Cadence("0 * * * *", timezone="Mars/Base")


@pytest.mark.parametrize(
    "cron",
    ["* * * * *", "*/5 * * * *", "0 30 2 * * *", "@daily", "0 9 * * MON-FRI", "0 0 29 2 *"],
)
def test_a_cron_of_five_or_six_fields_or_a_macro_is_accepted(cron):
    check_cron(cron)
    assert Cadence(cron).after(utc(2026, 1, 1)) is not None


@pytest.mark.parametrize(
    "cron",
    [
        "61 * * * *",
        "0 24 * * *",
        "* * * *",
        "0 0 1 1 * 2030",
        "0 */30 2 * * * *",
        "*/0 * * * *",
        "@reboot",
        "every day",
        "",
    ],
)
def test_what_is_not_a_five_or_six_field_cron_is_refused_naming_the_forms(cron):
    with pytest.raises(ValueError, match="is not a cron expression: five fields"):
        check_cron(cron)


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4 *", "0 0 0 31 11 *"])
def test_a_cron_of_a_date_that_never_occurs_is_refused(cron):
    with pytest.raises(ValueError, match="never fires"):
        check_cron(cron)
