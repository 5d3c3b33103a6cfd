"""Worked examples of an invoice's arithmetic, in minor units, and the properties its totals keep."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wrapper.money.invoicing import Discount, PricedLine, TaxRule, total_invoice
from wrapper.money.pricing import PriceSpec, amount_for

VAT_20 = TaxRule("txr_fr", "TVA", Decimal(20), inclusive=False)
VAT_19_INCLUDED = TaxRule("txr_de", "MwSt", Decimal(19), inclusive=True)


def usage_price(**fields: Any) -> PriceSpec:
    return PriceSpec.model_validate({"currency": "USD", "meter": "tokens", **fields})


def line(amount: int, kind: str = "subscription") -> PricedLine:
    return PricedLine(kind=kind, description=kind, amount=amount)  # type: ignore[arg-type]


# ---- usage prices: each model across its edges ------------------------------------------

GRADUATED_WITH_FEES = usage_price(model="graduated", tiers=[
    {"up_to": 1000, "unit_amount": "0", "flat_amount": 500},
    {"up_to": 10000, "unit_amount": "0.5"},
    {"up_to": None, "unit_amount": "0.25", "flat_amount": 1000}])


@pytest.mark.parametrize(("quantity", "minor"), [
    (0, 500),  # the first tier's flat fee is a base fee
    (1000, 500),
    (1001, 501),  # 500 + 0.5, rounded half away from zero
    (10000, 5000),  # 500 + 9000 * 0.5
    (10001, 6000),  # 5000 + 0.25 + the last tier's flat 1000, rounded down
])
def test_graduated_usage_across_tier_edges_with_flat_fees(quantity: int, minor: int) -> None:
    assert amount_for(GRADUATED_WITH_FEES, quantity) == minor


VOLUME = usage_price(model="volume", tiers=[
    {"up_to": 100, "unit_amount": "10"},
    {"up_to": None, "unit_amount": "8", "flat_amount": 200}])


@pytest.mark.parametrize(("quantity", "minor"), [(0, 0), (100, 1000), (101, 1008), (1000, 8200)])
def test_volume_usage_prices_every_unit_at_the_reached_tier_plus_its_flat_fee(quantity: int, minor: int) -> None:
    assert amount_for(VOLUME, quantity) == minor


@pytest.mark.parametrize(("quantity", "minor"), [(0, 0), (1, 200), (1000, 200), (1001, 400), (Decimal("0.5"), 200)])
def test_package_usage_counts_a_partial_block_as_a_whole_one(quantity: int, minor: int) -> None:
    assert amount_for(usage_price(model="package", unit_amount="200", package_size=1000), quantity) == minor


@pytest.mark.parametrize(("unit", "quantity", "minor"), [
    ("0.0125", 1234, 15),  # 15.425 cents
    ("0.0125", 1240, 16),  # 15.5 cents: half away from zero
    ("0.5", Decimal("2.5"), 1),  # 1.25 cents of a decimal quantity (a sum meter)
    ("3", Decimal("0.000001"), 0),
])
def test_decimal_unit_prices_and_quantities_round_once_per_line(unit: str, quantity: Any, minor: int) -> None:
    assert amount_for(usage_price(model="per_unit", unit_amount=unit), quantity) == minor


def test_a_decimal_quantity_is_split_exactly_across_graduated_tiers() -> None:
    price = usage_price(model="graduated", tiers=[{"up_to": 10, "unit_amount": "100"},
                                                  {"up_to": None, "unit_amount": "50"}])
    assert amount_for(price, Decimal("10.5")) == 1025


def test_a_usage_price_names_its_meter_and_refuses_a_bad_code() -> None:
    assert usage_price(model="per_unit", unit_amount="1").meter == "tokens"
    with pytest.raises(ValueError, match="meter"):
        usage_price(model="per_unit", unit_amount="1", meter="Not A Code")


# ---- the order of amounts ---------------------------------------------------------------

def test_no_discount_no_tax_no_credits_is_the_sum_of_the_lines() -> None:
    totals = total_invoice([line(2900), line(1500, "usage")], "USD")
    assert (totals.subtotal, totals.discount, totals.tax, totals.total, totals.amount_due) == (4400, 0, 0, 4400, 4400)
    assert totals.taxes == []


def test_a_percent_coupon_is_spread_over_the_lines_by_largest_remainder_then_taxed_per_line() -> None:
    totals = total_invoice([line(1000), line(333, "usage")], "USD",
                           discount=Discount("TEN", percent_off=Decimal(10)), tax=VAT_20)
    # 10% of 1333 = 133.3 -> 133; shares 99.77 and 33.22 -> 99 + 33, the unit left to the larger remainder.
    assert [r.discount for r in totals.lines] == [100, 33]
    assert [r.tax for r in totals.lines] == [180, 60]  # 20% of 900 and of 300
    assert (totals.subtotal, totals.discount, totals.tax, totals.total) == (1333, 133, 240, 1440)
    [share] = totals.taxes
    assert (share.rate_id, share.taxable_amount, share.amount) == ("txr_fr", 1200, 240)


def test_an_amount_coupon_is_capped_at_the_subtotal_and_leaves_nothing_to_tax() -> None:
    totals = total_invoice([line(2900)], "USD", discount=Discount("BIG", amount_off=5000), tax=VAT_20)
    assert (totals.discount, totals.tax, totals.total, totals.amount_due) == (2900, 0, 0, 0)


def test_inclusive_tax_is_the_share_of_the_price_that_is_tax() -> None:
    totals = total_invoice([line(1190), line(1000, "usage")], "EUR", tax=VAT_19_INCLUDED)
    # 1190 / 1.19 = 1000 -> tax 190; 1000 / 1.19 = 840.34 -> 840 -> tax 160.
    assert [r.tax for r in totals.lines] == [190, 160]
    assert (totals.subtotal, totals.tax, totals.total) == (2190, 350, 2190)


def test_inclusive_tax_after_a_discount() -> None:
    totals = total_invoice([line(1190)], "EUR", discount=Discount("HALF", percent_off=Decimal(50)),
                           tax=VAT_19_INCLUDED)
    # net 595 / 1.19 = 500 -> tax 95; the total includes it.
    assert (totals.discount, totals.tax, totals.total) == (595, 95, 595)


def test_credits_pay_what_they_can_after_tax() -> None:
    assert total_invoice([line(1000)], "USD", tax=VAT_20, credit_balance=500).amount_due == 700
    settled = total_invoice([line(1000)], "USD", tax=VAT_20, credit_balance=5000)
    assert (settled.total, settled.credits_applied, settled.amount_due) == (1200, 1200, 0)


def test_proration_credit_lines_take_no_discount_and_mirror_their_tax() -> None:
    ten_percent = TaxRule("t", "Tax", Decimal(10), inclusive=False)
    totals = total_invoice([line(2000, "proration"), line(-1000, "proration")], "USD",
                           discount=Discount("TEN", percent_off=Decimal(10)), tax=ten_percent)
    # 10% of the subtotal 1000 = 100, all on the positive line; tax 10% of 1900 and of -1000.
    assert [r.discount for r in totals.lines] == [100, 0]
    assert [r.tax for r in totals.lines] == [190, -100]
    assert (totals.total, totals.amount_due) == (990, 990)


def test_a_negative_total_leaves_nothing_due_and_uses_no_credits() -> None:
    totals = total_invoice([line(-500, "proration")], "USD", credit_balance=1000)
    assert (totals.total, totals.credits_applied, totals.amount_due) == (-500, 0, 0)


def test_a_zero_decimal_currency_rounds_in_whole_yen() -> None:
    totals = total_invoice([line(999)], "JPY", discount=Discount("X", percent_off=Decimal("12.5")),
                           tax=TaxRule("jp", "JCT", Decimal(10), False))
    # 12.5% of 999 = 124.875 -> 125; tax 10% of 874 = 87.4 -> 87.
    assert (totals.discount, totals.tax, totals.total) == (125, 87, 961)


def test_a_negative_credit_balance_is_refused() -> None:
    with pytest.raises(ValueError):
        total_invoice([line(1)], "USD", credit_balance=-1)


# ---- properties -------------------------------------------------------------------------

amounts = st.integers(min_value=-1_000_000, max_value=100_000_000)
discounts = st.none() | st.builds(Discount, code=st.just("C"),
                                  percent_off=st.decimals(min_value=Decimal("0.01"), max_value=100, places=2)) | \
    st.builds(Discount, code=st.just("C"), amount_off=st.integers(min_value=1, max_value=10**9))
taxes = st.none() | st.builds(TaxRule, rate_id=st.just("t"), name=st.just("Tax"),
                              percentage=st.decimals(min_value=0, max_value=100, places=3), inclusive=st.booleans())


@given(st.lists(amounts, min_size=1, max_size=12), discounts, taxes, st.integers(min_value=0, max_value=10**9))
def test_totals_are_the_sums_of_the_lines_and_nothing_due_is_negative(
        line_amounts: list[int], discount: Discount | None, tax: TaxRule | None, credits: int) -> None:
    totals = total_invoice([line(a) for a in line_amounts], "USD", discount=discount, tax=tax, credit_balance=credits)
    assert totals.subtotal == sum(line_amounts)
    assert totals.discount == sum(r.discount for r in totals.lines)
    assert 0 <= totals.discount <= max(totals.subtotal, 0)
    assert all(r.discount == 0 for r in totals.lines if r.line.amount <= 0)
    assert totals.tax == sum(r.tax for r in totals.lines)
    exclusive = tax is not None and not tax.inclusive
    assert totals.total == totals.subtotal - totals.discount + (totals.tax if exclusive else 0)
    assert 0 <= totals.credits_applied <= credits
    assert totals.amount_due >= 0
    assert totals.amount_due + totals.credits_applied == max(totals.total, 0)


@given(st.lists(st.integers(min_value=0, max_value=100_000_000), min_size=1, max_size=12), discounts, taxes)
def test_an_invoice_of_charges_never_goes_negative(line_amounts: list[int], discount: Discount | None,
                                                   tax: TaxRule | None) -> None:
    totals = total_invoice([line(a) for a in line_amounts], "USD", discount=discount, tax=tax)
    assert totals.total >= 0
    assert all(r.net >= 0 and r.tax >= 0 for r in totals.lines)
