"""The operator's invoices and billing runs over HTTP: the operator starts the billing run of a period's end
(a day ahead of the clock: the local stage allows it), reads its status and summary, finds every tenant's
invoices, verifies one against the raw usage events, and voids an open one, which its tenant then reads as
void. Tenant owners and API keys get 403 on each of these routes (``test_operator`` holds every admin route).

The local clock is set years ahead for the test (``local_clock`` puts it back), so the period ends on a day
no other test's subscription is due, and these invoices are the newest of all.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.flows import catalog_operator, monthly_plan, save_card
from tests.support import LocalClock, answered, call, refused, signup, table, wait_for
from wrapper.store.schema import BILLING_SK, tenant_pk

SUFFIX = uuid.uuid4().hex[:6]
METER = f"units_{SUFFIX}"
EVENT = f"job.finished.{SUFFIX}"
PLAN = f"per-unit-{SUFFIX}"


@pytest.fixture(scope="module")
def operator(cloud: Any) -> dict[str, Any]:
    """The operator, and through their API a sum meter and a plan at 1000 a month plus 0.25 per unit used."""
    op = catalog_operator(cloud, "Billing operator")
    answered(call(cloud, "POST", "/v1/admin/meters", op, body={
        "code": METER, "event_name": EVENT, "aggregation": "sum", "property": "units"}), 201)
    monthly_plan(cloud, op, {"code": PLAN, "name": "Per unit"},
                 {"model": "flat", "currency": "USD", "flat_amount": 1000},
                 {"model": "per_unit", "currency": "USD", "meter": METER, "unit_amount": "0.25"})
    return op


def _customer(cloud: Any, name: str, *, card: bool, units: list[int], clock: LocalClock) -> dict[str, Any]:
    """A tenant subscribed on its saved card, which it still has at the period end or not (its billing record
    emptied, as if the card was removed), that sends ``units``."""
    owner = signup(cloud, name)
    save_card(cloud, owner)
    answered(call(cloud, "POST", "/v1/subscriptions", owner, body={"plan_code": PLAN}), 201)
    if not card:
        table(cloud).put({"PK": tenant_pk(owner["tenant_id"]), "SK": BILLING_SK})
    at = clock.now().isoformat().replace("+00:00", "Z")
    events = [{"event_id": f"{owner['tenant_id']}-{n}", "name": EVENT, "timestamp": at, "properties": {"units": u}}
              for n, u in enumerate(units)]
    results = answered(call(cloud, "POST", "/v1/usage/events", owner, body={"events": events}))["results"]
    assert {r["status"] for r in results} == {"accepted"}, results
    return owner


def _finished(cloud: Any, op: dict[str, Any], run_id: str) -> dict[str, Any]:
    def stopped() -> dict[str, Any] | None:
        run: dict[str, Any] = answered(call(cloud, "GET", f"/v1/admin/billing-runs/{run_id}", op))
        return run if run["status"] != "running" else None

    finished: dict[str, Any] = wait_for(stopped, timeout=60, interval=0.25, message="the billing run to finish")
    return finished


def test_the_operator_runs_billing_then_lists_verifies_and_voids_invoices(
        cloud: Any, operator: dict[str, Any], local_clock: LocalClock) -> None:
    # Given two tenants on the per-unit plan since a day years ahead: one with a card, one without
    local_clock.set(datetime(datetime.now(UTC).year + 13, 3, 7, 10, tzinfo=UTC))
    paying = _customer(cloud, "Paying Co", card=True, units=[30, 12], clock=local_clock)
    unpaid = _customer(cloud, "Unpaid Co", card=False, units=[8], clock=local_clock)
    period_end = answered(call(cloud, "GET", "/v1/subscriptions/current", paying))["current_period_end"][:10]

    # When the operator starts the run of the period's last day, still ahead of the clock
    started = answered(call(cloud, "POST", "/v1/admin/billing-runs", operator, body={"run_date": period_end},
                            headers={"Idempotency-Key": f"run-{SUFFIX}"}), 202)

    # Then it runs, a repeated start with the key answers the same run, and it succeeds with its summary
    assert (started["status"], started["run_date"], started["started_by"]) == (
        "running", period_end, operator["user_id"])
    again = answered(call(cloud, "POST", "/v1/admin/billing-runs", operator, body={"run_date": period_end},
                          headers={"Idempotency-Key": f"run-{SUFFIX}"}), 202)
    assert again["id"] == started["id"]
    run = _finished(cloud, operator, started["id"])
    assert run["status"] == "succeeded", run
    summary = run["summary"]
    assert (summary["outcomes"], summary["invoices"], summary["invoiced"]) == (
        {"renewed": 1, "past_due": 1}, 2, {"USD": 1000 + 11 + 1000 + 2})  # 42 x 0.25 = 10.5 -> 11; 8 x 0.25 = 2
    assert [(f["tenant_id"], f["status"]) for f in summary["failures"]] == [(unpaid["tenant_id"], "past_due")]
    runs = answered(call(cloud, "GET", "/v1/admin/billing-runs", operator, limit=10))["items"]
    assert run in runs

    # And the operator finds each tenant's invoice, by tenant, by status, across tenants and by id
    # (newest first: the period end's invoice, then the one subscribing paid)
    paid, first = answered(call(cloud, "GET", "/v1/admin/invoices", operator, tenant_id=paying["tenant_id"]))["items"]
    assert first["lines"][0]["kind"] == "subscription" and first["issued_at"] < paid["issued_at"]
    [open_] = answered(call(cloud, "GET", "/v1/admin/invoices", operator, tenant_id=unpaid["tenant_id"],
                            status="open"))["items"]
    assert (paid["status"], open_["status"], open_["amount_due"]) == ("paid", "open", 1002)
    newest = answered(call(cloud, "GET", "/v1/admin/invoices", operator, limit=2))["items"]
    assert {i["id"] for i in newest} == {paid["id"], open_["id"]}
    assert answered(call(cloud, "GET", f"/v1/admin/invoices/{open_['id']}", operator)) == \
        answered(call(cloud, "GET", f"/v1/invoices/{open_['id']}", unpaid))

    # And verify recomputes the usage line from the raw events: the same 42 units, the same 11
    usage = next(line for line in paid["lines"] if line["kind"] == "usage")
    assert answered(call(cloud, "GET", f"/v1/admin/invoices/{paid['id']}/verify", operator)) == {
        "invoice_id": paid["id"], "difference": 0, "lines": [{
            "line_id": usage["id"], "meter": METER, "quantity": "42", "recomputed_quantity": "42",
            "amount": 11, "recomputed_amount": 11, "difference": 0}]}

    # When the operator voids the open one
    voided = answered(call(cloud, "POST", f"/v1/admin/invoices/{open_['id']}/void", operator,
                           body={"reason": "settled outside Wrapper"}))

    # Then it is void with its number, its tenant reads it so, and invoice.voided reaches the tenant's audit log
    assert (voided["status"], voided["number"]) == ("void", open_["number"])
    assert answered(call(cloud, "GET", f"/v1/invoices/{open_['id']}", unpaid))["status"] == "void"
    entries = wait_for(lambda: answered(call(cloud, "GET", "/v1/audit-log", unpaid, action="invoice.voided"))["items"],
                       message="invoice.voided in the audit log")
    assert (entries[0]["actor"], entries[0]["target"]) == (operator["user_id"], open_["id"])
    # And neither it again nor a paid invoice can be voided
    refused(call(cloud, "POST", f"/v1/admin/invoices/{open_['id']}/void", operator), 409)
    refused(call(cloud, "POST", f"/v1/admin/invoices/{paid['id']}/void", operator, body={}), 409)


@pytest.mark.parametrize(("method", "path", "body", "query"), [
    ("GET", "/v1/admin/invoices", None, {"status": "bogus"}),
    ("GET", "/v1/admin/invoices", None, {"tenant_id": "not a tenant!"}),
    ("GET", "/v1/admin/invoices", None, {"limit": "0"}),
    ("GET", "/v1/admin/invoices", None, {"cursor": "not-a-cursor"}),
    ("GET", "/v1/admin/invoices/in_bad", None, {}),
    ("POST", "/v1/admin/invoices/in_20200101_0123456789abcdef/void", {"reason": "x" * 501}, {}),
    ("POST", "/v1/admin/invoices/in_20200101_0123456789abcdef/void", {"unknown": 1}, {}),
    ("GET", "/v1/admin/invoices/x/verify", None, {}),
    ("POST", "/v1/admin/billing-runs", {"run_date": "yesterday"}, {}),
    ("POST", "/v1/admin/billing-runs", {"run_date": "2020-01-01", "dry_run": True}, {}),
    ("POST", "/v1/admin/billing-runs", {}, {}),
    ("GET", "/v1/admin/billing-runs", None, {"limit": "101"}),
    ("GET", "/v1/admin/billing-runs", None, {"cursor": "not-a-token"}),
    ("GET", "/v1/admin/billing-runs/has%20a%20space", None, {}),
], ids=lambda v: str(v) if not isinstance(v, dict | type(None)) else "")
def test_bad_input_is_422(cloud: Any, operator: dict[str, Any], method: str, path: str, body: Any,
                          query: dict[str, str]) -> None:
    refused(call(cloud, method, path, operator, body=body, **query), 422)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/admin/invoices/in_20200101_0123456789abcdef"),
    ("POST", "/v1/admin/invoices/in_20200101_0123456789abcdef/void"),
    ("GET", "/v1/admin/invoices/in_20200101_0123456789abcdef/verify"),
    ("GET", "/v1/admin/billing-runs/operator-never-started"),
    ("GET", "/v1/admin/billing-runs/b64.bm90LWEtcnVu"),
])
def test_an_unknown_id_is_404(cloud: Any, operator: dict[str, Any], method: str, path: str) -> None:
    refused(call(cloud, method, path, operator), 404)
