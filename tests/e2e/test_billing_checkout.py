"""/v1/billing/checkout and /v1/billing/portal over HTTP, and the path the issue asks for: a free tenant
saves a card through Checkout on the local Stripe server, Stripe's signed webhook reaches
``POST /v1/webhooks/stripe`` and the queue consumer applies it, an upgrade from free to pro is charged on
that card, and entitlements change. The first two tests wait for the real webhook; the others apply the
completed session directly (``deliver``) to test the effects' own idempotency."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.flows import FEATURE, PRO, billing_record, complete_checkout, deliver, save_card, seed_plans, stripe_get
from tests.support import call, join, signup, table, wait_for
from wrapper.store.schema import STRIPE_CUSTOMER_SK, stripe_customer_pk

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module", autouse=True)
def plans(cloud: Any) -> None:
    seed_plans(cloud)


def _with_card(cloud: Any, tenant_id: str) -> dict[str, Any] | None:
    billing = billing_record(cloud, tenant_id)
    return billing if billing and billing.get("default_payment_method") else None


def _on_plan(cloud: Any, owner: dict[str, Any], plan_code: str) -> dict[str, Any] | None:
    current: dict[str, Any] = call(cloud, "GET", "/v1/subscriptions/current", owner).json()
    return current if current.get("plan_code") == plan_code else None


@pytest.fixture
def owner(cloud: Any) -> dict[str, Any]:
    return signup(cloud, "Checkout")


def test_free_tenant_saves_a_card_then_upgrades_to_pro_on_it(cloud: Any, owner: dict[str, Any]) -> None:
    before = {e["feature"] for e in call(cloud, "GET", "/v1/entitlements", owner).json()["items"]}
    assert FEATURE not in before
    checkout = call(cloud, "POST", "/v1/billing/checkout", owner, body={"mode": "setup"})
    assert checkout.status_code == 201, checkout.text
    link = checkout.json()
    assert link["url"].startswith(cloud.stripe.url) and link["id"].startswith("cs_")
    session = stripe_get(cloud, f"/v1/checkout/sessions/{link['id']}")
    assert session["mode"] == "setup" and session["metadata"]["tenant_id"] == owner["tenant_id"]
    assert complete_checkout(cloud, link["id"]).status_code == 200
    # The local Stripe server sends checkout.session.completed, signed, to the webhook; its queue consumer
    # saves the card.
    billing = wait_for(lambda: _with_card(cloud, owner["tenant_id"]), timeout=30, message="the webhook's card")
    assert billing["default_payment_method"].startswith("pm_")
    lookup = table(cloud).get(stripe_customer_pk(billing["stripe_customer_id"]), STRIPE_CUSTOMER_SK)
    assert lookup and lookup["tenant_id"] == owner["tenant_id"]

    upgraded = call(cloud, "PATCH", "/v1/subscriptions/current", owner, body={"plan_code": PRO})
    assert upgraded.status_code == 200, upgraded.text
    change = upgraded.json()
    assert change["subscription"]["plan_code"] == PRO and change["preview"]["kind"] == "upgrade"
    # Upgrading from free keeps the anchor: the rest of the current period, a few seconds old, is charged.
    assert 2990 <= change["preview"]["amount_due"] <= 3000
    intent = stripe_get(cloud, f"/v1/payment_intents/{change['payment_id']}")
    assert (intent["amount"], intent["payment_method"]) == (change["preview"]["amount_due"],
                                                            billing["default_payment_method"])
    after = {e["feature"]: e for e in call(cloud, "GET", "/v1/entitlements", owner).json()["items"]}
    assert after[FEATURE]["enabled"] and after["projects"]["limit"] == 50


def test_an_upgrade_without_a_card_is_paid_on_checkout_then_applied(cloud: Any, owner: dict[str, Any]) -> None:
    answer = call(cloud, "PATCH", "/v1/subscriptions/current", owner, body={"plan_code": PRO})
    assert answer.status_code == 402 and answer.headers["Content-Type"] == PROBLEM
    problem = answer.json()
    session = stripe_get(cloud, f"/v1/checkout/sessions/{problem['checkout_session_id']}")
    assert session["mode"] == "payment" and session["amount_total"] == problem["amount_due"]
    assert complete_checkout(cloud, problem["checkout_session_id"]).status_code == 200
    current = wait_for(lambda: _on_plan(cloud, owner, PRO), timeout=30, message="the webhook's upgrade")
    assert current["plan_code"] == PRO
    assert deliver(cloud, problem["checkout_session_id"]).startswith("duplicate")  # applied once, by the webhook
    # The card paid with on Checkout is kept for the next charges.
    assert stripe_get(cloud, f"/v1/payment_methods?customer={session['customer']}&type=card")["data"]


def test_the_portal_opens_for_the_tenants_own_customer(cloud: Any, owner: dict[str, Any]) -> None:
    answer = call(cloud, "POST", "/v1/billing/portal", owner)
    assert answer.status_code == 201, answer.text
    assert answer.json()["url"].startswith(cloud.stripe.url)
    again = call(cloud, "POST", "/v1/billing/portal", owner)
    billing = billing_record(cloud, owner["tenant_id"])
    assert again.status_code == 201 and billing
    # One customer per tenant, however often the portal or Checkout is opened.
    assert call(cloud, "POST", "/v1/billing/checkout", owner, body={"mode": "setup"}).status_code == 201
    assert billing_record(cloud, owner["tenant_id"]) == billing


def test_the_same_idempotency_key_answers_the_same_session(cloud: Any, owner: dict[str, Any]) -> None:
    key = {"Idempotency-Key": f"checkout-{uuid.uuid4()}"}
    first = call(cloud, "POST", "/v1/billing/checkout", owner, body={"mode": "setup"}, headers=key)
    again = call(cloud, "POST", "/v1/billing/checkout", owner, body={"mode": "setup"}, headers=key)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other = call(cloud, "POST", "/v1/billing/checkout", owner, body={"mode": "payment"}, headers=key)
    assert other.status_code == 422


@pytest.mark.parametrize("role", ["admin", "manager", "member", "viewer"])
def test_only_billing_write_opens_checkout_or_the_portal(cloud: Any, owner: dict[str, Any], role: str) -> None:
    other = signup(cloud, f"{role} elsewhere")
    join(cloud, owner["tenant_id"], other["user_id"], role)
    for path, body in [("/v1/billing/checkout", {"mode": "setup"}), ("/v1/billing/portal", None)]:
        answer = call(cloud, "POST", path, other, tenant=owner["tenant_id"], body=body)
        assert answer.status_code == 403 and answer.headers["Content-Type"] == PROBLEM
    assert billing_record(cloud, owner["tenant_id"]) is None


def test_another_tenant_cannot_open_checkout_for_this_one(cloud: Any, owner: dict[str, Any]) -> None:
    save_card(cloud, owner)
    billing = billing_record(cloud, owner["tenant_id"])
    stranger = signup(cloud, "Globex checkout")
    for path, body in [("/v1/billing/checkout", {"mode": "setup"}), ("/v1/billing/portal", None)]:
        assert call(cloud, "POST", path, stranger, tenant=owner["tenant_id"], body=body).status_code == 403
    # Acting for itself, the stranger's sessions belong to its own customer, and never change this tenant.
    own = call(cloud, "POST", "/v1/billing/checkout", stranger, body={"mode": "setup"}).json()
    session = stripe_get(cloud, f"/v1/checkout/sessions/{own['id']}")
    assert billing and session["customer"] != billing["stripe_customer_id"]
    assert session["metadata"]["tenant_id"] == stranger["tenant_id"]
    complete_checkout(cloud, own["id"])
    deliver(cloud, own["id"])
    assert billing_record(cloud, owner["tenant_id"]) == billing


@pytest.mark.parametrize("body", [{}, {"mode": "payment"}, {"mode": "setup", "customer": "cus_x"}, {"mode": 1},
                                  "not json", []])
def test_bad_checkout_bodies_are_refused_and_nothing_is_written(cloud: Any, owner: dict[str, Any],
                                                                body: Any) -> None:
    answer = call(cloud, "POST", "/v1/billing/checkout", owner, body=body)
    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert billing_record(cloud, owner["tenant_id"]) is None
