"""Prices and what a quantity costs under them, with Stripe's semantics as the reference.

Units: ``flat_amount`` is an ``int`` of minor units; ``unit_amount`` is a ``Decimal`` of
minor units that may carry up to 12 decimal places (Stripe's ``unit_amount_decimal``:
"0.0125" USD is an eighth of a cent). JSON numbers with a fraction arrive as floats and are
refused: send decimals as strings.

Models (``quantity`` is the number of units: seats, API calls…):
- ``flat``: ``flat_amount`` per period; the quantity is ignored.
- ``per_unit``: ``unit_amount * quantity``.
- ``package``: ``unit_amount`` per block of ``package_size`` units; a partial block costs a
  whole one (Stripe's ``transform_quantity`` with ``round: up``). Zero units cost nothing.
- ``graduated``: each unit is priced by the tier it falls in; each tier reached adds its
  ``flat_amount`` once. The first tier is always reached (a quantity of 0 lies in it), so
  its flat amount is a base fee charged even with no usage, as in Stripe's "flat fee and
  overage" pattern; a later tier is reached when at least one unit falls in it.
- ``volume``: every unit is priced by the tier the total quantity falls in, plus that
  tier's ``flat_amount``. The total can fall when the quantity crosses into a cheaper tier.

Tier ``up_to`` bounds are inclusive, strictly increasing, and the last tier is unbounded
(``up_to: null``, Stripe's ``inf``). Tier ``n`` covers ``(up_to[n-1], up_to[n]]``.

Graduated versus volume (what the property tests hold):
- within the first tier they are equal;
- when unit amounts never rise from one tier to the next (volume discounts) and flat
  amounts are non-negative, graduated ≥ volume: volume prices every unit at the reached
  tier's rate, the lowest so far, and charges one flat amount where graduated charges it
  among others;
- when unit amounts never fall and no tier has a flat amount, graduated ≤ volume.

The total is computed exactly and rounded once with :func:`wrapper.money.amounts.to_minor`.

Usage prices: a spec that names a ``meter`` prices the meter's value for a billing period, in
arrears (the subscription fee is billed in advance). Its quantity may have decimals (a ``sum``
meter of gigabytes): every model takes it exactly, a package still counts partial blocks as whole
ones, and a tier holds the quantities up to and including its ``up_to``.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, TypeVar

from pydantic import ConfigDict, Field, StrictInt, field_validator, model_validator

from wrapper.kernel.model import Model
from wrapper.money.amounts import currency_code, exact, minor_as_major, to_minor

Quantity = int | Decimal | Fraction

_T = TypeVar("_T")

PricingModel = Literal["flat", "per_unit", "graduated", "volume", "package"]

# Stripe's limit for unit_amount_decimal, and a ceiling that keeps a price a price.
_UNIT_AMOUNT_FIELD = Field(default=None, ge=0, le=10**12, decimal_places=12)


def _refuse_float(value: Any) -> Any:
    if isinstance(value, float | bool):
        raise ValueError("must be a decimal string or an integer, not a float or a boolean")
    return value


class Tier(Model):
    """One tier of a graduated or volume price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    up_to: StrictInt | None = Field(default=None, ge=1,
                                    description="Last quantity in the tier (inclusive); null for the last tier.")
    unit_amount: Decimal | None = _UNIT_AMOUNT_FIELD
    flat_amount: StrictInt | None = Field(default=None, ge=0, description="Minor units, once per tier reached.")

    _unit_amount_is_exact = field_validator("unit_amount", mode="before")(_refuse_float)

    @model_validator(mode="after")
    def _prices_something(self) -> Tier:
        if self.unit_amount is None and self.flat_amount is None:
            raise ValueError("a tier needs a unit_amount, a flat_amount, or both")
        return self

    @property
    def unit(self) -> Fraction:
        return exact(self.unit_amount) if self.unit_amount is not None else Fraction(0)

    @property
    def flat(self) -> int:
        return self.flat_amount or 0


