"""Exact stored quantities as JSON numbers."""

from __future__ import annotations

from decimal import Decimal

Number = int | float


def as_number(value: Decimal | int) -> Number:
    """A JSON number for an exact stored value (integral values stay integers)."""
    if isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else float(value)
