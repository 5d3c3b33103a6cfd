"""Pricing models: worked examples (Stripe's own), strict specs, and Hypothesis properties."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from wrapper.money.amounts import to_minor
from wrapper.money.pricing import PriceSpec, Tier, amount_for

# Stripe's tiered-pricing page (Typographic fonts): 1-5 at 7 USD, 6-10 at 6.50, 11+ at 6.
FONT_TIERS: list[dict[str, Any]] = [
    {"up_to": 5, "unit_amount": "700"},
    {"up_to": 10, "unit_amount": "650"},
    {"up_to": None, "unit_amount": "600"},
]


def spec(**fields: Any) -> PriceSpec:
    return PriceSpec.model_validate({"currency": "USD", **fields})


# ---- worked examples ---------------------------------------------------------------------

@pytest.mark.parametrize(("quantity", "volume", "graduated"), [
    (1, 700, 700),
    (5, 3500, 3500),
    (6, 3900, 4150),     # volume: 6 x 6.50; graduated: 5 x 7 + 1 x 6.50
    (10, 6500, 6750),
    (11, 6600, 7350),
    (20, 12000, 12750),  # graduated: 35 + 32.50 + 10 x 6
    (25, 15000, 15750),
])
def test_stripes_font_example_prices_volume_and_graduated_as_its_docs_do(
        quantity: int, volume: int, graduated: int) -> None:
    # Given Stripe's documented tiers / When priced both ways / Then the documented totals
    assert amount_for(spec(model="volume", tiers=FONT_TIERS), quantity) == volume
    assert amount_for(spec(model="graduated", tiers=FONT_TIERS), quantity) == graduated


def test_flat_ignores_the_quantity() -> None:
    price = spec(model="flat", flat_amount=4900)
    assert [amount_for(price, q) for q in (0, 1, 1000)] == [4900, 4900, 4900]


def test_per_unit_multiplies_and_rounds_the_line_once() -> None:
    # Given 0.4 cents per call / When 10 calls are priced
    price = spec(model="per_unit", unit_amount="0.4")
    # Then 4 cents: rounding each call first would have made it 0
    assert amount_for(price, 10) == 4
    assert amount_for(price, 1) == 0
    assert amount_for(spec(model="per_unit", unit_amount="1250"), 3) == 3750


def test_package_rounds_a_partial_block_up_and_zero_units_cost_nothing() -> None:
    # Given 5 USD per block of 100 emails
    price = spec(model="package", unit_amount="500", package_size=100)
    # Then
    assert [amount_for(price, q) for q in (0, 1, 100, 101, 250)] == [0, 500, 500, 1000, 1500]


def test_graduated_flat_amounts_are_charged_once_per_tier_reached_and_the_first_always() -> None:
    # Given a 20 USD base fee covering 1,000 calls, then 0.1 cent a call plus 5 USD to enter tier 2
    price = spec(model="graduated", tiers=[
        {"up_to": 1000, "flat_amount": 2000},
        {"unit_amount": "0.1", "flat_amount": 500},
    ])
    # Then the base fee is due with no usage, tier 2's fee from its first call
    assert amount_for(price, 0) == 2000
    assert amount_for(price, 1000) == 2000
    assert amount_for(price, 1001) == 2500        # 20 + 5 + 0.001 -> 2500.1 cents -> 2500
    assert amount_for(price, 6000) == 2000 + 500 + 500


def test_volume_charges_only_the_reached_tiers_flat_amount() -> None:
    price = spec(model="volume", tiers=[
        {"up_to": 10, "unit_amount": "100", "flat_amount": 1000},
        {"unit_amount": "80", "flat_amount": 3000},
    ])
    assert amount_for(price, 0) == 1000
    assert amount_for(price, 10) == 2000
    assert amount_for(price, 11) == 3880


def test_a_graduated_total_is_rounded_once_not_per_tier() -> None:
    # Given two tiers at half a cent each / When one unit falls in each
    price = spec(model="graduated", tiers=[{"up_to": 1, "unit_amount": "0.5"}, {"unit_amount": "0.5"}])
    # Then 1 cent: rounding each tier's half cent first would have made it 2
    assert amount_for(price, 2) == 1


@pytest.mark.parametrize(("currency", "unit", "quantity", "minor"), [
    ("JPY", "12.5", 3, 38),      # 37.5 yen -> 38
    ("KWD", "0.0005", 1000, 1),  # 0.5 fils -> 1
])
def test_zero_and_three_decimal_currencies_round_in_their_own_minor_unit(
        currency: str, unit: str, quantity: int, minor: int) -> None:
    price = PriceSpec(model="per_unit", currency=currency, unit_amount=Decimal(unit))
    assert amount_for(price, quantity) == minor


@pytest.mark.parametrize("quantity", [-1, -100])
def test_a_negative_quantity_is_a_value_error(quantity: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        amount_for(spec(model="per_unit", unit_amount="1"), quantity)


@pytest.mark.parametrize("quantity", [1.0, True, "3"])
def test_a_quantity_that_is_not_an_exact_number_is_refused(quantity: object) -> None:
    with pytest.raises(TypeError):
        amount_for(spec(model="per_unit", unit_amount="1"), quantity)  # type: ignore[arg-type]


# ---- strict specs ------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "message"), [
    ({"model": "flat"}, "needs flat_amount"),
    ({"model": "flat", "flat_amount": 100, "unit_amount": "1"}, "unit_amount does not apply"),
    ({"model": "per_unit"}, "needs unit_amount"),
    ({"model": "per_unit", "unit_amount": "1", "tiers": FONT_TIERS}, "tiers does not apply"),
    ({"model": "package", "unit_amount": "500"}, "needs package_size"),
    ({"model": "package", "unit_amount": "500", "package_size": 0}, "greater than or equal to 1"),
    ({"model": "graduated"}, "needs tiers"),
    ({"model": "graduated", "tiers": []}, "at least 1"),
    ({"model": "volume", "tiers": FONT_TIERS, "flat_amount": 5}, "flat_amount does not apply"),
    ({"model": "volume", "tiers": [{"up_to": 5, "unit_amount": "1"}]}, "last tier must be unbounded"),
    ({"model": "volume", "tiers": [{"unit_amount": "1"}, {"unit_amount": "2"}]}, "only the last tier"),
    ({"model": "graduated", "tiers": [{"up_to": 5, "unit_amount": "1"}, {"up_to": 5, "unit_amount": "1"},
                                      {"unit_amount": "1"}]}, "increase strictly"),
    ({"model": "graduated", "tiers": [{"up_to": 9, "unit_amount": "1"}, {"up_to": 3, "unit_amount": "1"},
                                      {"unit_amount": "1"}]}, "increase strictly"),
    ({"model": "graduated", "tiers": [{"up_to": 0, "unit_amount": "1"}, {"unit_amount": "1"}]},
     "greater than or equal to 1"),
    ({"model": "graduated", "tiers": [{"up_to": 3}, {"unit_amount": "1"}]}, "unit_amount, a flat_amount, or both"),
    ({"model": "per_unit", "unit_amount": 0.1}, "not a float"),
    ({"model": "per_unit", "unit_amount": True}, "not a float or a boolean"),
    ({"model": "per_unit", "unit_amount": "-1"}, "greater than or equal to 0"),
    ({"model": "per_unit", "unit_amount": "NaN"}, "finite"),
    ({"model": "per_unit", "unit_amount": "0.0000000000001"}, "12 decimal places"),
    ({"model": "per_unit", "unit_amount": "ten"}, "valid decimal"),
    ({"model": "flat", "flat_amount": -1}, "greater than or equal to 0"),
    ({"model": "flat", "flat_amount": "100"}, "valid integer"),
    ({"model": "flat", "flat_amount": 10.0}, "valid integer"),
    ({"model": "flat", "flat_amount": 100, "discount": 5}, "Extra inputs are not permitted"),
    ({"model": "graduated", "tiers": [{"unit_amount": "1", "color": "red"}]}, "Extra inputs are not permitted"),
    ({"model": "tiered", "flat_amount": 100}, "Input should be 'flat'"),
    ({"model": "flat", "flat_amount": 100, "currency": "XYZ"}, "unknown currency"),
    ({"flat_amount": 100}, "Field required"),
])
def test_an_inconsistent_or_loosely_typed_spec_is_refused_with_a_clear_message(
        fields: dict[str, Any], message: str) -> None:
    # Given / When a spec is validated from JSON-shaped input
    with pytest.raises(ValidationError) as refused:
        spec(**fields)
    # Then it is refused, saying why
    assert message.lower() in str(refused.value).lower()


def test_a_valid_spec_normalises_the_currency_and_keeps_exact_decimals() -> None:
    price = spec(model="per_unit", currency="eur", unit_amount="0.012500000001")
    assert price.currency == "EUR"
    assert price.unit_amount == Decimal("0.012500000001")


def test_a_spec_is_immutable_once_validated() -> None:
    price = spec(model="flat", flat_amount=100)
    with pytest.raises(ValidationError):
        price.flat_amount = 200


# ---- properties --------------------------------------------------------------------------

unit_amounts = st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False, allow_infinity=False)
flat_amounts = st.one_of(st.none(), st.integers(min_value=0, max_value=100_000))


@st.composite
def tier_lists(draw: st.DrawFn, *, rates: str = "any", flats: bool = True) -> list[Tier]:
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=200), max_size=4)))
    units = draw(st.lists(unit_amounts, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    if rates == "falling":
        units.sort(reverse=True)
    elif rates == "rising":
        units.sort()
    tiers = []
    for up_to, unit in zip([*bounds, None], units, strict=True):
        flat = draw(flat_amounts) if flats else None
        tiers.append(Tier(up_to=up_to, unit_amount=unit, flat_amount=flat))
    return tiers


def graduated_by_hand(tiers: list[Tier], quantity: int) -> Fraction:
    """Walk unit by unit: each unit at its own tier's rate, each tier's flat fee when entered."""
    total = Fraction(tiers[0].flat_amount or 0)  # the first tier is reached even by 0 units
    lower = 0
    for position, tier in enumerate(tiers):
        upper = tier.up_to if tier.up_to is not None else quantity
        for _unit in range(lower + 1, min(upper, quantity) + 1):
            if position > 0 and _unit == lower + 1:
                total += tier.flat_amount or 0
            total += Fraction(tier.unit_amount or 0)
        if tier.up_to is None:
            break
        lower = tier.up_to
    return total


def volume_by_hand(tiers: list[Tier], quantity: int) -> Fraction:
    lower = 0
    for tier in tiers:
        if tier.up_to is None or lower <= quantity <= tier.up_to:
            return Fraction(tier.unit_amount or 0) * quantity + (tier.flat_amount or 0)
        lower = tier.up_to + 1
    raise AssertionError("no tier")


def cents(exact_minor: Fraction) -> int:
    return to_minor(exact_minor / 100, "USD")


def boundaries(tiers: list[Tier]) -> list[int]:
    return [0, *(q for t in tiers if t.up_to is not None for q in (t.up_to, t.up_to + 1))]


@settings(max_examples=150)
@given(tier_lists())
def test_graduated_totals_at_every_tier_boundary_equal_the_unit_by_unit_hand_sum(tiers: list[Tier]) -> None:
    price = PriceSpec(model="graduated", currency="USD", tiers=tiers)
    for quantity in boundaries(tiers):
        assert amount_for(price, quantity) == cents(graduated_by_hand(tiers, quantity)), quantity


@settings(max_examples=150)
@given(tier_lists())
def test_volume_totals_at_every_tier_boundary_equal_the_hand_sum(tiers: list[Tier]) -> None:
    price = PriceSpec(model="volume", currency="USD", tiers=tiers)
    for quantity in boundaries(tiers):
        assert amount_for(price, quantity) == cents(volume_by_hand(tiers, quantity)), quantity


@given(tier_lists(), st.integers(min_value=0, max_value=400))
def test_graduated_equals_volume_inside_the_first_tier(tiers: list[Tier], quantity: int) -> None:
    first = tiers[0].up_to
    quantity = quantity if first is None else quantity % (first + 1)
    graduated = PriceSpec(model="graduated", currency="USD", tiers=tiers)
    volume = PriceSpec(model="volume", currency="USD", tiers=tiers)
    assert amount_for(graduated, quantity) == amount_for(volume, quantity)


@given(tier_lists(rates="falling"), st.integers(min_value=0, max_value=400))
def test_with_falling_unit_rates_graduated_is_never_below_volume(tiers: list[Tier], quantity: int) -> None:
    graduated = PriceSpec(model="graduated", currency="USD", tiers=tiers)
    volume = PriceSpec(model="volume", currency="USD", tiers=tiers)
    assert amount_for(graduated, quantity) >= amount_for(volume, quantity)


@given(tier_lists(rates="rising", flats=False), st.integers(min_value=0, max_value=400))
def test_with_rising_unit_rates_and_no_flat_fees_graduated_is_never_above_volume(
        tiers: list[Tier], quantity: int) -> None:
    graduated = PriceSpec(model="graduated", currency="USD", tiers=tiers)
    volume = PriceSpec(model="volume", currency="USD", tiers=tiers)
    assert amount_for(graduated, quantity) <= amount_for(volume, quantity)


@st.composite
def any_spec(draw: st.DrawFn, models: tuple[str, ...] = ("flat", "per_unit", "graduated", "volume", "package"),
             ) -> PriceSpec:
    model = draw(st.sampled_from(models))
    currency = draw(st.sampled_from(["USD", "JPY", "KWD"]))
    match model:
        case "flat":
            return PriceSpec(model="flat", currency=currency, flat_amount=draw(st.integers(0, 10**6)))
        case "per_unit":
            return PriceSpec(model="per_unit", currency=currency, unit_amount=draw(unit_amounts))
        case "package":
            return PriceSpec(model="package", currency=currency, unit_amount=draw(unit_amounts),
                             package_size=draw(st.integers(1, 50)))
    return PriceSpec.model_validate({"model": model, "currency": currency, "tiers": draw(tier_lists())})


@given(any_spec(), st.integers(min_value=0, max_value=10_000))
def test_a_total_is_never_negative(price: PriceSpec, quantity: int) -> None:
    assert amount_for(price, quantity) >= 0


@given(any_spec(models=("flat", "per_unit", "graduated", "package")), st.integers(min_value=0, max_value=5_000))
def test_amount_is_non_decreasing_in_quantity_except_for_volume(price: PriceSpec, quantity: int) -> None:
    # Volume is left out on purpose: crossing into a cheaper tier can lower the total.
    assert amount_for(price, quantity) <= amount_for(price, quantity + 1)


@given(unit_amounts, st.integers(min_value=0, max_value=10**6))
def test_per_unit_is_the_exact_product_rounded_once(unit: Decimal, quantity: int) -> None:
    price = PriceSpec(model="per_unit", currency="USD", unit_amount=unit)
    assert amount_for(price, quantity) == cents(Fraction(unit) * quantity)


@given(unit_amounts, st.integers(1, 50), st.integers(min_value=0, max_value=10**4))
def test_package_is_whole_blocks_at_the_block_price(unit: Decimal, size: int, quantity: int) -> None:
    price = PriceSpec(model="package", currency="USD", unit_amount=unit, package_size=size)
    blocks = quantity // size + (1 if quantity % size else 0)
    assert amount_for(price, quantity) == cents(Fraction(unit) * blocks)