# Which optional fields each model needs (True), allows (False) or refuses (absent).
_FIELDS: dict[str, dict[str, bool]] = {
    "flat": {"flat_amount": True},
    "per_unit": {"unit_amount": True},
    "package": {"unit_amount": True, "package_size": True},
    "graduated": {"tiers": True},
    "volume": {"tiers": True},
}


class PriceSpec(Model):
    """How a price turns a quantity into an amount for one billing period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: PricingModel
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code; stored upper-case.")
    unit_amount: Decimal | None = _UNIT_AMOUNT_FIELD
    flat_amount: StrictInt | None = Field(default=None, ge=0)
    tiers: list[Tier] | None = Field(default=None, min_length=1, max_length=50)
    package_size: StrictInt | None = Field(default=None, ge=1)
    meter: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]{0,47}$",
                              description="A usage price: the meter whose value per period is the quantity")

    _unit_amount_is_exact = field_validator("unit_amount", mode="before")(_refuse_float)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        return currency_code(value)

    @model_validator(mode="after")
    def _consistent(self) -> PriceSpec:
        wanted = _FIELDS[self.model]
        for name in ("unit_amount", "flat_amount", "tiers", "package_size"):
            given = getattr(self, name) is not None
            if given and name not in wanted:
                raise ValueError(f"{name} does not apply to the {self.model} model")
            if not given and wanted.get(name):
                raise ValueError(f"the {self.model} model needs {name}")
        if self.tiers is not None:
            _check_tiers(self.tiers)
        return self


def _check_tiers(tiers: list[Tier]) -> None:
    *bounded, last = tiers
    if last.up_to is not None:
        raise ValueError("the last tier must be unbounded (up_to: null)")
    previous = 0
    for position, tier in enumerate(bounded, start=1):
        if tier.up_to is None:
            raise ValueError(f"only the last tier may be unbounded; tier {position} is not last")
        if tier.up_to <= previous:
            raise ValueError(f"tier up_to values must increase strictly; tier {position} has {tier.up_to} "
                             f"after {previous}")
        previous = tier.up_to


def amount_for(spec: PriceSpec, quantity: Quantity) -> int:
    """What ``quantity`` units cost for one period, in minor units, rounded once."""
    return to_minor(minor_as_major(exact_amount_for(spec, quantity), spec.currency), spec.currency)


def exact_amount_for(spec: PriceSpec, units: Quantity) -> Fraction:
    """The unrounded amount in minor units; proration scales this before its one rounding."""
    if isinstance(units, bool) or not isinstance(units, int | Decimal | Fraction):
        raise TypeError("a quantity is an int, a Decimal or a Fraction")
    quantity = exact(units)
    if quantity < 0:
        raise ValueError(f"a quantity cannot be negative: {units}")
    match spec.model:
        case "flat":
            return Fraction(spec.flat_amount or 0)
        case "per_unit":
            return exact(_required(spec.unit_amount)) * quantity
        case "package":
            blocks = -(-quantity // _required(spec.package_size))  # a partial block is a whole one
            return exact(_required(spec.unit_amount)) * blocks
        case "graduated":
            return _graduated(_required(spec.tiers), quantity)
        case "volume":
            return _volume(_required(spec.tiers), quantity)
    raise AssertionError(f"unhandled pricing model {spec.model}")  # pragma: no cover


def _graduated(tiers: list[Tier], quantity: Fraction) -> Fraction:
    total = Fraction(0)
    floor: int = 0
    for position, tier in enumerate(tiers):
        ceiling = quantity if tier.up_to is None else min(quantity, Fraction(tier.up_to))
        units = max(Fraction(0), ceiling - floor)
        if position > 0 and units == 0:
            break
        total += tier.unit * units + tier.flat
        if tier.up_to is None or quantity <= tier.up_to:
            break
        floor = tier.up_to
    return total


def _volume(tiers: list[Tier], quantity: Fraction) -> Fraction:
    tier = next(t for t in tiers if t.up_to is None or quantity <= t.up_to)
    return tier.unit * quantity + tier.flat


def _required(value: _T | None) -> _T:
    if value is None:  # pragma: no cover - PriceSpec validation guarantees presence
        raise AssertionError("a validated PriceSpec lacks a field its model needs")
    return value
