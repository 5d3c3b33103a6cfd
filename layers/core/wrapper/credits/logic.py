"""The wallet's arithmetic, without storage: expiry, grants (which repay an overdraft first) and
consumption in spending order. Every change answers the new state and the ledger movements that
explain it, so that the balance moves by exactly the sum of the movements."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

QUANTUM = Decimal("0.000001")  # credits are kept to six decimals; a cost is rounded once, half to even
ZERO = Decimal(0)
_NEVER = datetime.max.replace(year=9999)


def credits(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class GrantState:
    id: str
    amount: Decimal
    remaining: Decimal
    priority: int
    expires_at: datetime | None
    created_at: datetime
    source: str
    description: str | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class Movement:
    """One ledger entry to write."""

    kind: str  # grant, consumption, expiry
    amount: Decimal
    balance_after: Decimal
    grant_id: str | None = None
    event_id: str | None = None
    meter: str | None = None
    spent: dict[str, Decimal] | None = None
    description: str | None = None


@dataclass(frozen=True)
class WalletState:
    version: int = 0  # 0: no wallet item yet
    debt: Decimal = ZERO
    grants: tuple[GrantState, ...] = field(default_factory=tuple)

    @property
    def balance(self) -> Decimal:
        return sum((g.remaining for g in self.grants), ZERO) - self.debt


def spending_order(grants: Iterable[GrantState]) -> list[GrantState]:
    """Lowest priority number first, then the earliest expiry (none: last), then the oldest."""
    return sorted(grants, key=lambda g: (g.priority, _naive(g.expires_at) if g.expires_at else _NEVER,
                                         _naive(g.created_at), g.id))


def expire(state: WalletState, now: datetime) -> tuple[WalletState, list[Movement]]:
    """Take the remaining credits of every grant whose expiry has passed."""
    movements: list[Movement] = []
    kept: list[GrantState] = []
    balance = state.balance
    for grant in spending_order(state.grants):
        if grant.expired(now):
            balance -= grant.remaining
            movements.append(Movement("expiry", -grant.remaining, balance, grant_id=grant.id,
                                      description="expired unused"))
        else:
            kept.append(grant)
    return replace(state, grants=tuple(kept)), movements


def add_grant(state: WalletState, grant: GrantState, now: datetime) -> tuple[WalletState, list[Movement]]:
    """Expire what is due, then add the grant; an overdraft is repaid from it first."""
    state, movements = expire(state, now)
    repaid = min(state.debt, grant.amount)
    added = replace(grant, remaining=grant.amount - repaid)
    grants = state.grants + ((added,) if added.remaining > 0 else ())
    after = WalletState(version=state.version, debt=state.debt - repaid, grants=grants)
    movements.append(Movement("grant", grant.amount, after.balance, grant_id=grant.id,
                              description=grant.description))
    return after, movements


def consume(state: WalletState, amount: Decimal, overdraft: Decimal, now: datetime, *, event_id: str,
            meter: str | None = None) -> tuple[WalletState, list[Movement]]:
    """Expire what is due, then take ``amount`` from the grants in spending order and, past them, up
    to ``overdraft`` below zero. What neither covers is not taken (the usage is billed as usage)."""
    state, movements = expire(state, now)
    wanted = credits(amount)
    if wanted <= 0:
        return state, movements
    spent: dict[str, Decimal] = {}
    grants: list[GrantState] = []
    left = wanted
    for grant in spending_order(state.grants):
        take = min(grant.remaining, left)
        if take > 0:
            spent[grant.id] = take
            left -= take
        if grant.remaining - take > 0:
            grants.append(replace(grant, remaining=grant.remaining - take))
    borrowed = max(ZERO, min(left, overdraft - state.debt))
    taken = wanted - left + borrowed
    after = WalletState(version=state.version, debt=state.debt + borrowed, grants=tuple(grants))
    if taken > 0:
        movements.append(Movement("consumption", -taken, after.balance, event_id=event_id, meter=meter,
                                  spent=spent or None))
    return after, movements


def _naive(at: datetime) -> datetime:
    return at if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)
