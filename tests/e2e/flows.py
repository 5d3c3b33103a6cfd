"""Flows the e2e suites share: this run's plans in the catalog, the customer's side of Stripe Checkout on the
local Stripe server, applying a completed session as the Stripe events consumer does, and saving a card.

Until functions/webhooks applies every Stripe event, :func:`deliver` hands a completed session to
``apply_stripe_event`` as the queue consumer will; it is idempotent, so a webhook that also arrives changes
nothing more."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from tests.support import answered, call, signup, table, wait_for

SUFFIX = uuid.uuid4().hex[:6]
# This run's own paid plans (see seed_plans), the feature pro and biz enable, and a coupon for one redemption.
PRO, BIZ, TEAM, TRIAL = f"pro-{SUFFIX}", f"biz-{SUFFIX}", f"team-{SUFFIX}", f"trial-{SUFFIX}"
FEATURE = f"sso-{SUFFIX}"
ONE_USE_COUPON = f"ONE{SUFFIX}"
DECLINED_ON_CHARGE = "4000000000000341"  # a test card that attaches fine; every charge on it is declined


def seed_plans(cloud: Any) -> None:
    """A default plan if the catalog has none, and this run's own paid plans and coupons."""
    from wrapper.catalog.models import Coupon, CouponDuration, Entitlement, Plan, Price
    from wrapper.catalog.store import Catalog, item_of
    from wrapper.money.periods import MONTHLY, YEARLY
    from wrapper.money.pricing import PriceSpec
    from wrapper.store.schema import CATALOG_PK, coupon_sk, plan_code_sk, plan_sk, price_sk

    items = table(cloud)
    now = datetime.now(UTC)

    def plan(plan_id: str, code: str, prices: list[tuple[PriceSpec, Any]], **fields: Any) -> None:
        model = Plan(id=plan_id, code=code, name=code.title(), created_at=now, **fields)
        items.put(item_of(model, plan_sk(plan_id), "plan"))
        items.put({"PK": CATALOG_PK, "SK": plan_code_sk(code), "plan_id": plan_id})
        for n, (spec, interval) in enumerate(prices):
            price = Price(id=f"{plan_id}_p{n}", plan_id=plan_id, version=1, interval=interval, spec=spec,
                          created_at=now)
            items.put(item_of(price, price_sk(plan_id, price.id), "price"))

    def flat(amount: int) -> PriceSpec:
        return PriceSpec(model="flat", currency="USD", flat_amount=amount)

    if Catalog(items).default_plan() is None:
        plan("plan_default_free", "free", [(flat(0), MONTHLY)], is_default=True)
    plan(f"plan_{PRO}", PRO, [(flat(3000), MONTHLY), (flat(30000), YEARLY)],
         entitlements=[Entitlement(feature=FEATURE), Entitlement(feature="projects", limit=50)])
    plan(f"plan_{BIZ}", BIZ, [(flat(6000), MONTHLY)], entitlements=[Entitlement(feature=FEATURE)])
    plan(f"plan_{TEAM}", TEAM, [(PriceSpec(model="per_unit", currency="USD", unit_amount=Decimal(1000)), MONTHLY)])
    plan(f"plan_{TRIAL}", TRIAL, [(flat(2000), MONTHLY)], trial_days=14)
    items.put(item_of(Coupon(code=ONE_USE_COUPON, percent_off=Decimal(50), duration=CouponDuration.ONCE,
                             max_redemptions=1), coupon_sk(ONE_USE_COUPON), "coupon"))


def catalog_operator(cloud: Any, name: str) -> dict[str, Any]:
    """A platform operator of a suite's own, signed up as ``name``, over the demo catalog (whose default plan
    every new tenant starts on)."""
    from wrapper.catalog.seed_data import seed_catalog
    from wrapper.identity.operators import grant_operator

    seed_catalog(table(cloud))
    operator = signup(cloud, name)
    grant_operator(table(cloud), operator["user_id"])
    return operator


def monthly_plan(cloud: Any, operator: dict[str, Any], plan: dict[str, Any], *specs: dict[str, Any]) -> dict[str, Any]:
    """A plan made through the operator API (``plan`` is its body), with a monthly price for each spec."""
    made: dict[str, Any] = answered(call(cloud, "POST", "/v1/admin/plans", operator, body=plan), 201)
    for spec in specs:
        answered(call(cloud, "POST", f"/v1/admin/plans/{made['id']}/prices", operator,
                      body={"interval": {"unit": "month"}, "spec": spec}), 201)
    return made


