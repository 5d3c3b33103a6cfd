"""Period ends in the billing run, end to end: the scheduled state machine on the local cloud, the task
Lambda, the table and the local Stripe server. Each test moves one tenant's period to end on a day of its
own (far in the future, so no other test's subscription is due then) and starts the run for that day.

What a tenant sees of the billing run is its subscription, its invoices (``GET /v1/invoices``), its audit
log and the charges at Stripe, and those are what is checked."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.flows import (
    BIZ,
    DECLINED_ON_CHARGE,
    PRO,
    TRIAL,
    replace_card,
    save_card,
    seed_plans,
    stripe_get,
    subscription_item,
)
from tests.support import answered, call, finished_billing, run_billing, signup, start_billing, table, wait_for
from wrapper.store.schema import due_pk


@pytest.fixture(scope="module", autouse=True)
def plans(cloud: Any) -> None:
    seed_plans(cloud)


@pytest.fixture
def paying(cloud: Any) -> dict[str, Any]:
    session = signup(cloud, "Renewing")
    save_card(cloud, session)
    return session


def _subscribe(cloud: Any, owner: dict[str, Any], plan_code: str) -> dict[str, Any]:
    answer = call(cloud, "POST", "/v1/subscriptions", owner, body={"plan_code": plan_code})
    assert answer.status_code == 201, answer.text
    subscription: dict[str, Any] = answer.json()["subscription"]
    return subscription


def _period_ends_on(cloud: Any, tenant_id: str, day: date) -> None:
    """Rewrite the subscription as if it had started a month before ``day`` at noon UTC (a trial: as if it
    ended on ``day``), so its period, a scheduled change and its due-date index entry all point at ``day``."""
    from wrapper.kernel.tenant import TenantContext
    from wrapper.subscriptions.store import SubscriptionStore

    store = SubscriptionStore(table(cloud), outbox_ttl_days=7)
    current = store.current(TenantContext(tenant_id))
    assert current is not None
    end = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    if current.status == "trialing":
        dates: dict[str, Any] = {"anchor": end, "current_period_start": end - timedelta(days=14),
                                 "current_period_end": end, "trial_end": end}
    else:
        start = end.replace(month=end.month - 1)
        dates = {"anchor": start, "current_period_start": start, "current_period_end": end}
    if current.scheduled_change:
        dates["scheduled_change"] = current.scheduled_change.model_copy(update={"at": end})
    moved = current.model_copy(update={**dates, "version": current.version + 1})
    store.write(store.save_ops(moved, expected_version=current.version), [])


def _results(cloud: Any, day: date) -> list[dict[str, Any]]:
    execution = run_billing(cloud, datetime(day.year, day.month, day.day, 2, tzinfo=UTC))
    assert execution["status"] == "SUCCEEDED", execution
    results: list[dict[str, Any]] = json.loads(execution["output"])["results"]
    return results


def _result_for(cloud: Any, day: date, tenant_id: str, step: str = "period_end") -> dict[str, Any]:
    [result] = [r for r in _results(cloud, day) if r["tenant_id"] == tenant_id and r["step"] == step]
    return result


def _current(cloud: Any, owner: dict[str, Any]) -> dict[str, Any]:
    answer = call(cloud, "GET", "/v1/subscriptions/current", owner)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _invoices(cloud: Any, owner: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = answered(call(cloud, "GET", "/v1/invoices", owner), 200)["items"]
    return items


def _audited(cloud: Any, owner: dict[str, Any], action: str, count: int = 1) -> list[dict[str, Any]]:
    def logged() -> list[dict[str, Any]] | None:
        items = call(cloud, "GET", "/v1/audit-log", owner, limit=100).json()["items"]
        found = [e for e in items if e["action"] == action]
        return found if len(found) >= count else None

    entries: list[dict[str, Any]] = wait_for(logged, timeout=30, message=f"{action} in the audit log")
    return entries


def test_a_renewal_charges_the_saved_card_once_and_moves_the_due_date(cloud: Any, paying: dict[str, Any]) -> None:
    day = date(2040, 3, 10)
    subscription = _subscribe(cloud, paying, PRO)
    _period_ends_on(cloud, paying["tenant_id"], day)

    result = _result_for(cloud, day, paying["tenant_id"])

    assert (result["status"], result["amount"], result["subscription_id"]) == ("renewed", 3000, subscription["id"])
    intent = stripe_get(cloud, f"/v1/payment_intents/{result['payment_id']}")
    assert (intent["amount"], intent["status"], intent["currency"]) == (3000, "succeeded", "usd")
    assert intent["metadata"]["tenant_id"] == paying["tenant_id"]
    current = _current(cloud, paying)
    assert current["current_period_start"].startswith("2040-03-10T12:00")
    assert current["current_period_end"].startswith("2040-04-10T12:00") and current["status"] == "active"
    item = subscription_item(cloud, paying["tenant_id"])
    assert item and item["GSI1PK"] == due_pk(date(2040, 4, 10))
    invoice, at_subscribe = _invoices(cloud, paying)  # newest first: the renewal's, then the first period's
    assert at_subscribe["lines"][0]["period_start"] < invoice["lines"][0]["period_start"]
    assert (invoice["payment_id"], invoice["amount_paid"], invoice["status"]) == (result["payment_id"], 3000, "paid")
    assert invoice["id"] == result["invoice_id"] and intent["metadata"]["invoice_id"] == invoice["id"]
    [paid] = [e for e in _audited(cloud, paying, "payment.succeeded", 2) if e["actor"] == "billing-run"]
    assert paid["target"] == subscription["id"]

    again = _results(cloud, day)

    # The renewal moved the subscription off that day's index entry: a second run finds nothing to do.
    assert not [r for r in again if r["tenant_id"] == paying["tenant_id"]]
    assert _invoices(cloud, paying) == [invoice, at_subscribe]
    assert _current(cloud, paying) == current


def test_two_runs_of_the_same_day_at_once_charge_once(cloud: Any, paying: dict[str, Any]) -> None:
    day = date(2045, 3, 10)
    _subscribe(cloud, paying, PRO)
    _period_ends_on(cloud, paying["tenant_id"], day)
    at = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)

    executions = [finished_billing(cloud, arn) for arn in [start_billing(cloud, at), start_billing(cloud, at)]]

    assert [e["status"] for e in executions] == ["SUCCEEDED", "SUCCEEDED"], executions
    mine = [r for e in executions for r in json.loads(e["output"])["results"] if r["tenant_id"] == paying["tenant_id"]]
    assert [r["status"] for r in mine].count("renewed") == 1
    assert all(r["status"] in ("renewed", "skipped") for r in mine)
    assert len(_invoices(cloud, paying)) == 2  # the first period's, and one renewal
    assert _current(cloud, paying)["current_period_end"].startswith("2045-04-10")


def test_a_scheduled_downgrade_applies_at_the_period_end(cloud: Any, paying: dict[str, Any]) -> None:
    day = date(2041, 3, 10)
    _subscribe(cloud, paying, BIZ)
    scheduled = call(cloud, "PATCH", "/v1/subscriptions/current", paying, body={"plan_code": PRO})
    assert scheduled.status_code == 200 and scheduled.json()["subscription"]["scheduled_change"], scheduled.text
    _period_ends_on(cloud, paying["tenant_id"], day)

    result = _result_for(cloud, day, paying["tenant_id"])

    assert (result["status"], result["amount"]) == ("applied", 3000)
    current = _current(cloud, paying)
    assert (current["plan_code"], current["scheduled_change"], current["status"]) == (PRO, None, "active")
    assert stripe_get(cloud, f"/v1/payment_intents/{result['payment_id']}")["amount"] == 3000


def test_cancel_at_period_end_stops_the_renewal(cloud: Any, paying: dict[str, Any]) -> None:
    day = date(2042, 3, 10)
    subscription = _subscribe(cloud, paying, PRO)
    canceled = call(cloud, "POST", "/v1/subscriptions/current/cancel", paying, body={"at_period_end": True})
    assert canceled.status_code == 200, canceled.text
    _period_ends_on(cloud, paying["tenant_id"], day)

    result = _result_for(cloud, day, paying["tenant_id"])

    assert result["status"] == "canceled" and result["payment_id"] is None
    assert [i["lines"][0]["kind"] for i in _invoices(cloud, paying)] == ["subscription"]  # the first period's only
    current = _current(cloud, paying)
    assert current["plan_code"] == "free" and current["id"] != subscription["id"]
    history = call(cloud, "GET", "/v1/subscriptions", paying).json()["items"]
    assert any(s["id"] == subscription["id"] and s["status"] == "canceled" for s in history)
    _audited(cloud, paying, "subscription.canceled")
    assert not [r for r in _results(cloud, day) if r["tenant_id"] == paying["tenant_id"]]


def test_a_declining_card_leaves_the_subscription_past_due(cloud: Any, paying: dict[str, Any]) -> None:
    day = date(2043, 3, 10)
    _subscribe(cloud, paying, PRO)
    # The customer replaces the card with one that attaches but declines every charge.
    replace_card(cloud, paying, DECLINED_ON_CHARGE)
    _period_ends_on(cloud, paying["tenant_id"], day)

    result = _result_for(cloud, day, paying["tenant_id"])

    assert result["status"] == "past_due", result
    current = _current(cloud, paying)
    assert current["status"] == "past_due" and current["plan_code"] == PRO
    assert current["current_period_end"].startswith("2043-04-10")
    [failed] = [e for e in _audited(cloud, paying, "payment.failed") if e["actor"] == "billing-run"]
    assert failed["target"] == current["id"]
    assert [(i["status"], i["amount_paid"]) for i in _invoices(cloud, paying)] == [("open", 0), ("paid", 3000)]
    # Past due keeps the plan's entitlements.
    features = {e["feature"] for e in call(cloud, "GET", "/v1/entitlements", paying).json()["items"]}
    assert "projects" in features


def test_a_trial_is_warned_once_three_days_ahead_then_charged_at_its_end(cloud: Any,
                                                                         paying: dict[str, Any]) -> None:
    trial_end = date(2044, 3, 10)
    subscription = _subscribe(cloud, paying, TRIAL)
    assert subscription["status"] == "trialing"
    _period_ends_on(cloud, paying["tenant_id"], trial_end)
    warn_day = trial_end - timedelta(days=3)

    first = _result_for(cloud, warn_day, paying["tenant_id"], "trial_ending")
    again = _result_for(cloud, warn_day, paying["tenant_id"], "trial_ending")

    assert (first["status"], again["status"]) == ("notified", "skipped")
    [warned] = _audited(cloud, paying, "trial.ending")
    assert warned["target"] == subscription["id"]

    charged = _result_for(cloud, trial_end, paying["tenant_id"])

    assert (charged["status"], charged["amount"]) == ("renewed", 2000)
    assert stripe_get(cloud, f"/v1/payment_intents/{charged['payment_id']}")["status"] == "succeeded"
    current = _current(cloud, paying)
    assert current["status"] == "active" and current["current_period_end"].startswith("2044-04-10")
    assert len(_audited(cloud, paying, "trial.ending")) == 1
