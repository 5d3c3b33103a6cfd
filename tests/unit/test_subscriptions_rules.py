"""The pure rules of subscriptions: coupon discounts, coupon validity and entitlement resolution."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wrapper.catalog.models import Coupon, CouponDuration, Entitlement, Feature, FeatureKind, Plan, PlanKind
from wrapper.kernel.errors import InvalidInput
from wrapper.subscriptions.models import CouponState
from wrapper.subscriptions.rules import coupon_state, discount_of, resolve_entitlements

NOW = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(("coupon", "subtotal", "expected"), [
    (CouponState(code="Q", percent_off=Decimal(25), periods_left=1), 3000, 750),
    (CouponState(code="Q", percent_off=Decimal("33.3"), periods_left=None), 1001, 333),  # 333.333 → 333
    (CouponState(code="Q", percent_off=Decimal(50), periods_left=1), 1, 1),  # 0.5 rounds away from zero
    (CouponState(code="A", amount_off=500, currency="USD", periods_left=1), 300, 300),  # never past the amount
    (CouponState(code="A", amount_off=500, currency="EUR", periods_left=1), 3000, 0),  # another currency
    (CouponState(code="Q", percent_off=Decimal(25), periods_left=0), 3000, 0),  # used up
    (None, 3000, 0),
])
def test_discount_worked_examples(coupon: CouponState | None, subtotal: int, expected: int) -> None:
    assert discount_of(coupon, subtotal, "USD") == expected


@given(subtotal=st.integers(min_value=-10**9, max_value=10**9),
       percent=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2))
def test_a_discount_never_makes_an_amount_negative_or_discounts_a_credit(subtotal: int, percent: Decimal) -> None:
    off = discount_of(CouponState(code="P", percent_off=percent, periods_left=None), subtotal, "USD")
    assert 0 <= off <= max(subtotal, 0)


@pytest.mark.parametrize(("coupon", "why"), [
    (Coupon(code="X", percent_off=Decimal(10), duration=CouponDuration.ONCE, active=False), "No such"),
    (Coupon(code="X", percent_off=Decimal(10), duration=CouponDuration.ONCE,
            expires_at=datetime(2024, 5, 31, tzinfo=UTC)), "expired"),
    (Coupon(code="X", percent_off=Decimal(10), duration=CouponDuration.ONCE, max_redemptions=2,
            times_redeemed=2), "redeemed"),
    (Coupon(code="X", amount_off=100, currency="EUR", duration=CouponDuration.ONCE), "EUR"),
    (None, "No such"),
])
def test_unusable_coupons_are_refused_with_the_reason(coupon: Coupon | None, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        coupon_state(coupon, code="X", currency="USD", now=NOW)


@pytest.mark.parametrize(("duration", "periods", "left"), [
    (CouponDuration.ONCE, None, 1), (CouponDuration.REPEATING, 3, 3), (CouponDuration.FOREVER, None, None)])
def test_a_coupon_covers_the_periods_its_duration_says(duration: CouponDuration, periods: int | None,
                                                       left: int | None) -> None:
    coupon = Coupon(code="x", percent_off=Decimal(10), duration=duration, duration_in_periods=periods)
    assert coupon_state(coupon, code="x", currency="USD", now=NOW).periods_left == left


def _plan(code: str, *entitlements: Entitlement, kind: PlanKind = PlanKind.BASE) -> Plan:
    return Plan(id=code, code=code, name=code, kind=kind, created_at=NOW, entitlements=list(entitlements))


def test_limits_add_up_per_addon_unit_booleans_or_and_unlimited_wins() -> None:
    plan = _plan("pro", Entitlement(feature="seats", limit=5, hard=True), Entitlement(feature="sso", enabled=False),
                 Entitlement(feature="storage", limit=None))
    addon = _plan("more", Entitlement(feature="seats", limit=2), Entitlement(feature="sso"),
                  Entitlement(feature="storage", limit=10), Entitlement(feature="audit"), kind=PlanKind.ADDON)
    features = {"seats": Feature(code="seats", name="Seats", kind=FeatureKind.LIMIT)}
    items = {e.feature: e for e in resolve_entitlements(plan, [(addon, 3)], features)}
    assert (items["seats"].limit, items["seats"].hard, items["seats"].source) == (11, True, "plan")
    assert items["sso"].enabled is True
    assert items["storage"].limit is None
    assert (items["audit"].source, items["audit"].kind) == ("addon", "boolean")
    assert list(items) == sorted(items)
