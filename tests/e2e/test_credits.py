"""The credit wallet over HTTP: the operator grants credits, usage events on a plan that prices
meters in credits spend them exactly once (duplicates and concurrent batches included), the
overdraft bounds the balance, top-ups are bought on the saved card or through Checkout and its
webhook, once per Idempotency-Key; the balance always equals the sum of the ledger; other tenants,
roles and bad input are refused."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.e2e.flows import billing_record, complete_checkout, deliver, save_card, stripe_get
from tests.support import answered, call, join, refused, signup, table
from wrapper.catalog.seed_data import seed_catalog
from wrapper.identity.operators import grant_operator
from wrapper.store.schema import OUTBOX_SK_PREFIX, tenant_pk

PROBLEM = "application/problem+json"
SUFFIX = uuid.uuid4().hex[:6]
METERED, NO_OVERDRAFT = f"credits-{SUFFIX}", f"credits-strict-{SUFFIX}"


@pytest.fixture(scope="module")
def operator(cloud: Any) -> dict[str, Any]:
    seed_catalog(table(cloud))
    session = signup(cloud, "Credits operator")
    grant_operator(table(cloud), session["user_id"])
    # Two free plans that price API calls and tokens in credits: one lets the wallet go 10 below zero.
    for code, overdraft in ((METERED, "10"), (NO_OVERDRAFT, "0")):
        plan = answered(call(cloud, "POST", "/v1/admin/plans", session, body={
            "code": code, "name": code, "credit_overdraft": overdraft, "entitlements": [
                {"feature": "api_calls", "credit_rate": "0.5"},
                {"feature": "tokens", "credit_rate": "0.001", "limit": 10_000_000, "thresholds": [50, 90]}]}), 201)
        answered(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", session, body={
            "interval": {"unit": "month"}, "spec": {"model": "flat", "currency": "USD", "flat_amount": 0}}), 201)
    return session


def _tenant_on(cloud: Any, plan_code: str, name: str) -> dict[str, Any]:
    owner = signup(cloud, name)
    answer = answered(call(cloud, "POST", "/v1/subscriptions", owner, body={"plan_code": plan_code}), 201)
    assert answer["subscription"]["plan_code"] == plan_code
    return owner


def _grant(cloud: Any, operator: dict[str, Any], tenant_id: str, body: dict[str, Any],
           key: str | None = None) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else None
    return call(cloud, "POST", f"/v1/admin/tenants/{tenant_id}/credits/grants", operator, body=body, headers=headers)


def _events(n: int, name: str = "api_call", **properties: Any) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return [{"event_id": uuid.uuid4().hex, "name": name, "timestamp": now, "properties": properties}
            for _ in range(n)]


def _send(cloud: Any, owner: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    results = answered(call(cloud, "POST", "/v1/usage/events", owner, body={"events": events}))["results"]
    return [r["status"] for r in results]


def _wallet(cloud: Any, owner: dict[str, Any]) -> dict[str, Any]:
    wallet: dict[str, Any] = answered(call(cloud, "GET", "/v1/credits", owner))
    return wallet


def _ledger(cloud: Any, owner: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = answered(call(cloud, "GET", "/v1/credits/ledger", owner, limit=100,
                             **({"cursor": cursor} if cursor else {})))
        entries.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return entries


def _balance_is_the_ledger(cloud: Any, owner: dict[str, Any]) -> Decimal:
    balance = Decimal(str(_wallet(cloud, owner)["balance"]))
    assert balance == sum((Decimal(str(e["amount"])) for e in _ledger(cloud, owner)), Decimal(0))
    return balance


# -- granting and spending ---------------------------------------------------------------------------------------

def test_usage_spends_granted_credits_once_per_event_in_priority_order(cloud: Any, operator: dict[str, Any]) -> None:
    owner = _tenant_on(cloud, METERED, "Spends credits")
    tenant = owner["tenant_id"]
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    bonus = answered(_grant(cloud, operator, tenant, {"credits": 20, "priority": 1, "expires_at": later,
                                                 "description": "welcome bonus"}), 201)
    main = answered(_grant(cloud, operator, tenant, {"credits": 100}), 201)
    assert (Decimal(str(bonus["remaining"])), bonus["source"]) == (20, "operator")

    events = _events(50) + _events(10, "completion", tokens=2000)  # 50 x 0.5 + 10 x 2000 x 0.001 = 45
    assert _send(cloud, owner, events) == ["accepted"] * 60
    assert _send(cloud, owner, events[:20]) == ["duplicate"] * 20  # sent again: not charged again
    wallet = _wallet(cloud, owner)
    assert Decimal(str(wallet["balance"])) == 120 - 45
    # The bonus (priority 1) went first; the rest came from the main grant.
    assert [(g["id"], Decimal(str(g["remaining"]))) for g in wallet["grants"]] == [(main["id"], Decimal(75))]
    entries = _ledger(cloud, owner)
    spent = [e for e in entries if e["kind"] == "consumption"]
    assert len(spent) == 60 and len({e["event_id"] for e in spent}) == 60
    assert {e["event_id"] for e in spent} == {e["event_id"] for e in events}
    assert _balance_is_the_ledger(cloud, owner) == 75


def test_concurrent_batches_with_duplicates_spend_exactly(cloud: Any, operator: dict[str, Any]) -> None:
    owner = _tenant_on(cloud, METERED, "Concurrent spender")
    answered(_grant(cloud, operator, owner["tenant_id"], {"credits": 1000}), 201)
    unique = _events(120)
    batches = [unique[n:n + 30] + unique[(n + 30) % 120:(n + 30) % 120 + 5] for n in range(0, 120, 30)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = [s for batch in pool.map(lambda b: _send(cloud, owner, b), batches) for s in batch]
    assert statuses.count("accepted") == 120 and statuses.count("rejected") == 0
    assert _balance_is_the_ledger(cloud, owner) == 1000 - 60


def test_the_overdraft_bounds_the_balance_and_a_grant_repays_it(cloud: Any, operator: dict[str, Any]) -> None:
    lenient = _tenant_on(cloud, METERED, "Overdrawn")
    strict = _tenant_on(cloud, NO_OVERDRAFT, "Never below zero")
    for owner in (lenient, strict):
        answered(_grant(cloud, operator, owner["tenant_id"], {"credits": 5}), 201)
        assert _send(cloud, owner, _events(40)) == ["accepted"] * 40  # 20 credits of usage: all counted
    assert _wallet(cloud, lenient)["balance"] == -10 and _wallet(cloud, lenient)["overdraft_limit"] == 10
    assert _wallet(cloud, strict)["balance"] == 0
    summary = {i["meter"]: i for i in answered(call(cloud, "GET", "/v1/usage/summary", strict))["items"]}
    assert summary["api_calls"]["value"] == 40  # what credits did not cover is still usage
    answered(_grant(cloud, operator, lenient["tenant_id"], {"credits": 25}), 201)
    assert _balance_is_the_ledger(cloud, lenient) == 15
    assert _balance_is_the_ledger(cloud, strict) == 0
    for owner in (lenient, strict):  # each ran dry once: one credits.depleted
        items, _ = table(cloud).query(tenant_pk(owner["tenant_id"]), sk_prefix=OUTBOX_SK_PREFIX, limit=1000)
        assert [i.get("event_type") for i in items].count("credits.depleted") == 1


def test_an_operator_grant_with_an_idempotency_key_happens_once(cloud: Any, operator: dict[str, Any]) -> None:
    owner = signup(cloud, "Granted once")
    key = f"grant-{uuid.uuid4().hex}"
    first = answered(_grant(cloud, operator, owner["tenant_id"], {"credits": 30}, key), 201)
    again = answered(_grant(cloud, operator, owner["tenant_id"], {"credits": 30}, key), 201)
    assert first["id"] == again["id"]
    problem = refused(_grant(cloud, operator, owner["tenant_id"], {"credits": 31}, key), 422)
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert _balance_is_the_ledger(cloud, owner) == 30
    assert [e["kind"] for e in _ledger(cloud, owner)] == ["grant"]


# -- buying --------------------------------------------------------------------------------------------------------

def test_a_top_up_on_the_saved_card_is_granted_at_once_and_once_per_key(cloud: Any) -> None:
    owner = signup(cloud, "Buys credits")
    save_card(cloud, owner)
    key = {"Idempotency-Key": f"topup-{uuid.uuid4().hex}"}
    grant = answered(call(cloud, "POST", "/v1/credits/top-ups", owner, body={"credits": 500}, headers=key), 201)
    again = answered(call(cloud, "POST", "/v1/credits/top-ups", owner, body={"credits": 500}, headers=key), 201)
    assert grant == again and grant["source"] == "purchase"
    assert _balance_is_the_ledger(cloud, owner) == 500
    customer = str(billing_record(cloud, owner["tenant_id"])["stripe_customer_id"])
    intents = stripe_get(cloud, "/v1/payment_intents?limit=100")["data"]
    credit_payments = [p for p in intents if p.get("customer") == customer
                       and (p.get("metadata") or {}).get("purpose") == "credit_top_up"]
    assert [(p["amount"], p["status"]) for p in credit_payments] == [(500, "succeeded")]


def test_a_top_up_without_a_card_is_paid_on_checkout_and_granted_by_the_webhook_once(cloud: Any) -> None:
    owner = signup(cloud, "Pays on Checkout")
    problem = refused(call(cloud, "POST", "/v1/credits/top-ups", owner, body={"credits": 250}), 402)
    assert problem["amount_due"] == 250 and problem["checkout_url"]
    assert _wallet(cloud, owner)["balance"] == 0
    assert complete_checkout(cloud, problem["checkout_session_id"]).status_code == 200
    assert deliver(cloud, problem["checkout_session_id"]).startswith("applied")
    deliver(cloud, problem["checkout_session_id"])  # Stripe delivers again: granted once
    wallet = _wallet(cloud, owner)
    assert wallet["balance"] == 250 and [g["source"] for g in wallet["grants"]] == ["purchase"]
    assert _balance_is_the_ledger(cloud, owner) == 250


# -- who may, and bad input ----------------------------------------------------------------------------------------

def test_the_wallet_is_billing_data_and_another_tenants_is_never_reached(cloud: Any, operator: dict[str, Any]) -> None:
    owner = signup(cloud, "Wallet owner")
    other = signup(cloud, "Other tenant")
    answered(_grant(cloud, operator, owner["tenant_id"], {"credits": 7}), 201)
    viewer = signup(cloud, "Viewer's own")
    join(cloud, owner["tenant_id"], viewer["user_id"], "viewer")
    refused(call(cloud, "GET", "/v1/credits", viewer, tenant=owner["tenant_id"]), 403)
    refused(call(cloud, "POST", "/v1/credits/top-ups", viewer, tenant=owner["tenant_id"], body={"credits": 5}), 403)
    refused(call(cloud, "GET", "/v1/credits", other, tenant=owner["tenant_id"]), 403)
    assert _wallet(cloud, other) == {"balance": 0, "overdraft_limit": 0, "grants": []}
    assert _ledger(cloud, other) == []
    # A ledger cursor of one tenant pages nothing of another's.
    for n in range(3):
        answered(_grant(cloud, operator, owner["tenant_id"], {"credits": 1 + n}), 201)
    cursor = answered(call(cloud, "GET", "/v1/credits/ledger", owner, limit=1))["next_cursor"]
    assert cursor
    refused(call(cloud, "GET", "/v1/credits/ledger", other, limit=1, cursor=cursor), 422)
    # Tenant A's owner is no operator: no grants to anyone, its own tenant included.
    refused(_grant(cloud, owner, owner["tenant_id"], {"credits": 1000}), 403)
    assert _balance_is_the_ledger(cloud, owner) == 7 + 1 + 2 + 3


@pytest.mark.parametrize("body", [{}, {"credits": 0}, {"credits": -5}, {"credits": "many"}, {"credits": 10, "x": 1},
                                  {"credits": 10, "expires_at": "2030-01-01T00:00:00"},
                                  {"credits": 10, "priority": -1}, {"credits": "1e400"}])
def test_a_bad_grant_is_422_and_changes_nothing(cloud: Any, operator: dict[str, Any], body: dict[str, Any]) -> None:
    owner = signup(cloud, "Bad grants")
    refused(_grant(cloud, operator, owner["tenant_id"], body), 422)
    assert _ledger(cloud, owner) == []


def test_grants_to_no_tenant_or_with_a_bad_key_are_refused(cloud: Any, operator: dict[str, Any]) -> None:
    refused(_grant(cloud, operator, "01J0NOSUCHTENANT0000000000", {"credits": 5}), 404)
    refused(_grant(cloud, operator, "bad.id", {"credits": 5}), 422)
    owner = signup(cloud, "Bad key")
    refused(_grant(cloud, operator, owner["tenant_id"], {"credits": 5}, key="x" * 300), 422)
    assert _ledger(cloud, owner) == []


@pytest.mark.parametrize("body", [{}, {"credits": 0}, {"credits": 10_000_001}, {"credits": 1.5}, {"amount": 5}])
def test_a_bad_top_up_is_422_and_charges_nothing(cloud: Any, body: dict[str, Any]) -> None:
    owner = signup(cloud, "Bad top-up")
    refused(call(cloud, "POST", "/v1/credits/top-ups", owner, body=body), 422)
    assert billing_record(cloud, owner["tenant_id"]) is None  # no customer, no charge


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}])
def test_a_bad_ledger_query_is_422(cloud: Any, query: dict[str, Any]) -> None:
    owner = signup(cloud, "Bad ledger query")
    refused(call(cloud, "GET", "/v1/credits/ledger", owner, **query), 422)


# -- the plan's own thresholds -------------------------------------------------------------------------------------

def test_the_plans_thresholds_replace_the_default_80_and_100(cloud: Any, operator: dict[str, Any]) -> None:
    import json

    owner = _tenant_on(cloud, METERED, "Own thresholds")
    _send(cloud, owner, _events(1, "completion", tokens=4_000_000))  # 40% of 10,000,000
    _send(cloud, owner, _events(1, "completion", tokens=1_000_000))  # 50%
    _send(cloud, owner, _events(1, "completion", tokens=3_500_000))  # 85%
    _send(cloud, owner, _events(1, "completion", tokens=500_000))  # 90%
    _send(cloud, owner, _events(1, "completion", tokens=1_000_000))  # 100%: not a threshold of this plan
    items, _ = table(cloud).query(tenant_pk(owner["tenant_id"]), sk_prefix=OUTBOX_SK_PREFIX, limit=1000)
    reached = sorted(json.loads(str(i["envelope"]))["data"]["threshold_percent"] for i in items
                     if i.get("event_type") == "usage.threshold_reached")
    assert reached == [50, 90]
    check = answered(call(cloud, "GET", "/v1/entitlements/tokens", owner))
    assert (check["used"], check["limit"], check["allowed"]) == (10_000_000, 10_000_000, False)


@pytest.mark.parametrize("entitlement", [
    {"feature": "audit_log", "thresholds": [50]},  # not metered
    {"feature": "seats", "credit_rate": "1"},  # not metered
    {"feature": "tokens", "credit_rate": "-1"}, {"feature": "tokens", "credit_rate": "0"},
    {"feature": "tokens", "thresholds": [0]}, {"feature": "tokens", "thresholds": [50] * 11},
    {"feature": "tokens", "credit_rate": "0.0000001"},
    {"feature": "storage_gb", "credit_rate": "1"}])  # a latest meter: no units to spend credits per
def test_a_plan_with_bad_thresholds_or_credit_rate_is_refused(cloud: Any, operator: dict[str, Any],
                                                              entitlement: dict[str, Any]) -> None:
    code = f"bad-{uuid.uuid4().hex[:8]}"
    refused(call(cloud, "POST", "/v1/admin/plans", operator,
                  body={"code": code, "name": "Bad", "entitlements": [entitlement]}), 422)
    assert refused(call(cloud, "POST", "/v1/admin/plans", operator, body={
        "code": code, "name": "Bad", "credit_overdraft": "-1"}), 422)
    plans = answered(call(cloud, "GET", "/v1/admin/plans", operator))["items"]
    assert code not in {p["code"] for p in plans}
