"""/v1/subscriptions over HTTP against the local cloud and the local Stripe server: the default plan
on first access, subscribe and change through Checkout or the saved card, previews, downgrades at the
period end, cancel and resume, seats, coupons, roles, other tenants, bad input and Idempotency-Key.

A completed Checkout is applied with ``tests.e2e.flows.deliver``, as the Stripe events consumer does."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.flows import (
    BIZ,
    FEATURE,
    ONE_USE_COUPON,
    PRO,
    TEAM,
    TRIAL,
    billing_record,
    complete_checkout,
    deliver,
    save_card,
    seed_plans,
    stripe_get,
    subscription_item,
    subscriptions,
)
from tests.support import call, join, signup, table
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import due_pk, tenant_pk

PROBLEM = "application/problem+json"


# -- fixtures -----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def plans(cloud: Any) -> None:
    seed_plans(cloud)


@pytest.fixture
def owner(cloud: Any) -> dict[str, Any]:
    return signup(cloud, "Subscriber")


@pytest.fixture
def paying(cloud: Any) -> dict[str, Any]:
    """An owner with a saved card."""
    session = signup(cloud, "Paying")
    save_card(cloud, session)
    return session


# -- reading ------------------------------------------------------------------------------------------------------

def test_a_new_tenant_is_on_the_default_plan_and_has_a_history(cloud: Any, owner: dict[str, Any]) -> None:
    current = call(cloud, "GET", "/v1/subscriptions/current", owner)
    assert current.status_code == 200, current.text
    body = current.json()
    assert body["status"] == "active" and body["tenant_id"] == owner["tenant_id"] and body["timezone"] == "UTC"
    history = call(cloud, "GET", "/v1/subscriptions", owner).json()
    assert [s["id"] for s in history["items"]] == [body["id"]]
    item = subscription_item(cloud, owner["tenant_id"])
    assert item and item["GSI1PK"] == due_pk(datetime.fromisoformat(body["current_period_end"]).astimezone(UTC).date())
    assert item["GSI1SK"] == tenant_pk(owner["tenant_id"])


# -- subscribe and change -----------------------------------------------------------------------------------------

def test_subscribing_without_a_card_answers_402_and_applies_once_checkout_is_paid(
        cloud: Any, owner: dict[str, Any]) -> None:
    answer = call(cloud, "POST", "/v1/subscriptions", owner, body={"plan_code": PRO})
    assert answer.status_code == 402, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    problem = answer.json()
    assert problem["amount_due"] == 3000 and problem["currency"] == "USD" and problem["checkout_url"]
    assert call(cloud, "GET", "/v1/subscriptions/current", owner).json()["plan_code"] != PRO
    assert complete_checkout(cloud, problem["checkout_session_id"]).status_code == 200
    assert deliver(cloud, problem["checkout_session_id"]).split(":")[0] in ("applied", "duplicate")
    current = call(cloud, "GET", "/v1/subscriptions/current", owner).json()
    assert (current["plan_code"], current["status"]) == (PRO, "active")
    features = {e["feature"]: e for e in call(cloud, "GET", "/v1/entitlements", owner).json()["items"]}
    assert features[FEATURE]["enabled"] and features[FEATURE]["source"] == "plan"


def test_a_declined_card_on_checkout_leaves_the_change_pending(cloud: Any, owner: dict[str, Any]) -> None:
    problem = call(cloud, "POST", "/v1/subscriptions", owner, body={"plan_code": PRO}).json()
    assert complete_checkout(cloud, problem["checkout_session_id"], card="4000000000000002").status_code == 402
    pending = subscriptions(cloud).checkout(TenantContext(owner["tenant_id"]), problem["checkout_session_id"])
    assert pending and pending["status"] == "pending"
    assert call(cloud, "GET", "/v1/subscriptions/current", owner).json()["plan_code"] != PRO


def test_with_a_saved_card_a_mid_period_upgrade_charges_the_proration(cloud: Any, paying: dict[str, Any]) -> None:
    subscribed = call(cloud, "POST", "/v1/subscriptions", paying, body={"plan_code": PRO})
    assert subscribed.status_code == 201, subscribed.text
    assert subscribed.json()["preview"]["amount_due"] == 3000 and subscribed.json()["payment_id"]
    # Move the anchor ten days back, as if the tenant had subscribed then.
    items, tenant = table(cloud), paying["tenant_id"]
    item = subscription_item(cloud, tenant)
    assert item
    from wrapper.subscriptions.models import Subscription
    from wrapper.subscriptions.store import SubscriptionStore

    sub = Subscription.model_validate_json(item["doc"])
    anchor = datetime.fromtimestamp(time.time() - 10 * 86400, UTC)
    store = SubscriptionStore(items, outbox_ttl_days=7)
    moved = sub.model_copy(update={"anchor": anchor, "version": sub.version + 1})
    store.write(store.save_ops(moved, expected_version=sub.version), [])
    preview = call(cloud, "POST", "/v1/subscriptions/current/preview", paying, body={"plan_code": BIZ}).json()
    before = time.time()
    upgraded = call(cloud, "PATCH", "/v1/subscriptions/current", paying, body={"plan_code": BIZ})
    after = time.time()
    assert upgraded.status_code == 200, upgraded.text
    change = upgraded.json()
    start = datetime.fromisoformat(change["preview"]["period_start"]).timestamp()
    end = datetime.fromisoformat(change["preview"]["period_end"]).timestamp()
    low, high = ((end - t) / (end - start) * 3000 for t in (after, before))
    assert low - 1 <= change["preview"]["amount_due"] <= high + 1  # 6000·share - 3000·share, each line rounded
    assert abs(preview["amount_due"] - change["preview"]["amount_due"]) <= 1
    intent = stripe_get(cloud, f"/v1/payment_intents/{change['payment_id']}")
    assert intent["amount"] == change["preview"]["amount_due"] and intent["status"] == "succeeded"
    assert change["subscription"]["plan_code"] == BIZ


def test_a_downgrade_waits_for_the_period_end(cloud: Any, paying: dict[str, Any]) -> None:
    call(cloud, "POST", "/v1/subscriptions", paying, body={"plan_code": BIZ})
    answer = call(cloud, "PATCH", "/v1/subscriptions/current", paying, body={"plan_code": PRO})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["preview"]["amount_due"] == 0 and body["payment_id"] is None
    assert body["subscription"]["plan_code"] == BIZ
    assert body["subscription"]["scheduled_change"]["plan_code"] == PRO
    assert body["subscription"]["scheduled_change"]["at"] == body["subscription"]["current_period_end"]


def test_seats_add_now_and_remove_at_the_period_end(cloud: Any, paying: dict[str, Any]) -> None:
    started = call(cloud, "POST", "/v1/subscriptions", paying, body={"plan_code": TEAM, "seats": 2}).json()
    assert started["preview"]["amount_due"] == 2000
    more = call(cloud, "PATCH", "/v1/subscriptions/current", paying, body={"seats": 4}).json()
    assert more["subscription"]["seats"] == 4 and 1998 <= more["preview"]["amount_due"] <= 2000
    fewer = call(cloud, "PATCH", "/v1/subscriptions/current", paying, body={"seats": 1}).json()
    assert fewer["subscription"]["seats"] == 4 and fewer["subscription"]["scheduled_change"]["seats"] == 1


def test_cancel_at_period_end_and_resume(cloud: Any, paying: dict[str, Any]) -> None:
    call(cloud, "POST", "/v1/subscriptions", paying, body={"plan_code": PRO})
    canceled = call(cloud, "POST", "/v1/subscriptions/current/cancel", paying, body={"at_period_end": True})
    assert canceled.status_code == 200 and canceled.json()["cancel_at_period_end"] is True
    resumed = call(cloud, "POST", "/v1/subscriptions/current/resume", paying)
    assert resumed.status_code == 200 and resumed.json()["cancel_at_period_end"] is False
    assert call(cloud, "POST", "/v1/subscriptions/current/resume", paying).status_code == 409
    now = call(cloud, "POST", "/v1/subscriptions/current/cancel", paying, body={"at_period_end": False}).json()
    assert now["plan_code"] != PRO
    statuses = [(s["plan_code"], s["status"]) for s in call(cloud, "GET", "/v1/subscriptions", paying).json()["items"]]
    assert (PRO, "canceled") in statuses


def test_a_trial_starts_without_a_payment(cloud: Any, owner: dict[str, Any]) -> None:
    answer = call(cloud, "POST", "/v1/subscriptions", owner, body={"plan_code": TRIAL})
    assert answer.status_code == 201, answer.text
    assert answer.json()["subscription"]["status"] == "trialing" and answer.json()["payment_id"] is None


def test_a_coupon_redeems_up_to_its_limit(cloud: Any) -> None:
    first, second = signup(cloud, "Coupon one"), signup(cloud, "Coupon two")
    save_card(cloud, first)
    used = call(cloud, "POST", "/v1/subscriptions", first, body={"plan_code": PRO, "coupon": ONE_USE_COUPON})
    assert used.status_code == 201, used.text
    assert (used.json()["preview"]["discount"], used.json()["preview"]["amount_due"]) == (1500, 1500)
    refused = call(cloud, "POST", "/v1/subscriptions", second, body={"plan_code": PRO, "coupon": ONE_USE_COUPON})
    assert refused.status_code == 422 and refused.headers["Content-Type"] == PROBLEM
    assert call(cloud, "GET", "/v1/subscriptions/current", second).json()["plan_code"] != PRO


def test_the_same_idempotency_key_subscribes_and_charges_once(cloud: Any, paying: dict[str, Any]) -> None:
    key = {"Idempotency-Key": f"sub-{uuid.uuid4()}"}
    first = call(cloud, "POST", "/v1/subscriptions", paying, body={"plan_code": PRO}, headers=key)
    again = call(cloud, "POST", "/v1/subscriptions", paying, body={"plan_code": PRO}, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    other = call(cloud, "POST", "/v1/subscriptions", paying, body={"plan_code": BIZ}, headers=key)
    assert other.status_code == 422 and other.headers["Content-Type"] == PROBLEM
    charged = [r for r in cloud.stripe.requests_to("POST", "/v1/payment_intents")
               if r.idempotency_key and first.json()["subscription"]["id"] in r.idempotency_key] or None
    assert charged is None or len({r.idempotency_key for r in charged}) == 1
    versions = [s["version"] for s in call(cloud, "GET", "/v1/subscriptions", paying).json()["items"]]
    assert versions.count(first.json()["subscription"]["version"]) == 1


# -- who may, and what is refused ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "manager", "member", "viewer"])
def test_only_billing_write_changes_the_subscription(cloud: Any, owner: dict[str, Any], role: str) -> None:
    tenant = owner["tenant_id"]
    other = signup(cloud, f"{role} elsewhere")
    join(cloud, tenant, other["user_id"], role)
    before = call(cloud, "GET", "/v1/subscriptions/current", owner).json()
    for method, path, body in [("POST", "/v1/subscriptions", {"plan_code": PRO}),
                               ("PATCH", "/v1/subscriptions/current", {"plan_code": PRO}),
                               ("POST", "/v1/subscriptions/current/cancel", {"at_period_end": True}),
                               ("POST", "/v1/subscriptions/current/resume", None)]:
        answer = call(cloud, method, path, other, tenant=tenant, body=body)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.headers["Content-Type"] == PROBLEM
    reads = call(cloud, "GET", "/v1/subscriptions/current", other, tenant=tenant).status_code
    assert reads == (200 if role in ("admin", "manager") else 403)
    assert call(cloud, "GET", "/v1/entitlements", other, tenant=tenant).status_code == 200
    assert call(cloud, "GET", "/v1/subscriptions/current", owner).json() == before


def test_another_tenant_never_reads_or_changes_this_subscription(cloud: Any, paying: dict[str, Any]) -> None:
    acme = paying["tenant_id"]
    call(cloud, "POST", "/v1/subscriptions", paying, body={"plan_code": PRO})
    before = subscription_item(cloud, acme)
    stranger = signup(cloud, "Globex")
    for method, path, body in [("GET", "/v1/subscriptions", None), ("GET", "/v1/subscriptions/current", None),
                               ("POST", "/v1/subscriptions", {"plan_code": BIZ}),
                               ("PATCH", "/v1/subscriptions/current", {"plan_code": BIZ}),
                               ("POST", "/v1/subscriptions/current/preview", {"plan_code": BIZ}),
                               ("POST", "/v1/subscriptions/current/cancel", {"at_period_end": False}),
                               ("POST", "/v1/subscriptions/current/resume", None),
                               ("GET", "/v1/entitlements", None)]:
        answer = call(cloud, method, path, stranger, tenant=acme, body=body)
        assert answer.status_code == 403, (method, path, answer.text)
        assert acme not in answer.text
    # Acting for itself, the stranger only ever sees its own subscription.
    own = call(cloud, "GET", "/v1/subscriptions/current", stranger).json()
    assert own["tenant_id"] == stranger["tenant_id"] and own["id"] != before["subscription_id"]  # type: ignore[index]
    assert subscription_item(cloud, acme) == before


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/v1/subscriptions", {}),
    ("POST", "/v1/subscriptions", {"plan_code": PRO, "admin": True}),
    ("POST", "/v1/subscriptions", {"plan_code": PRO, "seats": "many"}),
    ("POST", "/v1/subscriptions", {"plan_code": PRO, "seats": 0}),
    ("POST", "/v1/subscriptions", {"plan_code": "no-such-plan"}),
    ("POST", "/v1/subscriptions", {"plan_code": PRO, "interval": "week"}),
    ("POST", "/v1/subscriptions", {"plan_code": PRO, "coupon": "NOSUCHCOUPON"}),
    ("POST", "/v1/subscriptions", "not json"),
    ("PATCH", "/v1/subscriptions/current", {}),
    ("PATCH", "/v1/subscriptions/current", {"plan_code": PRO, "status": "active"}),
    ("PATCH", "/v1/subscriptions/current", {"seats": 2.5}),
    ("PATCH", "/v1/subscriptions/current", {"plan_code": BIZ, "interval": "year"}),  # no yearly price
    ("POST", "/v1/subscriptions/current/preview", {"plan_code": 7}),
    ("POST", "/v1/subscriptions/current/cancel", {"at_period_end": "soon"}),
    ("POST", "/v1/subscriptions/current/cancel", {"at_period_end": True, "refund": True}),
])
def test_bad_input_is_refused_and_nothing_is_written(cloud: Any, owner: dict[str, Any], method: str, path: str,
                                                     body: Any) -> None:
    before = call(cloud, "GET", "/v1/subscriptions/current", owner).json()
    answer = call(cloud, method, path, owner, body=body)
    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert call(cloud, "GET", "/v1/subscriptions/current", owner).json() == before
    assert billing_record(cloud, owner["tenant_id"]) is None
