"""Proration: worked examples in minor units, the change policy, and Hypothesis properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wrapper.money.periods import MONTHLY, YEARLY, Anchor, Interval, Period, first_period, period_containing
from wrapper.money.pricing import PriceSpec, amount_for
from wrapper.money.proration import ChangeKind, Line, Terms, change_kind, preview_change, prorate, unused_share


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local(zone: str, year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZoneInfo(zone))


def monthly(amount: int, name: str, currency: str = "USD") -> Terms:
    return Terms(amount=amount, currency=currency, interval=MONTHLY, description=name)


def february_2027() -> Period:
    # A monthly subscription anchored Jan 1 2027: its second period is all of February, 28 days.
    return period_containing(Anchor(utc(2027, 1, 1)), MONTHLY, utc(2027, 2, 10))


# ---- worked examples ---------------------------------------------------------------------

def test_an_upgrade_on_feb_14_of_a_28_day_february_prorates_15_28ths() -> None:
    # Given Starter at 10 USD/month, in the period Feb 1 - Mar 1 2027 (28 days)
    period = february_2027()
    assert (period.start, period.end) == (utc(2027, 2, 1), utc(2027, 3, 1))
    # When the tenant upgrades to Pro at 25 USD/month on Feb 14 at 00:00 UTC (15 days left)
    change = preview_change(period, utc(2027, 2, 14), monthly(1000, "Starter"), monthly(2500, "Pro"))
    # Then it applies now: 1000 * 15/28 = 535.71 is credited as 536, 2500 * 15/28 = 1339.29
    # charged as 1339, and 803 cents are due now
    assert change.kind is ChangeKind.UPGRADE
    assert change.effective_at == utc(2027, 2, 14)
    assert change.lines == (Line("Unused time on Starter", -536), Line("Remaining time on Pro", 1339))
    assert change.amount_due == 803
    assert change.period == period  # the billing cycle does not move


def test_adding_seats_mid_period_prorates_like_a_plan_change() -> None:
    # Given 12 USD per seat, 3 seats, in February 2027
    seat = PriceSpec(model="per_unit", currency="USD", unit_amount=Decimal(1200))
    old, new = monthly(amount_for(seat, 3), "Pro x 3 seats"), monthly(amount_for(seat, 5), "Pro x 5 seats")
    # When two seats are added on Feb 14 (15/28 of the period left)
    change = preview_change(february_2027(), utc(2027, 2, 14), old, new)
    # Then 3600 * 15/28 = 1928.57 -> -1929, 6000 * 15/28 = 3214.29 -> 3214, 1285 due
    assert [line.amount for line in change.lines] == [-1929, 3214]
    assert change.amount_due == 1285


def test_a_downgrade_is_scheduled_for_the_period_end_without_proration() -> None:
    # Given Pro in February 2027 / When the tenant downgrades to Starter on Feb 14
    period = february_2027()
    change = preview_change(period, utc(2027, 2, 14), monthly(2500, "Pro"), monthly(1000, "Starter"))
    # Then nothing is billed now and Starter starts with the next period, Mar 1
    assert change.kind is ChangeKind.DOWNGRADE
    assert change.lines == ()
    assert change.amount_due == 0
    assert change.effective_at == utc(2027, 3, 1)
    assert (change.period.start, change.period.end) == (utc(2027, 3, 1), utc(2027, 4, 1))


def test_a_downgrade_applied_now_shows_its_credit_instead_of_hiding_it() -> None:
    # Given a caller that chooses to remove two of five seats now, on Feb 14 2027
    lines = prorate(february_2027(), utc(2027, 2, 14), monthly(6000, "Pro x 5 seats"), monthly(3600, "Pro x 3 seats"))
    # Then the lines net to a negative amount: the caller decides what the credit becomes
    assert [line.amount for line in lines] == [-3214, 1929]
    assert sum(line.amount for line in lines) == -1285


def test_a_change_to_the_same_amount_bills_nothing() -> None:
    change = preview_change(february_2027(), utc(2027, 2, 14), monthly(2500, "Pro"), monthly(2500, "Pro v2"))
    assert (change.kind, change.lines, change.amount_due) == (ChangeKind.UNCHANGED, (), 0)


def test_a_month_to_year_switch_credits_the_unused_month_and_starts_a_new_year_now() -> None:
    # Given 20 USD/month anchored Jan 15 2027, in the period Mar 15 - Apr 15 (31 days)
    period = period_containing(Anchor(utc(2027, 1, 15)), MONTHLY, utc(2027, 3, 20))
    assert (period.start, period.end) == (utc(2027, 3, 15), utc(2027, 4, 15))
    # When the tenant switches to 200 USD/year on Mar 25 at 00:00 UTC (21 of 31 days left)
    yearly = Terms(amount=20000, currency="USD", interval=YEARLY, description="Pro (yearly)")
    change = preview_change(period, utc(2027, 3, 25), monthly(2000, "Pro (monthly)"), yearly)
    # Then 2000 * 21/31 = 1354.84 is credited as 1355, the full year is charged, 18645 is due,
    # and the new yearly period runs from the change instant
    assert change.kind is ChangeKind.INTERVAL_SWITCH
    assert change.lines == (Line("Unused time on Pro (monthly)", -1355), Line("Pro (yearly)", 20000))
    assert change.amount_due == 18645
    assert (change.period.start, change.period.end) == (utc(2027, 3, 25), utc(2028, 3, 25))
    assert change.effective_at == utc(2027, 3, 25)


def test_a_year_to_month_switch_follows_the_same_rule_and_shows_the_net_credit() -> None:
    # Given 240 USD/year anchored Jan 1 2027 / When switched to 25 USD/month on Jul 2 2027
    period = first_period(Anchor(utc(2027, 1, 1)), YEARLY)
    yearly = Terms(amount=24000, currency="USD", interval=YEARLY, description="Pro (yearly)")
    change = preview_change(period, utc(2027, 7, 2), yearly, monthly(2500, "Pro (monthly)"))
    # Then 24000 * 183/365 = 12032.88 is credited as 12033, a month charged, 9533 owed back
    assert [line.amount for line in change.lines] == [-12033, 2500]
    assert change.amount_due == -9533
    assert (change.period.start, change.period.end) == (utc(2027, 7, 2), utc(2027, 8, 2))


def test_kiritimati_upgrade_halfway_through_its_local_february_rounds_ties_away_from_zero() -> None:
    # Given a Pacific/Kiritimati (UTC+14) tenant anchored at its local Feb 1 2027 00:00
    anchor = Anchor(local("Pacific/Kiritimati", 2027, 2, 1), "Pacific/Kiritimati")
    period = first_period(anchor, MONTHLY)
    assert (period.start, period.end) == (utc(2027, 1, 31, 10), utc(2027, 2, 28, 10))
    # When it upgrades from 9.99 to 29.99 at its local Feb 15 00:00 (exactly half the period)
    change = preview_change(period, utc(2027, 2, 14, 10), monthly(999, "Basic"), monthly(2999, "Pro"))
    # Then 499.5 is credited as 500 and 1499.5 charged as 1500: ties go away from zero
    assert [line.amount for line in change.lines] == [-500, 1500]
    assert change.amount_due == 1000


def test_pago_pago_upgrade_in_yen_prorates_over_the_local_period() -> None:
    # Given a Pacific/Pago_Pago (UTC-11) tenant anchored at its local Jan 30 2027 23:00, billed in JPY;
    # its second period is Mar 1 10:00 - Mar 31 10:00 UTC (the local 28th of Feb to the 30th of Mar)
    anchor = Anchor(local("Pacific/Pago_Pago", 2027, 1, 30, 23), "Pacific/Pago_Pago")
    period = period_containing(anchor, MONTHLY, utc(2027, 3, 10))
    assert (period.start, period.end) == (utc(2027, 3, 1, 10), utc(2027, 3, 31, 10))
    # When it upgrades from 1000 to 3001 yen at Mar 16 10:00 UTC (15 of 30 days left)
    change = preview_change(period, utc(2027, 3, 16, 10), monthly(1000, "Basic", "JPY"), monthly(3001, "Pro", "JPY"))
    # Then 500 yen are credited and 1500.5 charged as 1501
    assert [line.amount for line in change.lines] == [-500, 1501]
    assert change.amount_due == 1001


def test_a_new_york_upgrade_after_the_march_dst_change_counts_the_short_hour() -> None:
    # Given a New York tenant anchored Mar 1 2027 09:00 EST: its period is 31 days less an hour
    period = first_period(Anchor(local("America/New_York", 2027, 3, 1, 9), "America/New_York"), MONTHLY)
    assert period.length == timedelta(hours=743)
    # When it upgrades from 30 to 60 USD at 09:00 EDT on Mar 16 (384 of 743 hours left)
    change = preview_change(period, utc(2027, 3, 16, 13), monthly(3000, "Team"), monthly(6000, "Business"))
    # Then 3000 * 384/743 = 1550.47 -> -1550 and 6000 * 384/743 = 3100.94 -> 3101
    assert unused_share(period, utc(2027, 3, 16, 13)) == Fraction(384, 743)
    assert [line.amount for line in change.lines] == [-1550, 3101]
    assert change.amount_due == 1551


def test_a_change_at_the_first_instant_of_a_period_credits_and_charges_in_full() -> None:
    lines = prorate(february_2027(), utc(2027, 2, 1), monthly(1000, "Starter"), monthly(2500, "Pro"))
    assert [line.amount for line in lines] == [-1000, 2500]


# ---- refusals ----------------------------------------------------------------------------

@pytest.mark.parametrize("at", [utc(2027, 3, 1), utc(2027, 1, 31, 23, 59, 59)])
def test_a_change_outside_the_period_is_refused(at: datetime) -> None:
    # The end is not in a half-open period: a change there belongs to the next one.
    with pytest.raises(ValueError, match="outside the period"):
        preview_change(february_2027(), at, monthly(1000, "Starter"), monthly(2500, "Pro"))


def test_a_naive_change_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        prorate(february_2027(), datetime(2027, 2, 14), monthly(1000, "A"), monthly(2500, "B"))


def test_a_change_cannot_switch_currency() -> None:
    with pytest.raises(ValueError, match="currency"):
        preview_change(february_2027(), utc(2027, 2, 14), monthly(1000, "A"), monthly(2500, "B", "EUR"))


def test_the_current_terms_must_run_on_the_periods_interval() -> None:
    yearly = Terms(amount=1000, currency="USD", interval=YEARLY, description="A")
    with pytest.raises(ValueError, match="interval"):
        prorate(february_2027(), utc(2027, 2, 14), yearly, yearly)


@pytest.mark.parametrize("amount", [-1, True, 10.0])
def test_terms_carry_a_non_negative_int_amount(amount: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        Terms(amount=amount, currency="USD", interval=MONTHLY, description="A")  # type: ignore[arg-type]


@pytest.mark.parametrize(("old", "new", "kind"), [
    (1000, 2500, ChangeKind.UPGRADE), (2500, 1000, ChangeKind.DOWNGRADE), (1000, 1000, ChangeKind.UNCHANGED),
])
def test_change_kind_compares_per_period_amounts(old: int, new: int, kind: ChangeKind) -> None:
    assert change_kind(monthly(old, "A"), monthly(new, "B")) is kind


def test_change_kind_calls_any_interval_change_a_switch_whatever_the_amounts() -> None:
    yearly = Terms(amount=1, currency="USD", interval=YEARLY, description="B")
    assert change_kind(monthly(1000, "A"), yearly) is ChangeKind.INTERVAL_SWITCH
    quarterly = Terms(amount=1000, currency="USD", interval=Interval(unit="month", count=3), description="Q")
    assert change_kind(monthly(1000, "A"), quarterly) is ChangeKind.INTERVAL_SWITCH


# ---- properties --------------------------------------------------------------------------

ZONES = ["UTC", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Australia/Lord_Howe"]
anchors = st.builds(Anchor, st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                                         timezones=st.just(UTC)), st.sampled_from(ZONES))
amounts = st.integers(min_value=0, max_value=10**9)
currencies = st.sampled_from(["USD", "JPY", "KWD"])


@st.composite
def moments(draw: st.DrawFn) -> tuple[Period, datetime]:
    """A period of a monthly or yearly subscription and an instant inside it."""
    anchor, interval = draw(anchors), draw(st.sampled_from([MONTHLY, YEARLY]))
    later = draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2000)))
    period = period_containing(anchor, interval, anchor.instant + later)
    inside = draw(st.timedeltas(min_value=timedelta(0), max_value=period.length - timedelta(microseconds=1)))
    return period, period.start + inside


def half_up(numerator: int, denominator: int) -> int:
    """Round a non-negative rational half up, in integers only: an oracle independent of to_minor."""
    return (2 * numerator + denominator) // (2 * denominator)


@settings(max_examples=200)
@given(moments(), amounts, currencies)
def test_crediting_and_charging_an_unchanged_amount_nets_to_exactly_zero(
        moment: tuple[Period, datetime], amount: int, currency: str) -> None:
    # The bound is 0, not 1: both lines round the same magnitude with a symmetric rule.
    period, at = moment
    terms = Terms(amount=amount, currency=currency, interval=period.interval, description="Same")
    assert sum(line.amount for line in prorate(period, at, terms, terms)) == 0


@settings(max_examples=200)
@given(moments(), amounts, amounts, currencies)
def test_each_line_is_its_exact_value_rounded_once(
        moment: tuple[Period, datetime], old: int, new: int, currency: str) -> None:
    period, at = moment
    share = unused_share(period, at)
    assert 0 < share <= 1
    interval = period.interval
    credit, charge = prorate(period, at, Terms(old, currency, interval, "old"), Terms(new, currency, interval, "new"))
    assert credit.amount == -half_up(old * share.numerator, share.denominator)
    assert charge.amount == half_up(new * share.numerator, share.denominator)


@settings(max_examples=200)
@given(moments(), amounts, amounts, currencies)
def test_the_amount_due_is_within_one_minor_unit_of_the_exact_difference(
        moment: tuple[Period, datetime], old: int, new: int, currency: str) -> None:
    period, at = moment
    interval = period.interval
    lines = prorate(period, at, Terms(old, currency, interval, "old"), Terms(new, currency, interval, "new"))
    exact = (new - old) * unused_share(period, at)
    assert abs(sum(line.amount for line in lines) - exact) <= 1


@settings(max_examples=200)
@given(moments(), amounts, st.integers(min_value=1, max_value=10**6), currencies)
def test_an_upgrade_applies_now_and_never_owes_the_tenant(
        moment: tuple[Period, datetime], old: int, raise_by: int, currency: str) -> None:
    period, at = moment
    change = preview_change(period, at, Terms(old, currency, period.interval, "old"),
                            Terms(old + raise_by, currency, period.interval, "new"))
    assert change.kind is ChangeKind.UPGRADE
    assert change.effective_at == at
    assert change.amount_due >= 0


@settings(max_examples=100)
@given(moments(), amounts, amounts)
def test_an_interval_switch_always_starts_a_full_new_period_at_the_change(
        moment: tuple[Period, datetime], old: int, new: int) -> None:
    period, at = moment
    other = YEARLY if period.interval == MONTHLY else MONTHLY
    change = preview_change(period, at, Terms(old, "USD", period.interval, "old"), Terms(new, "USD", other, "new"))
    assert change.period.start == at
    assert change.period.interval == other
    assert change.period.anchor.timezone == period.anchor.timezone
    assert change.lines[1].amount == new
