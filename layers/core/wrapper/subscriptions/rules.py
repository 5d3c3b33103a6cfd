"""The rules of a subscription that need no I/O: amounts per period, discounts, coupons, entitlements,
what a change targets, and how terms are described (see the package docstring for the rules chosen)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from wrapper.catalog.models import Coupon, CouponDuration, Feature, FeatureKind, Plan, Price
from wrapper.kernel.errors import InvalidInput
from wrapper.money.amounts import exact, minor_as_major, to_minor
from wrapper.money.invoicing import Discount, PricedLine
from wrapper.money.periods import Interval
from wrapper.money.pricing import PriceSpec, amount_for
from wrapper.money.proration import ChangeKind, Terms
from wrapper.subscriptions.models import (
    Addon,
    ChangeKindName,
    CouponState,
    EntitlementView,
    IntervalUnit,
    Subscription,
)
from wrapper.subscriptions.store import dumps


def period_amount(spec: PriceSpec | None, quantity: int) -> int:
    return amount_for(spec, quantity) if spec is not None else 0


def terms_of(lines: list[tuple[PriceSpec | None, int]], *, currency: str, interval: IntervalUnit,
             description: str) -> Terms:
    """What the base price and the add-ons cost together per period."""
    return Terms(sum(period_amount(spec, quantity) for spec, quantity in lines), currency, Interval(unit=interval),
                 description)


def fee_lines(subscription: Subscription, price_of: Callable[[str, str], Price | None]) -> list[PricedLine]:
    """What the subscription's current period costs, as invoice lines: the plan's price for its seats, then
    each add-on's for its quantity (a plan or add-on without a price bills nothing)."""
    start = subscription.current_period_start.isoformat()
    end = subscription.current_period_end.isoformat()
    lines: list[PricedLine] = []
    base = price_of(subscription.plan_id, subscription.price_id) if subscription.price_id else None
    if base is not None:
        lines.append(PricedLine("subscription", describe_terms(subscription.plan_code, subscription.interval,
                                                               subscription.seats),
                                amount_for(base.spec, subscription.seats), subscription.seats,
                                period_start=start, period_end=end, price_id=base.id))
    for addon in subscription.addons:
        price = price_of(addon.plan_id, addon.price_id) if addon.price_id else None
        if price is not None:
            lines.append(PricedLine("addon", f"{addon.plan_code} add-on x {addon.quantity}",
                                    amount_for(price.spec, addon.quantity), addon.quantity,
                                    period_start=start, period_end=end, price_id=price.id))
    return lines


def coupon_discount(coupon: CouponState | None, currency: str) -> Discount | None:
    """The coupon's terms for an invoice, while it still covers a period (and, for an amount, in its currency)."""
    if coupon is None or coupon.periods_left == 0:
        return None
    if coupon.percent_off is None and (coupon.currency or "").upper() != currency.upper():
        return None
    return Discount(coupon.code, percent_off=coupon.percent_off, amount_off=coupon.amount_off)


def discount_of(coupon: CouponState | None, subtotal: int, currency: str) -> int:
    """What a coupon takes off a positive amount due, in minor units: a percentage of it (rounded once,
    half away from zero) or a fixed amount in the same currency, never more than the amount itself."""
    if coupon is None or subtotal <= 0 or coupon.periods_left == 0:
        return 0
    if coupon.percent_off is not None:
        off = to_minor(minor_as_major(subtotal, currency) * exact(coupon.percent_off) / 100, currency)
    elif coupon.amount_off is not None and (coupon.currency or "").upper() == currency.upper():
        off = coupon.amount_off
    else:
        off = 0
    return min(off, subtotal)


def coupon_state(coupon: Coupon | None, *, code: str, currency: str, now: datetime) -> CouponState:
    """The coupon's terms for a new subscription, or InvalidInput saying why it cannot be used."""
    def refuse(why: str) -> InvalidInput:
        return InvalidInput(why, errors=[{"field": "coupon", "message": why}])

    if coupon is None or not coupon.active:
        raise refuse("No such active coupon.")
    if coupon.expires_at is not None and coupon.expires_at <= now:
        raise refuse("The coupon has expired.")
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise refuse("The coupon has been redeemed as often as it may be.")
    if coupon.amount_off is not None and (coupon.currency or "").upper() != currency.upper():
        raise refuse(f"The coupon is for {coupon.currency}, not {currency}.")
    periods = {CouponDuration.ONCE: 1, CouponDuration.REPEATING: coupon.duration_in_periods or 1,
               CouponDuration.FOREVER: None}[coupon.duration]
    return CouponState(code=coupon.code.upper(), percent_off=coupon.percent_off, amount_off=coupon.amount_off,
                       currency=coupon.currency.upper() if coupon.currency else None, periods_left=periods)


def resolve_entitlements(plan: Plan, addons: list[tuple[Plan, int]],
                         features: Mapping[str, Feature]) -> list[EntitlementView]:
    """The plan's entitlements plus the add-ons': limits add up (an add-on's once per unit bought, and
    an unlimited one wins), booleans OR, ``hard`` if any source is hard. ``source`` is ``plan`` when the
    plan grants the feature at all, else ``addon``."""
    merged: dict[str, EntitlementView] = {}
    sources = [(plan, 1, "plan")] + [(addon, quantity, "addon") for addon, quantity in addons]
    for granting, quantity, source in sources:
        for given in granting.entitlements:
            feature = features.get(given.feature)
            kind = feature.kind if feature else (FeatureKind.BOOLEAN if given.limit is None else FeatureKind.LIMIT)
            limit = None if given.limit is None else given.limit * quantity
            seen = merged.get(given.feature)
            if seen is None:
                merged[given.feature] = EntitlementView(feature=given.feature, kind=kind, enabled=given.enabled,
                                                        limit=limit, hard=given.hard, source=source,  # type: ignore[arg-type]
                                                        thresholds=given.thresholds, credit_rate=given.credit_rate)
                continue
            both = None if seen.limit is None or limit is None else seen.limit + limit
            # Thresholds and the credit rate are the plan's when it sets them, else the first add-on's.
            merged[given.feature] = seen.model_copy(update={
                "enabled": seen.enabled or given.enabled, "limit": both, "hard": seen.hard or given.hard,
                "thresholds": seen.thresholds if seen.thresholds is not None else given.thresholds,
                "credit_rate": seen.credit_rate if seen.credit_rate is not None else given.credit_rate})
    return [merged[code] for code in sorted(merged)]


def fingerprint(value: Any) -> str:
    return hashlib.sha256(dumps(value).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Target:
    """What the subscription is to become: plan, its price, interval, seats and add-on prices."""

    plan: Plan
    price: Price | None
    interval: IntervalUnit
    seats: int
    addons: list[tuple[Plan, Price | None, int]]

    def addon_records(self) -> list[Addon]:
        return [Addon(plan_id=p.id, plan_code=p.code, price_id=price.id if price else None, quantity=q)
                for p, price, q in self.addons]


def unprocessable(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"field": field, "message": message}])


def describe_terms(plan_code: str, interval: str, seats: int) -> str:
    return f"{plan_code} ({interval}ly, {seats} seat{'s' if seats != 1 else ''})"


def kind_name(kind: ChangeKind) -> ChangeKindName:
    return cast(ChangeKindName, kind.value)
