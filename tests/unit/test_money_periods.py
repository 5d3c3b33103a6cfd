"""Billing periods: month-end clamping from the anchor, tenant timezones, DST, and tiling."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from wrapper.money.periods import (
    MONTHLY,
    YEARLY,
    Anchor,
    Interval,
    Period,
    first_period,
    next_period,
    period_containing,
)

NEW_YORK = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)


def starts(anchor: Anchor, interval: Interval, count: int) -> list[datetime]:
    period, found = first_period(anchor, interval), []
    for _ in range(count):
        found.append(period.start)
        period = next_period(period)
    return found


# ---- worked examples ---------------------------------------------------------------------

def test_a_jan_31_anchor_clamps_each_month_end_and_comes_back_to_the_31st() -> None:
    # Given a monthly subscription started on Jan 31 2027 at 00:00 UTC
    anchor = Anchor(utc(2027, 1, 31))
    # When its periods through a year are listed
    found = starts(anchor, MONTHLY, 14)
    # Then each starts on the anchor day, or the month's last day when it is shorter
    assert [d.date().isoformat() for d in found] == [
        "2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30", "2027-07-31",
        "2027-08-31", "2027-09-30", "2027-10-31", "2027-11-30", "2027-12-31", "2028-01-31",
        "2028-02-29",  # a leap February takes the 29th
    ]
    assert all(d.time().isoformat() == "00:00:00" for d in found)


def test_a_feb_29_leap_anchor_keeps_the_29th_monthly_and_returns_to_it_in_the_next_leap_year() -> None:
    # Given subscriptions anchored on Feb 29 2028 at 12:00 UTC
    anchor = Anchor(utc(2028, 2, 29, 12))
    # Then the monthly one bills on the 29th (Feb 28 in common years)
    assert [d.date().isoformat() for d in starts(anchor, MONTHLY, 13)][-2:] == ["2029-01-29", "2029-02-28"]
    assert [d.date().isoformat() for d in starts(anchor, MONTHLY, 3)] == ["2028-02-29", "2028-03-29", "2028-04-29"]
    # And the yearly one clamps to Feb 28 until the next leap year
    assert [d.date().isoformat() for d in starts(anchor, YEARLY, 5)] == [
        "2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"]
    # And the clamped years are 365 days each until the one that ends on the next Feb 29
    year, lengths = first_period(anchor, YEARLY), []
    for _ in range(4):
        lengths.append(year.length.days)
        year = next_period(year)
    assert lengths == [365, 365, 365, 366]


def test_a_quarterly_interval_counts_three_months_from_the_anchor() -> None:
    anchor = Anchor(utc(2027, 11, 30))
    assert [d.date().isoformat() for d in starts(anchor, Interval(unit="month", count=3), 4)] == [
        "2027-11-30", "2028-02-29", "2028-05-30", "2028-08-30"]


def test_kiritimati_utc_plus_14_periods_follow_the_local_date_not_the_utc_date() -> None:
    # Given a tenant in Pacific/Kiritimati (UTC+14) subscribing on its Mar 1 2027 at 05:00,
    # which is still Feb 28 15:00 in UTC
    anchor = Anchor(local("Pacific/Kiritimati", 2027, 3, 1, 5), "Pacific/Kiritimati")
    assert anchor.instant == utc(2027, 2, 28, 15)
    # When its monthly periods are computed
    first = first_period(anchor, MONTHLY)
    # Then they start on the 1st, local time (the last day of the previous month in UTC),
    # not on the 28th as a UTC-only computation would say
    assert (first.start, first.end) == (utc(2027, 2, 28, 15), utc(2027, 3, 31, 15))
    assert next_period(first).end == utc(2027, 4, 30, 15)
    # And an instant a second before the local Apr 1 is still in the first period
    assert period_containing(anchor, MONTHLY, utc(2027, 3, 31, 14, 59, 59)) == first


def test_pago_pago_utc_minus_11_periods_follow_the_local_date_not_the_utc_date() -> None:
    # Given a tenant in Pacific/Pago_Pago (UTC-11) subscribing on its Jan 30 2027 at 23:00,
    # already Jan 31 10:00 in UTC
    anchor = Anchor(local("Pacific/Pago_Pago", 2027, 1, 30, 23), "Pacific/Pago_Pago")
    assert anchor.instant == utc(2027, 1, 31, 10)
    # Then the next periods start on the local 28th (Feb has no 30th) and 30th, which are
    # Mar 1 and Mar 31 in UTC; a UTC-only computation would have said Feb 28 and Mar 31
    assert starts(anchor, MONTHLY, 3) == [utc(2027, 1, 31, 10), utc(2027, 3, 1, 10), utc(2027, 3, 31, 10)]


def test_a_new_york_period_spanning_the_march_dst_change_is_one_hour_short() -> None:
    # Given a New York tenant anchored on Mar 1 2027 09:00 EST; DST starts Mar 14
    anchor = Anchor(local(NEW_YORK, 2027, 3, 1, 9), NEW_YORK)
    # When its first period is computed
    period = first_period(anchor, MONTHLY)
    # Then it ends at 09:00 local on Apr 1, which is 13:00 UTC (EDT), not 14:00
    assert (period.start, period.end) == (utc(2027, 3, 1, 14), utc(2027, 4, 1, 13))
    assert period.length == timedelta(days=31) - timedelta(hours=1)


def test_a_wall_clock_time_skipped_by_spring_forward_moves_later_by_the_gap() -> None:
    # Given an anchor at 02:30 EST on Feb 14 2027; Mar 14 2027 has no 02:30 in New York
    anchor = Anchor(local(NEW_YORK, 2027, 2, 14, 2, 30), NEW_YORK)
    # Then that period starts at 03:30 EDT (07:30 UTC), and April's at 02:30 EDT again
    assert starts(anchor, MONTHLY, 3) == [utc(2027, 2, 14, 7, 30), utc(2027, 3, 14, 7, 30), utc(2027, 4, 14, 6, 30)]


def test_a_wall_clock_time_repeated_by_fall_back_means_its_first_occurrence() -> None:
    # Given an anchor at 01:30 EDT on Oct 7 2027; 01:30 happens twice on Nov 7 2027
    anchor = Anchor(local(NEW_YORK, 2027, 10, 7, 1, 30), NEW_YORK)
    # Then November's period starts at the first 01:30 (EDT, 05:30 UTC)
    assert starts(anchor, MONTHLY, 3) == [utc(2027, 10, 7, 5, 30), utc(2027, 11, 7, 5, 30), utc(2027, 12, 7, 6, 30)]


def test_an_anchor_in_the_second_occurrence_of_a_repeated_hour_still_starts_period_zero() -> None:
    # Given a subscription started at the second 01:30 of Nov 7 2027 (EST, 06:30 UTC)
    anchor = Anchor(local(NEW_YORK, 2027, 11, 7, 1, 30, fold=1), NEW_YORK)
    # Then its first period starts at that very instant, not an hour before it
    assert first_period(anchor, MONTHLY).start == utc(2027, 11, 7, 6, 30)
    assert period_containing(anchor, MONTHLY, utc(2027, 11, 7, 6, 30)).index == 0


def test_periods_are_returned_in_utc_whatever_the_inputs_offset() -> None:
    period = period_containing(Anchor(local("Asia/Tokyo", 2027, 5, 10, 9), "Asia/Tokyo"), MONTHLY,
                               local("Europe/Paris", 2027, 6, 20, 12))
    assert period.start.tzinfo is UTC and period.end.tzinfo is UTC
    assert (period.start, period.end, period.index) == (utc(2027, 6, 10), utc(2027, 7, 10), 1)


# ---- refusals ----------------------------------------------------------------------------

def test_naive_datetimes_are_refused_everywhere() -> None:
    naive = datetime(2027, 1, 1)
    with pytest.raises(ValueError, match="naive"):
        Anchor(naive)
    anchor = Anchor(utc(2027, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        period_containing(anchor, MONTHLY, naive)
    with pytest.raises(ValueError, match="naive"):
        _ = naive in first_period(anchor, MONTHLY)


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "", "../etc/passwd", "EST+5"])
def test_an_unknown_timezone_is_a_value_error(timezone: str) -> None:
    with pytest.raises(ValueError, match="timezone"):
        Anchor(utc(2027, 1, 1), timezone)


def test_no_period_contains_an_instant_before_the_anchor() -> None:
    with pytest.raises(ValueError, match="before the anchor"):
        period_containing(Anchor(utc(2027, 1, 1)), MONTHLY, utc(2026, 12, 31, 23, 59))


@pytest.mark.parametrize("fields", [
    {"unit": "week"}, {"unit": "month", "count": 0}, {"unit": "month", "count": "1"},
    {"unit": "month", "count": 1.0}, {"unit": "year", "every": 2}, {},
])
def test_an_interval_is_months_or_years_counted_by_a_positive_int(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Interval.model_validate(fields)


# ---- properties --------------------------------------------------------------------------

ZONES = ["UTC", NEW_YORK, "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham", "Pacific/Kiritimati",
         "Pacific/Pago_Pago", "Asia/Kathmandu", "America/St_Johns", "Pacific/Apia", "America/Santiago"]
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1),
                        timezones=st.just(UTC))
anchors = st.builds(Anchor, instants, st.sampled_from(ZONES))
intervals = st.builds(Interval, unit=st.sampled_from(["month", "year"]), count=st.integers(1, 3))
offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3660))


@settings(max_examples=300)
@given(anchors, intervals, offsets)
def test_the_period_containing_an_instant_contains_it(anchor: Anchor, interval: Interval, offset: timedelta) -> None:
    at = anchor.instant + offset
    period = period_containing(anchor, interval, at)
    assert period.start <= at < period.end
    assert at in period


@settings(max_examples=150)
@given(anchors, intervals)
def test_periods_tile_time_with_no_gap_and_no_overlap(anchor: Anchor, interval: Interval) -> None:
    period = first_period(anchor, interval)
    assert period.start == anchor.instant
    for _ in range(30):
        following = next_period(period)
        assert following.start == period.end          # no gap, no overlap
        assert period.start < period.end              # never empty
        # and each boundary belongs to exactly one period: the one it starts
        assert period_containing(anchor, interval, period.end) == following
        assert period_containing(anchor, interval, period.end - timedelta(microseconds=1)) == period
        period = following


@settings(max_examples=150)
@given(anchors, intervals, st.integers(min_value=1, max_value=60))
def test_each_period_starts_on_the_anchor_day_or_the_months_last_day(
        anchor: Anchor, interval: Interval, index: int) -> None:
    period = first_period(anchor, interval)
    for _ in range(index):
        period = next_period(period)
    start, origin = period.start.astimezone(ZoneInfo(anchor.timezone)), anchor.local
    month_number = origin.month - 1 + index * interval.months
    expected_month = (origin.year + month_number // 12, month_number % 12 + 1)
    last_day = calendar.monthrange(*expected_month)[1]
    # A DST gap can push the wall clock forward, across midnight at worst (Pacific/Apia
    # skipped a whole day in 2011), so compare the instant, not only the local fields.
    expected_wall = origin.replace(year=expected_month[0], month=expected_month[1],
                                   day=min(origin.day, last_day), fold=0)
    assert period.start == expected_wall.astimezone(UTC)
    if start.replace(tzinfo=None) == expected_wall.replace(tzinfo=None):
        assert (start.year, start.month, start.day) == (*expected_month, min(origin.day, last_day))


def test_a_period_knows_its_place_so_next_period_needs_nothing_else() -> None:
    period = first_period(Anchor(utc(2027, 1, 31)), MONTHLY)
    assert isinstance(next_period(period), Period)
    assert next_period(next_period(period)).index == 2
