"""Subscriptions against an in-memory DynamoDB (moto), a fixed clock and a fake payment provider.

Worked examples (USD, minor units; shares are exact fractions of the period, each line rounded once):
- pro 3000/month → biz 6000/month on 2024-03-10 00:00 UTC, anchor 2024-01-31 (UTC): the period is
  [Feb 29, Mar 31) (Jan 31 clamps to Feb 29 in a leap year), 21 of 31 days unused:
  -3000·21/31 = -2032.26 → -2032; +6000·21/31 = 4064.52 → 4065; due 2033.
- the same in Pacific/Kiritimati (UTC+14), anchor 2024-01-31 00:00 local: the period is
  [2024-02-28T10:00Z, 2024-03-30T10:00Z); a change at 2024-03-09T10:00Z leaves 21 of 31 days: due 2033.
- team 1000/seat/month, 3 → 5 seats half-way through April 2024 (15 of 30 days): -1500 + 2500 = 1000.
- pro monthly → yearly (30000) on 2024-01-11, anchor 2024-01-01: credit -2032 (21/31 of 3000), the year
  charged in full, due 27968; the new anchor is 2024-01-11 and the period ends 2025-01-11.
- a 25 % coupon on subscribing to pro monthly: 3000 - 750 = 2250.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit import subscription_world
from tests.unit.subscription_world import T0, World, checkout_completed, on_plan
from wrapper.kernel.errors import Conflict, InvalidInput, PermissionDenied
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.collection import PaymentRequired
from wrapper.store.schema import (
    BILLING_SK,
    CATALOG_PK,
    PROFILE_SK,
    STRIPE_CUSTOMER_SK,
    SUBSCRIPTION_SK,
    coupon_sk,
    due_pk,
    stripe_customer_pk,
    tenant_pk,
)
from wrapper.subscriptions.models import CancelRequest, ChangeRequest, CheckoutRequest, SubscribeRequest
from wrapper.subscriptions.stripe_events import apply_stripe_event

ACME_PK = tenant_pk("acme")
# The subscriptions' moto table, seeded catalog, settable clock and fake payments.
world = subscription_world.world


def _apply(world: World, event: dict[str, Any]) -> str:
    return apply_stripe_event(event, table=world.table, catalog=world.catalog, payments=world.payments,
                              now=world.clock.now)


# -- first access -------------------------------------------------------------------------------------------------

def test_a_tenant_without_a_subscription_is_put_on_the_default_plan_once(world: World) -> None:
    world.table.put({"PK": ACME_PK, "SK": PROFILE_SK, "timezone": "Asia/Tokyo"})
    first = world.service.current(world.actor())
    again = world.service.current(world.actor())
    assert first == again
    assert (first.plan_code, first.status, first.timezone, first.seats) == ("free", "active", "Asia/Tokyo", 1)
    assert len(world.events("acme", "subscription.created")) == 1
    item = world.table.get(ACME_PK, SUBSCRIPTION_SK)
    assert item and item["GSI1PK"] == due_pk(first.current_period_end.date())
    assert item["GSI1SK"] == ACME_PK and item["subscription_id"] == first.id


# -- worked examples ---------------------------------------------------------------------------------------------

def test_a_mid_period_upgrade_charges_the_worked_example_on_the_saved_card(world: World) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=datetime(2024, 1, 31, tzinfo=UTC))
    world.clock.now = datetime(2024, 3, 10, tzinfo=UTC)
    result = world.service.change(world.actor(), ChangeRequest(plan_code="biz"))
    assert [line.amount for line in result.preview.lines] == [-2032, 4065]
    assert result.preview.amount_due == 2033
    assert world.payments.charges[0]["amount"] == 2033 and result.payment_id == "pi_1"
    assert result.subscription.plan_code == "biz" and result.subscription.version == 2
    assert result.preview.period_start == datetime(2024, 2, 29, tzinfo=UTC)
    paid = world.events("acme", "payment.succeeded")
    assert paid[0]["data"]["amount"] == 2033 and paid[0]["data"]["actor"] == "user-owner"


def test_the_period_follows_the_tenant_timezone_far_from_utc(world: World) -> None:
    kiritimati = datetime(2024, 1, 30, 10, tzinfo=UTC)  # 2024-01-31 00:00 at UTC+14
    on_plan(world, "pro", "price_pro_m", anchor=kiritimati, timezone="Pacific/Kiritimati")
    world.clock.now = datetime(2024, 3, 9, 10, tzinfo=UTC)
    preview = world.service.preview(world.actor(), ChangeRequest(plan_code="biz"))
    assert (preview.period_start, preview.period_end) == (datetime(2024, 2, 28, 10, tzinfo=UTC),
                                                          datetime(2024, 3, 30, 10, tzinfo=UTC))
    assert preview.amount_due == 2033
    assert not world.payments.charges  # a preview changes nothing


def test_more_seats_prorate_like_an_upgrade_and_fewer_wait_for_the_period_end(world: World) -> None:
    on_plan(world, "team", "price_team_m", anchor=datetime(2024, 4, 1, tzinfo=UTC), seats=3)
    world.clock.now = datetime(2024, 4, 16, tzinfo=UTC)
    more = world.service.change(world.actor(), ChangeRequest(seats=5))
    assert [line.amount for line in more.preview.lines] == [-1500, 2500] and more.preview.amount_due == 1000
    fewer = world.service.change(world.actor(), ChangeRequest(seats=2))
    assert fewer.preview.amount_due == 0 and fewer.subscription.seats == 5
    assert fewer.subscription.scheduled_change is not None
    assert (fewer.subscription.scheduled_change.seats, fewer.subscription.scheduled_change.at) == (
        2, datetime(2024, 5, 1, tzinfo=UTC))
    assert len(world.payments.charges) == 1


def test_month_to_year_credits_the_month_charges_the_year_and_moves_the_anchor(world: World) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    world.clock.now = datetime(2024, 1, 11, tzinfo=UTC)
    result = world.service.change(world.actor(), ChangeRequest(interval="year"))
    assert [line.amount for line in result.preview.lines] == [-2032, 30000]
    assert result.preview.amount_due == 27968
    assert result.subscription.anchor == datetime(2024, 1, 11, tzinfo=UTC)
    assert result.subscription.current_period_end == datetime(2025, 1, 11, tzinfo=UTC)
    assert result.subscription.price_id == "price_pro_y"


def test_year_to_month_is_scheduled_for_the_period_end_rather_than_a_credit(world: World) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    world.clock.now = datetime(2024, 1, 11, tzinfo=UTC)
    world.service.change(world.actor(), ChangeRequest(interval="year"))
    world.clock.now = datetime(2024, 6, 1, tzinfo=UTC)
    back = world.service.change(world.actor(), ChangeRequest(interval="month"))
    assert back.preview.amount_due == 0 and back.subscription.interval == "year"
    assert back.subscription.scheduled_change and back.subscription.scheduled_change.interval == "month"
    assert back.subscription.scheduled_change.at == datetime(2025, 1, 11, tzinfo=UTC)


# -- downgrade, cancel, resume ------------------------------------------------------------------------------------

def test_a_downgrade_applies_at_the_period_end_through_apply_scheduled_changes(world: World) -> None:
    on_plan(world, "biz", "price_biz_m", anchor=T0)
    world.clock.now = datetime(2024, 1, 20, tzinfo=UTC)
    scheduled = world.service.change(world.actor(), ChangeRequest(plan_code="pro")).subscription
    assert scheduled.plan_code == "biz" and not world.payments.charges
    tenant = TenantContext("acme")
    assert world.service.apply_scheduled_changes(tenant, datetime(2024, 1, 31, tzinfo=UTC)) == scheduled
    applied = world.service.apply_scheduled_changes(tenant, datetime(2024, 2, 1, tzinfo=UTC))
    assert applied and (applied.plan_code, applied.price_id, applied.scheduled_change) == ("pro", "price_pro_m", None)
    assert applied.current_period_start == datetime(2024, 2, 1, tzinfo=UTC)


def test_asking_for_the_current_terms_again_undoes_a_scheduled_downgrade(world: World) -> None:
    on_plan(world, "biz", "price_biz_m", anchor=T0)
    world.service.change(world.actor(), ChangeRequest(plan_code="pro"))
    undone = world.service.change(world.actor(), ChangeRequest(plan_code="biz"))
    assert undone.subscription.scheduled_change is None and undone.preview.amount_due == 0


def test_cancel_at_period_end_then_resume_then_cancel_ends_on_the_default_plan(world: World) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    canceling = world.service.cancel(world.actor(), CancelRequest(at_period_end=True))
    assert canceling.cancel_at_period_end and canceling.plan_code == "pro"
    resumed = world.service.resume(world.actor())
    assert not resumed.cancel_at_period_end
    with pytest.raises(Conflict):
        world.service.resume(world.actor())
    world.service.cancel(world.actor(), CancelRequest(at_period_end=True))
    ended = world.service.apply_scheduled_changes(TenantContext("acme"), datetime(2024, 2, 1, tzinfo=UTC))
    assert ended and ended.plan_code == "free"
    assert len(world.events("acme", "subscription.canceled")) == 1
    history = world.service.history(world.actor(), limit=50, cursor=None).items
    assert any(s.plan_code == "pro" and s.status == "canceled" for s in history)


def test_cancel_now_returns_to_the_default_plan_and_the_default_plan_cannot_be_canceled(world: World) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    after = world.service.cancel(world.actor(), CancelRequest(at_period_end=False))
    assert after.plan_code == "free"
    with pytest.raises(Conflict):
        world.service.cancel(world.actor(), CancelRequest(at_period_end=False))


# -- subscribe, trials, coupons -----------------------------------------------------------------------------------

def test_subscribing_with_a_coupon_charges_the_first_period_discounted(world: World) -> None:
    result = world.service.subscribe(world.actor(), SubscribeRequest(plan_code="pro", coupon="quarter"))
    assert (result.preview.subtotal, result.preview.discount, result.preview.amount_due) == (3000, 750, 2250)
    assert result.subscription.coupon and result.subscription.coupon.periods_left == 1
    coupon = world.table.get(CATALOG_PK, coupon_sk("QUARTER"))
    assert coupon and coupon["times_redeemed"] == 1
    with pytest.raises(Conflict):  # already paying: change it with PATCH
        world.service.subscribe(world.actor(), SubscribeRequest(plan_code="biz"))


def test_a_coupon_at_its_redemption_limit_or_expired_is_refused(world: World) -> None:
    world.service.subscribe(world.actor("acme"), SubscribeRequest(plan_code="pro", coupon="ONLYONE"))
    with pytest.raises(InvalidInput):
        world.service.subscribe(world.actor("globex"), SubscribeRequest(plan_code="pro", coupon="ONLYONE"))
    with pytest.raises(InvalidInput):
        world.service.subscribe(world.actor("initech"), SubscribeRequest(plan_code="pro", coupon="OLD"))
    assert world.service.current(world.actor("globex")).plan_code == "free"


def test_the_redemption_count_is_enforced_by_the_write_even_after_a_stale_read(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another tenant takes the last redemption between this request's read and its write.
    world.table.update(CATALOG_PK, coupon_sk("ONLYONE"), update="SET times_redeemed = :one", values={":one": 1})
    # Every read before the write is stale (no redemption yet); once the write lost, reads see the count.
    real_coupon = world.service.catalog.coupon
    monkeypatch.setattr(world.service.catalog, "coupon", lambda code: real_coupon(code) if world.payments.refunds
                        else real_coupon(code).model_copy(update={"times_redeemed": 0}))
    with pytest.raises(InvalidInput):
        world.service.subscribe(world.actor(), SubscribeRequest(plan_code="pro", coupon="ONLYONE"))
    assert world.payments.refunds == ["pi_1"]  # the charge that lost the race is given back
    assert world.service.current(world.actor()).plan_code == "free"


def test_a_plan_with_a_trial_starts_trialing_without_a_charge(world: World) -> None:
    result = world.service.subscribe(world.actor(), SubscribeRequest(plan_code="trial"))
    subscription = result.subscription
    assert subscription.status == "trialing" and result.preview.amount_due == 0 and not world.payments.charges
    assert subscription.trial_end == subscription.current_period_end == datetime(2024, 1, 15, tzinfo=UTC)


# -- paying through Checkout and the webhook ----------------------------------------------------------------------

def test_without_a_card_an_upgrade_answers_payment_required_and_applies_when_paid(world: World) -> None:
    world.payments.card = None
    on_plan(world, "pro", "price_pro_m", anchor=datetime(2024, 1, 31, tzinfo=UTC))
    world.clock.now = datetime(2024, 3, 10, tzinfo=UTC)
    with pytest.raises(PaymentRequired) as needed:
        world.service.change(world.actor(), ChangeRequest(plan_code="biz"))
    assert needed.value.amount_due == 2033 and needed.value.checkout_url.endswith("/cs_1")
    session = world.payments.sessions[0]
    assert (session["mode"], session["amount"]) == ("payment", 2033)
    assert world.service.current(world.actor()).plan_code == "pro"
    outcome = apply_stripe_event(checkout_completed(session), table=world.table, catalog=world.catalog,
                                 payments=world.payments, now=world.clock.now)
    assert outcome.startswith("applied")
    assert world.service.current(world.actor()).plan_code == "biz"
    assert [e["data"]["amount"] for e in world.events("acme", "payment.succeeded")] == [2033]
    replay = apply_stripe_event(checkout_completed(session, event_id="evt_2"), table=world.table, catalog=world.catalog,
                                payments=world.payments, now=world.clock.now)
    assert replay.startswith("duplicate") and len(world.events("acme", "payment.succeeded")) == 1


def test_a_declined_card_reports_payment_failed_and_offers_checkout(world: World) -> None:
    world.payments.decline = True
    with pytest.raises(PaymentRequired):
        world.service.subscribe(world.actor(), SubscribeRequest(plan_code="pro"))
    failed = world.events("acme", "payment.failed")
    assert failed[0]["data"]["payment_id"] == "pi_declined" and failed[0]["data"]["amount"] == 3000
    assert world.service.current(world.actor()).plan_code == "free"


def test_a_paid_checkout_for_a_stale_change_is_refunded_not_applied(world: World) -> None:
    world.payments.card = None
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    with pytest.raises(PaymentRequired):
        world.service.change(world.actor(), ChangeRequest(plan_code="biz"))
    world.service.cancel(world.actor(), CancelRequest(at_period_end=False))
    outcome = _apply(world, checkout_completed(world.payments.sessions[0]))
    assert outcome.startswith("refunded") and world.payments.refunds == ["pi_checkout"]
    assert world.service.current(world.actor()).plan_code == "free"


def test_a_setup_checkout_stores_the_default_card_once(world: World) -> None:
    link = world.service.checkout(world.actor(), CheckoutRequest(mode="setup"))
    session = world.payments.sessions[0]
    assert link.id == session["id"] and session["mode"] == "setup" and session["amount"] is None
    event = checkout_completed(session) | {}
    event["data"]["object"]["payment_status"] = "no_payment_required"
    assert apply_stripe_event(event, table=world.table, catalog=world.catalog, payments=world.payments,
                              now=world.clock.now) == "applied: default card pm_card"
    assert apply_stripe_event(event, table=world.table, catalog=world.catalog, payments=world.payments,
                              now=world.clock.now).startswith("duplicate")
    billing = world.table.get(ACME_PK, BILLING_SK)
    assert billing and billing["default_payment_method"] == "pm_card"
    lookup = world.table.get(stripe_customer_pk("cus_acme"), STRIPE_CUSTOMER_SK)
    assert lookup and lookup["tenant_id"] == "acme"


def test_an_older_customer_update_does_not_overwrite_a_newer_default_card(world: World) -> None:
    world.service.checkout(world.actor(), CheckoutRequest(mode="setup"))

    def updated(event_id: str, created: int, card: str) -> dict[str, Any]:
        return {"id": event_id, "type": "customer.updated", "created": created, "data": {"object": {
            "id": "cus_acme", "object": "customer", "invoice_settings": {"default_payment_method": card}}}}

    assert _apply(world, updated("evt_new", 200, "pm_new")).startswith("applied")
    assert _apply(world, updated("evt_old", 100, "pm_old")).startswith("ignored")
    billing = world.table.get(ACME_PK, BILLING_SK)
    assert billing and billing["default_payment_method"] == "pm_new"


def test_events_of_another_tenant_or_unknown_types_are_ignored(world: World) -> None:
    world.service.checkout(world.actor("acme"), CheckoutRequest(mode="setup"))
    forged = {"id": "evt_x", "type": "setup_intent.succeeded", "created": 1, "data": {"object": {
        "customer": "cus_acme", "payment_method": "pm_evil", "metadata": {"tenant_id": "globex"}}}}
    assert _apply(world, forged).startswith("ignored")
    assert _apply(world, {"id": "evt_y", "type": "invoice.created", "data": {"object": {}}}) == \
        "ignored: invoice.created"


# -- permissions and entitlements ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "manager", "member", "viewer"])
def test_only_billing_write_changes_the_subscription(world: World, role: str) -> None:
    with pytest.raises(PermissionDenied):
        world.service.change(world.actor(role=role), ChangeRequest(plan_code="pro"))
    with pytest.raises(PermissionDenied):
        world.service.checkout(world.actor(role=role), CheckoutRequest(mode="setup"))


def test_entitlements_add_addon_limits_and_or_booleans(world: World) -> None:
    world.service.subscribe(world.actor(), SubscribeRequest(plan_code="pro", addons=[
        {"plan_code": "extra-projects", "quantity": 2}]))  # type: ignore[list-item]
    items = {e.feature: e for e in world.service.entitlements(world.actor(role="viewer"))}
    assert (items["projects"].limit, items["projects"].source, items["projects"].kind) == (70, "plan", "limit")
    assert (items["audit"].enabled, items["audit"].source) == (True, "addon")
    assert items["sso"].enabled is False
