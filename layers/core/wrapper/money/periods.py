"""Billing periods: consecutive half-open ``[start, end)`` spans that follow an anchor.

The anchor is the instant a subscription started, read in the tenant's IANA timezone. The
``n``-th period starts ``n * interval`` months after the anchor's local date, at the
anchor's local wall-clock time, and ends where period ``n + 1`` starts, so periods tile
time with no gap and no overlap.

Month ends clamp, and each boundary is computed from the anchor, never from the previous
boundary: an anchor on Jan 31 gives Feb 28 (29 in a leap year), Mar 31, Apr 30…, and a
yearly anchor on Feb 29 gives Feb 28 in common years and Feb 29 again in the next leap year.

Daylight-saving transitions (the rule of RFC 5545 §3.3.5, PEP 495's ``fold=0``):
- a wall-clock time that does not exist (spring forward, 02:30 in New York) is read with
  the offset in force before the gap, which lands after it: 02:30 becomes 03:30 EDT;
- a wall-clock time that happens twice (fall back, 01:30) means its first occurrence.
Period 0 always starts at the anchor instant itself, even when the anchor is the second
occurrence of a repeated hour. Every boundary is returned as an aware UTC datetime.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, StrictInt

from wrapper.kernel.model import Model


class Interval(Model):
    """How long a period is: ``count`` months or years."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Literal["month", "year"]
    count: StrictInt = Field(default=1, ge=1, le=120)

    @property
    def months(self) -> int:
        return self.count * (12 if self.unit == "year" else 1)


MONTHLY = Interval(unit="month")
YEARLY = Interval(unit="year")


def require_aware(value: datetime, name: str) -> datetime:
    """Refuse a naive datetime: it names no instant, so no period can contain it."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got a naive datetime)")
    return value


def zone(name: str) -> ZoneInfo:
    """The IANA timezone ``name``; an unknown or malformed name is a ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown IANA timezone {name!r}") from exc


@dataclass(frozen=True, slots=True)
class Anchor:
    """A subscription's start instant and the tenant timezone its periods are counted in."""

    instant: datetime
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        require_aware(self.instant, "anchor")
        zone(self.timezone)
        object.__setattr__(self, "instant", self.instant.astimezone(UTC))

    @property
    def local(self) -> datetime:
        return self.instant.astimezone(zone(self.timezone))


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` in UTC, the ``index``-th period after ``anchor`` (0 is the first)."""

    start: datetime
    end: datetime
    anchor: Anchor
    interval: Interval
    index: int

    def __contains__(self, at: datetime) -> bool:
        return self.start <= require_aware(at, "instant") < self.end

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def period_start(anchor: Anchor, interval: Interval, index: int) -> datetime:
    """Where the ``index``-th period starts, in UTC, computed from the anchor alone."""
    if index < 0:
        raise ValueError("no period starts before the anchor")
    if index == 0:
        return anchor.instant
    local = anchor.local
    month_number = local.month - 1 + index * interval.months
    year, month = local.year + month_number // 12, month_number % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    wall = local.replace(year=year, month=month, day=day, fold=0)
    return wall.astimezone(UTC)


def period_at(anchor: Anchor, interval: Interval, index: int) -> Period:
    return Period(start=period_start(anchor, interval, index), end=period_start(anchor, interval, index + 1),
                  anchor=anchor, interval=interval, index=index)


def first_period(anchor: Anchor, interval: Interval) -> Period:
    return period_at(anchor, interval, 0)


def next_period(period: Period) -> Period:
    return period_at(period.anchor, period.interval, period.index + 1)


def period_containing(anchor: Anchor, interval: Interval, at: datetime) -> Period:
    """The period with ``start <= at < end``; an instant before the anchor has none."""
    at = require_aware(at, "instant").astimezone(UTC)
    if at < anchor.instant:
        raise ValueError("the instant is before the anchor: no period contains it")
    local_at, local_anchor = at.astimezone(zone(anchor.timezone)), anchor.local
    months_apart = (local_at.year - local_anchor.year) * 12 + local_at.month - local_anchor.month
    # The calendar estimate is off by at most one period (day of month, time of day,
    # clamping and DST shifts); walk to the exact one.
    index = max(0, months_apart // interval.months)
    while index > 0 and period_start(anchor, interval, index) > at:
        index -= 1
    while period_start(anchor, interval, index + 1) <= at:
        index += 1
    return period_at(anchor, interval, index)
