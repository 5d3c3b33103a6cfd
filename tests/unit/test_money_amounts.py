"""Money: currency exponents, and the one rounding rule (half away from zero)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wrapper.money.amounts import CURRENCY_EXPONENTS, Money, exponent, minor_as_major, to_minor

exact_amounts = st.fractions(max_denominator=10**6).filter(lambda f: abs(f) < 10**9)


@pytest.mark.parametrize(("currency", "places"), [
    ("USD", 2), ("EUR", 2), ("GBP", 2), ("CHF", 2), ("CAD", 2), ("AUD", 2),
    ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3),
])
def test_each_required_currency_has_its_iso_4217_exponent(currency: str, places: int) -> None:
    # Given / When the exponent of a currency is asked for / Then it is ISO 4217's
    assert exponent(currency) == places


def test_a_currency_code_is_read_in_either_case_as_stripe_writes_them_lower_case() -> None:
    # Given / When / Then
    assert exponent("usd") == exponent("USD") == 2
    assert Money(100, "eur").currency == "EUR"


@pytest.mark.parametrize("currency", ["XXX", "US", "", "dollars"])
def test_an_unknown_currency_is_refused_rather_than_guessed(currency: str) -> None:
    # Given / When an unknown code is used / Then it is a ValueError
    with pytest.raises(ValueError, match="unknown currency"):
        to_minor(Decimal("1"), currency)


@pytest.mark.parametrize(("amount", "currency", "minor"), [
    ("12.345", "USD", 1235),     # a tie goes away from zero
    ("12.344", "USD", 1234),
    ("0.005", "USD", 1),
    ("-0.005", "USD", -1),       # and so does a negative tie: credits mirror charges
    ("-12.345", "USD", -1235),
    ("0.0049999", "USD", 0),
    ("100.5", "JPY", 101),       # zero-decimal currency: whole yen
    ("99.4", "KRW", 99),
    ("1.2345", "KWD", 1235),     # three-decimal currency: fils
    ("1.2344", "BHD", 1234),
    ("0", "EUR", 0),
])
def test_to_minor_rounds_half_away_from_zero_into_the_currencys_minor_unit(
        amount: str, currency: str, minor: int) -> None:
    # Given an exact amount in major units / When it is rounded / Then it follows the one rule
    assert to_minor(Decimal(amount), currency) == minor


def test_to_minor_rounds_an_exact_fraction_without_going_through_a_decimal() -> None:
    # Given a third of a dollar and two thirds / When rounded / Then 33 and 67 cents
    assert to_minor(Fraction(1, 3), "USD") == 33
    assert to_minor(Fraction(2, 3), "USD") == 67
    # And a value a hair below a tie stays below it (a Decimal of 28 digits could not say so)
    assert to_minor(Fraction(1, 200) - Fraction(1, 10**40), "USD") == 0


@pytest.mark.parametrize("amount", [0.1, 1.0, True])
def test_floats_and_booleans_are_never_money(amount: object) -> None:
    # Given / When a float reaches the rounding function / Then it is refused
    with pytest.raises(TypeError):
        to_minor(amount, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_decimals_are_refused(amount: str) -> None:
    with pytest.raises(ValueError, match="finite"):
        to_minor(Decimal(amount), "USD")


def test_minor_as_major_shifts_by_the_exponent_exactly() -> None:
    # Given / When / Then
    assert minor_as_major(1999, "USD") == Fraction(1999, 100)
    assert minor_as_major(Decimal("0.0125"), "USD") == Fraction(125, 1_000_000)
    assert minor_as_major(500, "JPY") == 500
    assert minor_as_major(1, "KWD") == Fraction(1, 1000)


def test_money_refuses_to_add_two_currencies() -> None:
    # Given dollars and euros / When added / Then refused
    with pytest.raises(ValueError, match="USD with EUR"):
        Money(100, "USD") + Money(100, "EUR")
    # While same-currency arithmetic is plain integer arithmetic
    assert Money(100, "USD") - Money(250, "usd") == Money(-150, "USD")
    assert -Money(5, "JPY") == Money(-5, "JPY")


def test_money_amounts_are_ints_of_minor_units() -> None:
    with pytest.raises(TypeError):
        Money(Decimal("1.5"), "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "USD")


@given(exact_amounts, st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_rounding_is_symmetric_so_a_credit_mirrors_its_charge(amount: Fraction, currency: str) -> None:
    assert to_minor(-amount, currency) == -to_minor(amount, currency)


@given(exact_amounts, st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_rounding_moves_an_amount_by_at_most_half_a_minor_unit(amount: Fraction, currency: str) -> None:
    # Given any exact amount / When rounded / Then the error is at most half a minor unit,
    # and exactly half only on a tie, which goes away from zero
    scaled = amount * 10 ** exponent(currency)
    error = to_minor(amount, currency) - scaled
    assert abs(error) <= Fraction(1, 2)
    if abs(error) == Fraction(1, 2):
        assert abs(to_minor(amount, currency)) > abs(scaled)


@given(exact_amounts, exact_amounts, st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_rounding_is_monotone_so_inequalities_between_exact_totals_survive_it(
        a: Fraction, b: Fraction, currency: str) -> None:
    low, high = sorted((a, b))
    assert to_minor(low, currency) <= to_minor(high, currency)


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_an_amount_already_in_whole_minor_units_is_unchanged(minor: int, currency: str) -> None:
    assert to_minor(minor_as_major(minor, currency), currency) == minor
