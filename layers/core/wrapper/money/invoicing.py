"""An invoice's arithmetic: from priced lines to the amount due, in one fixed order.

Every amount is an ``int`` of minor units. Each line's amount was rounded once when it was priced
(:func:`wrapper.money.pricing.amount_for`); each later step rounds once per line, half away from zero
(:func:`wrapper.money.amounts.to_minor`), so the totals are always the sums of the lines:

1. **Lines.** ``subtotal`` is the sum of the line amounts. A line may be negative (the unused part of a
   period credited by a mid-period change).
2. **Discount.** A coupon takes a percentage of the subtotal (rounded once) or a fixed amount, capped at
   the subtotal, so it never makes an invoice negative. It is spread over the positive lines in
   proportion to their amounts, largest remainder first, so that each line is taxed on what the
   customer pays for it.
3. **Tax.** Per line, on its amount after discount: an exclusive rate adds ``rate * net``; an inclusive
   rate is the share of the net that is tax, ``net - net / (1 + rate)``, and adds nothing. The breakdown
   lists each rate with its taxable amount and its tax.
4. **Credits.** A balance the customer holds, in minor units, pays what it can of the total.
5. **Amount due.** The total less the credits applied; never negative. A negative total (credits of a
   change worth more than its charges) is due to no one here: the invoice's amount due is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from wrapper.money.amounts import exact, minor_as_major, to_minor

LineKind = Literal["subscription", "seats", "addon", "usage", "proration", "late_usage", "credits"]


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A line as priced: its kind, what it is, how many units, and their amount (rounded once)."""

    kind: LineKind
    description: str
    amount: int
    quantity: int | Decimal = 1
    meter: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    # The catalog price the amount came from, so that a usage line can be priced again (verify).
    price_id: str | None = None


@dataclass(frozen=True, slots=True)
class Discount:
    """A coupon's terms for one invoice: ``percent_off`` (0 to 100) or ``amount_off`` in minor units."""

    code: str
    percent_off: Decimal | None = None
    amount_off: int | None = None


@dataclass(frozen=True, slots=True)
class TaxRule:
    """The tax rate that applies to the customer (by the country and region of its billing address)."""

    rate_id: str
    name: str
    percentage: Decimal
    inclusive: bool


@dataclass(frozen=True, slots=True)
class RatedLine:
    line: PricedLine
    discount: int
    tax: int

    @property
    def net(self) -> int:
        """What the line comes to after its share of the discount, before exclusive tax."""
        return self.line.amount - self.discount


@dataclass(frozen=True, slots=True)
class TaxShare:
    rate_id: str
    name: str
    percentage: Decimal
    inclusive: bool
    taxable_amount: int
    amount: int


@dataclass(frozen=True, slots=True)
class Totals:
    currency: str
    lines: list[RatedLine]
    subtotal: int
    discount: int
    tax: int
    total: int
    credits_applied: int
    amount_due: int
    taxes: list[TaxShare] = field(default_factory=list)


def total_invoice(lines: Sequence[PricedLine], currency: str, *, discount: Discount | None = None,
                  tax: TaxRule | None = None, credit_balance: int = 0) -> Totals:
    """The invoice's lines rated and its totals, in the order of the module docstring."""
    if credit_balance < 0:
        raise ValueError("a credit balance cannot be negative")
    subtotal = sum(line.amount for line in lines)
    shares = _spread(_discount_amount(discount, subtotal, currency), [line.amount for line in lines])
    rated = [RatedLine(line, share, _tax(line.amount - share, tax, currency)) for line, share in zip(lines, shares,
                                                                                                    strict=True)]
    total_tax = sum(r.tax for r in rated)
    off = sum(shares)
    total = subtotal - off + (0 if tax is None or tax.inclusive else total_tax)
    credits_applied = min(credit_balance, max(total, 0))
    taxes = [] if tax is None else [TaxShare(tax.rate_id, tax.name, tax.percentage, tax.inclusive,
                                             sum(r.net for r in rated), total_tax)]
    return Totals(currency=currency, lines=rated, subtotal=subtotal, discount=off, tax=total_tax, total=total,
                  credits_applied=credits_applied, amount_due=max(total - credits_applied, 0), taxes=taxes)


def _discount_amount(discount: Discount | None, subtotal: int, currency: str) -> int:
    if discount is None or subtotal <= 0:
        return 0
    if discount.percent_off is not None:
        off = to_minor(minor_as_major(subtotal, currency) * exact(discount.percent_off) / 100, currency)
    else:
        off = discount.amount_off or 0
    return min(off, subtotal)


def _spread(amount: int, weights: list[int]) -> list[int]:
    """``amount`` shared over the positive weights in proportion, in whole units, summing exactly to it:
    each share is rounded down, and the units left go to the largest remainders (the earlier line first)."""
    positive = sum(w for w in weights if w > 0)
    if amount == 0 or positive == 0:
        return [0] * len(weights)
    exact_shares = [Fraction(amount * w, positive) if w > 0 else Fraction(0) for w in weights]
    shares = [int(s) for s in exact_shares]
    left = amount - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact_shares[i] - shares[i]), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


def _tax(net: int, tax: TaxRule | None, currency: str) -> int:
    if tax is None or net == 0:
        return 0
    rate = exact(tax.percentage) / 100
    if tax.inclusive:
        return net - to_minor(minor_as_major(net, currency) / (1 + rate), currency)
    return to_minor(minor_as_major(net, currency) * rate, currency)
