"""Plan, price and seat changes inside a billing period, and what they cost now.

Proration: at an instant ``at`` inside the current period, the unused share of the period is
``share = (end - at) / (end - start)``, an exact fraction of microseconds. The old terms are
credited for that share (a negative line) and the new terms charged for it; each line is
its exact value rounded once (:func:`wrapper.money.amounts.to_minor`), and the amount due
is the sum of the lines. It may be negative: a credit is shown, never hidden, and the
caller decides whether it becomes a balance or a refund.

Because the rounding rule is symmetric, crediting and charging the same amount for the
same share nets to exactly 0; for different amounts, the amount due is within 1 minor unit
(two half-unit roundings) of the exact ``(new - old) * share``.

When a change takes effect (:func:`preview_change`):
- same interval, the per-period amount rises (upgrade, more seats): now, prorated;
- same interval, the amount falls (downgrade, fewer seats): at the end of the period, with
  no proration — the tenant keeps what it paid for until then;
- same amount: nothing to do;
- the interval changes (month ↔ year): now, and a new period starts at the change instant
  (the new anchor, same timezone). The unused share of the old period is credited and the
  full new period charged. This is what Stripe does when a price's interval changes; it
  avoids prorating a yearly price over a monthly period (or the reverse), which has no
  meaning a customer could check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from wrapper.money.amounts import Money, currency_code, minor_as_major, to_minor
from wrapper.money.periods import Anchor, Interval, Period, first_period, next_period, require_aware

_MICROSECOND = timedelta(microseconds=1)


class ChangeKind(StrEnum):
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    UNCHANGED = "unchanged"
    INTERVAL_SWITCH = "interval_switch"


@dataclass(frozen=True, slots=True)
class Terms:
    """What a subscription pays per period: ``amount_for(price, quantity)`` and its interval."""

    amount: int
    currency: str
    interval: Interval
    description: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("terms carry an int amount of minor units")
        if self.amount < 0:
            raise ValueError("a per-period amount cannot be negative")
        object.__setattr__(self, "currency", currency_code(self.currency))


@dataclass(frozen=True, slots=True)
class Line:
    description: str
    amount: int  # minor units; a credit is negative


@dataclass(frozen=True, slots=True)
class Change:
    """What a change does: when it applies, the lines it bills now, and the period after it."""

    kind: ChangeKind
    effective_at: datetime
    lines: tuple[Line, ...]
    currency: str
    period: Period  # the period the new terms run in from ``effective_at``

    @property
    def amount_due(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def total(self) -> Money:
        return Money(self.amount_due, self.currency)


def change_kind(old: Terms, new: Terms) -> ChangeKind:
    """Classify a change by its per-period amounts, or as an interval switch."""
    if old.interval != new.interval:
        return ChangeKind.INTERVAL_SWITCH
    if new.amount > old.amount:
        return ChangeKind.UPGRADE
    if new.amount < old.amount:
        return ChangeKind.DOWNGRADE
    return ChangeKind.UNCHANGED


def unused_share(period: Period, at: datetime) -> Fraction:
    """The exact fraction of ``period`` still ahead at ``at`` (1 at its start, never 0)."""
    at = _inside(period, at)
    remaining = (period.end - at) // _MICROSECOND
    return Fraction(remaining, period.length // _MICROSECOND)


def prorate(period: Period, at: datetime, old: Terms, new: Terms) -> tuple[Line, ...]:
    """Credit the unused share of ``old`` and charge that share of ``new``, whichever is larger.

    Used as is for upgrades and seat additions, and by a caller that chooses to apply a
    downgrade now (its credit exceeds its charge, and the amount due is negative).
    """
    currency = _same_currency(old, new)
    _runs_in(period, old)
    share = unused_share(period, at)
    return (
        Line(f"Unused time on {old.description}", -_share_of(old.amount, share, currency)),
        Line(f"Remaining time on {new.description}", _share_of(new.amount, share, currency)),
    )


def preview_change(period: Period, at: datetime, old: Terms, new: Terms) -> Change:
    """What changing from ``old`` to ``new`` at ``at`` (inside ``period``) bills and when."""
    currency = _same_currency(old, new)
    _runs_in(period, old)
    at = _inside(period, at)
    kind = change_kind(old, new)
    match kind:
        case ChangeKind.UPGRADE:
            return Change(kind, at, prorate(period, at, old, new), currency, period)
        case ChangeKind.DOWNGRADE:
            return Change(kind, period.end, (), currency, next_period(period))
        case ChangeKind.UNCHANGED:
            return Change(kind, at, (), currency, period)
        case ChangeKind.INTERVAL_SWITCH:
            credit = Line(f"Unused time on {old.description}",
                          -_share_of(old.amount, unused_share(period, at), currency))
            charge = Line(new.description, new.amount)
            fresh = first_period(Anchor(at, period.anchor.timezone), new.interval)
            return Change(kind, at, (credit, charge), currency, fresh)
    raise AssertionError(f"unhandled change kind {kind}")  # pragma: no cover


def _share_of(amount: int, share: Fraction, currency: str) -> int:
    # The line's one rounding: everything before it is exact.
    return to_minor(minor_as_major(amount, currency) * share, currency)


def _inside(period: Period, at: datetime) -> datetime:
    at = require_aware(at, "change instant").astimezone(UTC)
    if at not in period:
        raise ValueError(f"the change instant {at.isoformat()} is outside the period "
                         f"[{period.start.isoformat()}, {period.end.isoformat()})")
    return at


def _runs_in(period: Period, old: Terms) -> None:
    if old.interval != period.interval:
        raise ValueError("the current terms' interval is not the period's interval")


def _same_currency(old: Terms, new: Terms) -> str:
    if old.currency != new.currency:
        raise ValueError(f"a change cannot switch currency ({old.currency} to {new.currency})")
    return old.currency
