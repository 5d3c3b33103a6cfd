"""Money: integer amounts in a currency's minor unit, and the one rounding rule.

An amount that leaves this layer is an ``int`` of minor units (cents, yen, fils) plus an
ISO 4217 code. Prices may carry more precision than the minor unit (a unit price of
0.0125 cents), and proration multiplies by exact fractions of a period, so the arithmetic
in between is exact (``Fraction``; a ``Decimal`` converts to one without loss) and is
rounded once, per invoice line, by :func:`to_minor`.

The rounding rule: **half away from zero** (ROUND_HALF_UP in ``decimal``'s terms).
- It is the rule a customer checks an invoice with, and the one tax authorities that
  prescribe a rule (EU VAT practice, DIN 1333 "kaufmännisches Runden") ask for.
- It is symmetric, ``to_minor(-x) == -to_minor(x)``, so a credit line is the exact mirror
  of the charge it reverses: crediting and re-charging the same share nets to zero.
- Banker's rounding (half-even) exists to cancel the upward bias of rounding many
  intermediate values; here only one value per line is ever rounded, so that bias does not
  accumulate and the less familiar rule would buy nothing.

Floats are refused everywhere: 0.1 has no exact binary value, and a price must mean
exactly what the operator typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Final

# ISO 4217 minor-unit exponents of the currencies we bill in. A currency not listed is
# refused rather than guessed: guessing 2 for a 0- or 3-decimal currency misprices by 100x.
CURRENCY_EXPONENTS: Final = MappingProxyType({
    "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "NZD": 2, "SEK": 2, "NOK": 2,
    "DKK": 2, "PLN": 2, "CZK": 2, "SGD": 2, "HKD": 2, "MXN": 2, "BRL": 2, "INR": 2, "ZAR": 2,
    "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0,
    "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3,
})


def currency_code(currency: str) -> str:
    """The upper-case ISO 4217 code of a currency we know (Stripe spells them lower-case)."""
    if not isinstance(currency, str):
        raise TypeError(f"a currency is an ISO 4217 code, not {type(currency).__name__}")
    code = currency.upper()
    if code not in CURRENCY_EXPONENTS:
        raise ValueError(f"unknown currency {currency!r}")
    return code


def exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (USD 2, JPY 0, KWD 3)."""
    return CURRENCY_EXPONENTS[currency_code(currency)]


def exact(value: Decimal | Fraction | int) -> Fraction:
    """A number as an exact fraction; floats and non-finite decimals are refused."""
    if isinstance(value, bool | float):
        raise TypeError("money is never a float (or a bool); use int, Decimal or Fraction")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite amount: {value}")
        return Fraction(value)
    if isinstance(value, Fraction | int):
        return Fraction(value)
    raise TypeError(f"not an amount: {type(value).__name__}")


def minor_as_major(amount: Decimal | Fraction | int, currency: str) -> Fraction:
    """An exact amount counted in minor units, expressed in major units (no rounding)."""
    return exact(amount) / 10 ** exponent(currency)


def to_minor(amount: Decimal | Fraction, currency: str) -> int:
    """Round an exact amount in the currency's MAJOR unit to whole minor units.

    The one rounding function: half away from zero (see the module docstring).
    ``to_minor(Decimal("12.345"), "USD") == 1235``; ``to_minor(Decimal("-0.005"), "USD") == -1``.
    """
    scaled = exact(amount) * 10 ** exponent(currency)
    magnitude = abs(scaled)
    rounded = int(magnitude + Fraction(1, 2))  # int() truncates a non-negative value: floor
    return rounded if scaled >= 0 else -rounded


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency; arithmetic refuses to mix currencies."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("a Money amount is an int of minor units")
        object.__setattr__(self, "currency", currency_code(self.currency))

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same_currency(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def _same_currency(self, other: Money) -> Money:
        if not isinstance(other, Money):
            raise TypeError("Money combines only with Money")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")
        return other