def stripe_get(cloud: Any, path: str) -> dict[str, Any]:
    answer = requests.get(f"{cloud.stripe.url}{path}", headers={"Authorization": "Bearer sk_test_local"}, timeout=10)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def complete_checkout(cloud: Any, session_id: str, card: str | None = None) -> requests.Response:
    """What the customer does on the hosted Checkout page."""
    return requests.post(f"{cloud.stripe.url}/_local/checkout/sessions/{session_id}/complete",
                         data={"card": card} if card else {}, timeout=10)


def deliver(cloud: Any, session_id: str) -> str:
    """Apply ``checkout.session.completed`` for a session, as the Stripe events consumer does."""
    from wrapper.catalog.store import Catalog
    from wrapper.payments.stripe_adapter import StripePayments
    from wrapper.subscriptions.stripe_events import apply_stripe_event

    session = stripe_get(cloud, f"/v1/checkout/sessions/{session_id}")
    event = {"id": f"evt_test_{session_id}", "type": "checkout.session.completed", "created": int(time.time()),
             "data": {"object": session}}
    items = table(cloud)
    return apply_stripe_event(event, table=items, catalog=Catalog(items),
                              payments=StripePayments.connect("sk_test_local", api_base=cloud.stripe.url),
                              now=datetime.now(UTC))


def save_card(cloud: Any, owner: dict[str, Any]) -> str:
    """Save a card through a setup Checkout; answers the default payment method recorded."""
    answer = call(cloud, "POST", "/v1/billing/checkout", owner, body={"mode": "setup"})
    assert answer.status_code == 201, answer.text
    assert complete_checkout(cloud, answer.json()["id"]).status_code == 200
    deliver(cloud, answer.json()["id"])
    card = wait_for(lambda: (billing_record(cloud, owner["tenant_id"]) or {}).get("default_payment_method"),
                    message="the saved card")
    return str(card)


def replace_card(cloud: Any, owner: dict[str, Any], card: str | None = None) -> str:
    """Save another card through a setup Checkout (``card``: a test card number, by default the local Stripe's
    good one) and detach the old default, so the new card becomes the default; answers it."""
    old = (billing_record(cloud, owner["tenant_id"]) or {})["default_payment_method"]
    answer = call(cloud, "POST", "/v1/billing/checkout", owner, body={"mode": "setup"})
    assert answer.status_code == 201, answer.text
    assert complete_checkout(cloud, answer.json()["id"], card=card).status_code == 200
    deliver(cloud, answer.json()["id"])
    detached = requests.post(f"{cloud.stripe.url}/v1/payment_methods/{old}/detach",
                             headers={"Authorization": "Bearer sk_test_local"}, timeout=10)
    assert detached.status_code == 200, detached.text

    def replaced() -> str | None:
        now = (billing_record(cloud, owner["tenant_id"]) or {}).get("default_payment_method")
        return str(now) if now and now != old else None

    method = str(wait_for(replaced, message="the card replaced"))
    assert stripe_get(cloud, f"/v1/payment_methods/{method}")["card"]["last4"] == (card or "4242")[-4:]
    return method


def subscriptions(cloud: Any) -> Any:
    """The subscriptions' store over the local cloud's table, to read what billing left there."""
    from wrapper.subscriptions.store import SubscriptionStore

    return SubscriptionStore(table(cloud), outbox_ttl_days=7)


def billing_record(cloud: Any, tenant_id: str) -> dict[str, Any] | None:
    """The tenant's billing record (Stripe customer, default card), if it has one."""
    from wrapper.kernel.tenant import TenantContext

    record: dict[str, Any] | None = subscriptions(cloud).billing(TenantContext(tenant_id))
    return record


def subscription_item(cloud: Any, tenant_id: str) -> dict[str, Any] | None:
    """The tenant's current subscription as stored, index keys included."""
    from wrapper.store.schema import SUBSCRIPTION_SK, tenant_pk

    item: dict[str, Any] | None = table(cloud).get(tenant_pk(tenant_id), SUBSCRIPTION_SK)
    return item
