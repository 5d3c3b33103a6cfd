"""The subscriptions service over an in-memory DynamoDB (moto): a seeded catalog, a clock the test sets and
fake payments. The subscriptions and billing-run unit tests share it.

The catalog: free (the default, 3 projects), pro (3000/month, 30000/year), biz (6000/month), team
(1000/seat/month), trial (2000/month after 14 days) and the extra-projects add-on (500/month), in USD; coupons
QUARTER (25 % once), ONLYONE (500 off forever, one redemption) and OLD (expired)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.builders import fake_aws_environment, wrapper_table
from tests.unit.fakes import Clock, FakePayments
from wrapper.catalog.models import Coupon, CouponDuration, Entitlement, Feature, FeatureKind, Plan, PlanKind, Price
from wrapper.catalog.store import Catalog, item_of
from wrapper.kernel.actor import Actor
from wrapper.kernel.permissions import ROLE_PERMISSIONS
from wrapper.kernel.request_meta import RequestMeta
from wrapper.kernel.tenant import TenantContext
from wrapper.money.periods import MONTHLY, YEARLY, Anchor, Interval, first_period
from wrapper.money.pricing import PriceSpec
from wrapper.store.schema import (
    CATALOG_PK,
    OUTBOX_SK_PREFIX,
    coupon_sk,
    feature_sk,
    plan_code_sk,
    plan_sk,
    price_sk,
    tenant_pk,
)
from wrapper.store.table import Table
from wrapper.subscriptions.logic import Subscriptions
from wrapper.subscriptions.models import Subscription
from wrapper.subscriptions.store import SubscriptionStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)
REQUEST = RequestMeta(request_id="req-1", source_ip="198.51.100.7")  # the request every world.actor() comes with


@dataclass
class World:
    table: Table
    service: Subscriptions
    payments: FakePayments
    clock: Clock[datetime]
    catalog: Catalog

    def actor(self, tenant: str = "acme", role: str = "owner") -> Actor:
        return Actor(tenant=TenantContext(tenant), user_id=f"user-{role}", permissions=ROLE_PERMISSIONS[role],
                     request_meta=REQUEST)

    def events(self, tenant: str, event_type: str) -> list[dict[str, Any]]:
        items, _ = self.table.query(tenant_pk(tenant), sk_prefix=OUTBOX_SK_PREFIX, limit=500)
        return [json.loads(i["envelope"]) for i in items if i["event_type"] == event_type]

    def put_subscription(self, subscription: Subscription) -> None:
        store = self.service.store
        store.write(store.save_ops(subscription, expected_version=None), [])


def _price(plan_id: str, price_id: str, spec: PriceSpec, interval: Interval = MONTHLY) -> Price:
    return Price(id=price_id, plan_id=plan_id, version=1, interval=interval, spec=spec, created_at=T0)


def seed(table: Table) -> None:
    flat = lambda amount: PriceSpec(model="flat", currency="USD", flat_amount=amount)  # noqa: E731
    per_seat = lambda amount: PriceSpec(model="per_unit", currency="USD", unit_amount=Decimal(amount))  # noqa: E731
    plans = [
        (Plan(id="plan_free", code="free", name="Free", is_default=True, created_at=T0,
              entitlements=[Entitlement(feature="projects", limit=3, hard=True)]),
         [_price("plan_free", "price_free", flat(0))]),
        (Plan(id="plan_pro", code="pro", name="Pro", created_at=T0,
              entitlements=[Entitlement(feature="projects", limit=50), Entitlement(feature="sso", enabled=False)]),
         [_price("plan_pro", "price_pro_m", flat(3000)), _price("plan_pro", "price_pro_y", flat(30000), YEARLY)]),
        (Plan(id="plan_biz", code="biz", name="Business", created_at=T0,
              entitlements=[Entitlement(feature="projects", limit=None), Entitlement(feature="sso")]),
         [_price("plan_biz", "price_biz_m", flat(6000))]),
        (Plan(id="plan_team", code="team", name="Team", created_at=T0),
         [_price("plan_team", "price_team_m", per_seat("1000"))]),
        (Plan(id="plan_trial", code="trial", name="Trial", trial_days=14, created_at=T0),
         [_price("plan_trial", "price_trial_m", flat(2000))]),
        (Plan(id="plan_extra", code="extra-projects", name="Extra projects", kind=PlanKind.ADDON, created_at=T0,
              entitlements=[Entitlement(feature="projects", limit=10), Entitlement(feature="audit")]),
         [_price("plan_extra", "price_extra_m", flat(500))]),
    ]
    for plan, prices in plans:
        table.put(item_of(plan, plan_sk(plan.id), "plan"))
        table.put({"PK": CATALOG_PK, "SK": plan_code_sk(plan.code), "plan_id": plan.id})
        for price in prices:
            table.put(item_of(price, price_sk(plan.id, price.id), "price"))
    table.put(item_of(Feature(code="projects", name="Projects", kind=FeatureKind.LIMIT), feature_sk("projects"),
                      "feature"))
    for coupon in (Coupon(code="QUARTER", percent_off=Decimal(25), duration=CouponDuration.ONCE),
                   Coupon(code="ONLYONE", amount_off=500, currency="USD", duration=CouponDuration.FOREVER,
                          max_redemptions=1),
                   Coupon(code="OLD", percent_off=Decimal(10), duration=CouponDuration.ONCE,
                          expires_at=datetime(2023, 1, 1, tzinfo=UTC))):
        table.put(item_of(coupon, coupon_sk(coupon.code), "coupon"))


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        table = wrapper_table(client)
        seed(table)
        payments, clock, catalog = FakePayments(), Clock(T0), Catalog(table)
        service = Subscriptions(SubscriptionStore(table, outbox_ttl_days=7), catalog, lambda: payments,
                                billing_page="https://app.test/billing", clock=clock)
        yield World(table, service, payments, clock, catalog)


def on_plan(world: World, plan: str, price: str, *, anchor: datetime, tenant: str = "acme", seats: int = 1,
            timezone: str = "UTC", end: datetime | None = None) -> Subscription:
    """Put the tenant on a plan directly (as if subscribed at ``anchor``)."""
    period = first_period(Anchor(anchor, timezone), MONTHLY)
    subscription = Subscription(id=f"sub_{plan}", tenant_id=tenant, plan_id=f"plan_{plan}", plan_code=plan,
                                price_id=price, interval="month", currency="USD", seats=seats, status="active",
                                anchor=anchor, timezone=timezone, current_period_start=period.start,
                                current_period_end=end or period.end, created_at=anchor, updated_at=anchor)
    world.put_subscription(subscription)
    return subscription




def checkout_completed(session: dict[str, Any], *, event_id: str = "evt_1") -> dict[str, Any]:
    """Stripe's ``checkout.session.completed`` event for a session the fake payments opened, paid."""
    return {"id": event_id, "type": "checkout.session.completed", "created": 1_704_100_000,
            "data": {"object": {"id": session["id"], "object": "checkout.session", "mode": session["mode"],
                                "customer": session["customer"], "payment_status": "paid",
                                "amount_total": session["amount"], "payment_intent": "pi_checkout",
                                "metadata": session["metadata"]}}}
