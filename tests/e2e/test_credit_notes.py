"""Credit notes over HTTP: a tenant subscribes on its card (its first period's fee is invoiced and paid), the
operator credits part of that invoice as a refund through Stripe, then part as credits in the wallet; the
tenant reads its notes, another tenant reads none of them, and what would credit too much is refused.

The local clock is set years ahead for the test (``local_clock`` puts it back), so the notes' numbers are
the first of their year's series: ``CN-<year>-000001`` and ``-000002``, with no gap.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.flows import catalog_operator, monthly_plan, save_card
from tests.support import LocalClock, answered, call, refused, signup, wait_for

SUFFIX = uuid.uuid4().hex[:6]
PLAN = f"credited-{SUFFIX}"


@pytest.fixture(scope="module")
def operator(cloud: Any) -> dict[str, Any]:
    """The operator, and through their API a plan at 1000 a month."""
    op = catalog_operator(cloud, "Credit notes operator")
    monthly_plan(cloud, op, {"code": PLAN, "name": "Credited"},
                 {"model": "flat", "currency": "USD", "flat_amount": 1000})
    return op


def test_the_operator_refunds_and_credits_part_of_a_paid_invoice(
        cloud: Any, operator: dict[str, Any], local_clock: LocalClock) -> None:
    # Given a tenant subscribed on its card years ahead: its first period's fee is invoiced and paid
    year = datetime.now(UTC).year + 14
    local_clock.set(datetime(year, 5, 7, 10, tzinfo=UTC))
    owner = signup(cloud, "Credited Co")
    save_card(cloud, owner)
    answered(call(cloud, "POST", "/v1/subscriptions", owner, body={"plan_code": PLAN}), 201)
    [invoice] = answered(call(cloud, "GET", "/v1/invoices", owner))["items"]
    assert (invoice["status"], invoice["total"]) == ("paid", 1000), invoice
    line = invoice["lines"][0]
    path = f"/v1/admin/invoices/{invoice['id']}/credit-notes"

    # When the operator refunds 400 of its line, and the request is repeated with its key
    body = {"lines": [{"line_id": line["id"], "amount": 400}], "reason": "outage", "method": "refund"}
    refund = answered(call(cloud, "POST", path, operator, body=body, headers={"Idempotency-Key": f"r-{SUFFIX}"}), 201)
    again = answered(call(cloud, "POST", path, operator, body=body, headers={"Idempotency-Key": f"r-{SUFFIX}"}), 201)

    # Then one note, the first of its year's series, refunded through Stripe
    assert again == refund
    assert (refund["number"], refund["invoice_id"], refund["amount"], refund["method"]) == (
        f"CN-{year}-000001", invoice["id"], 400, "refund")
    assert str(refund["refund_id"]).startswith("re_"), refund

    # When the operator credits 300 more of the invoice to the tenant's wallet
    before = Decimal(str(answered(call(cloud, "GET", "/v1/credits", owner))["balance"]))
    refused(call(cloud, "POST", path, operator, body={"amount": 300, "method": "wallet"}), 422)  # no key: refused
    wallet = answered(call(cloud, "POST", path, operator, body={"amount": 300, "method": "wallet"},
                           headers={"Idempotency-Key": f"w-{SUFFIX}"}), 201)

    # Then the next number, and the wallet holds 300 / the credit unit amount more
    assert (wallet["number"], wallet["method"]) == (f"CN-{year}-000002", "wallet")
    after = Decimal(str(answered(call(cloud, "GET", "/v1/credits", owner))["balance"]))
    assert after - before == Decimal(str(wallet["credits"])) > 0

    # And the invoice says what was credited and refunded
    credited = answered(call(cloud, "GET", f"/v1/invoices/{invoice['id']}", owner))
    assert (credited["amount_credited"], credited["amount_refunded"], credited["status"]) == (700, 400, "paid")
    # And more than is left (300) is refused, as is a refund beyond what was paid less refunded
    refused(call(cloud, "POST", path, operator, body={"amount": 301}), 409)
    refused(call(cloud, "POST", path, operator, body={"lines": [{"line_id": line["id"], "amount": 601}]}), 409)

    # And the tenant reads its notes newest first (the list's index catches up a moment later)
    notes = wait_for(lambda: (lambda items: items if len(items) == 2 else None)(
        answered(call(cloud, "GET", "/v1/credit-notes", owner))["items"]), message="the tenant's two credit notes")
    assert [n["id"] for n in notes] == [wallet["id"], refund["id"]]
    ops_view = answered(call(cloud, "GET", path, operator))["items"]
    assert [n["id"] for n in ops_view] == [wallet["id"], refund["id"]]
    # And another tenant reads none of them, nor the invoice
    other = signup(cloud, "Other Co")
    assert answered(call(cloud, "GET", "/v1/credit-notes", other))["items"] == []
    refused(call(cloud, "GET", f"/v1/invoices/{invoice['id']}", other), 404)
    # And credit_note.created reaches the tenant's audit log, naming the operator
    entries = wait_for(lambda: answered(call(cloud, "GET", "/v1/audit-log", owner, action="credit_note.created"))[
        "items"] or None, message="credit_note.created in the audit log")
    assert {e["actor"] for e in entries} == {operator["user_id"]}


@pytest.mark.parametrize("body", [
    {}, {"amount": 0}, {"amount": 1, "lines": [{"line_id": "x", "amount": 1}]}, {"amount": 1, "method": "cash"},
    {"lines": [{"line_id": "x", "amount": -1}]}, {"amount": "ten"}, {"amount": 1, "reason": "x" * 501},
])
def test_a_bad_body_is_422(cloud: Any, operator: dict[str, Any], body: dict[str, Any]) -> None:
    refused(call(cloud, "POST", "/v1/admin/invoices/in_20200101_0123456789abcdef/credit-notes", operator,
                 body=body), 422)


def test_an_unknown_invoice_is_404_and_a_bad_id_or_key_422(cloud: Any, operator: dict[str, Any]) -> None:
    path = "/v1/admin/invoices/in_20200101_0123456789abcdef/credit-notes"
    refused(call(cloud, "POST", path, operator, body={"amount": 1}), 404)
    refused(call(cloud, "GET", path, operator), 404)
    refused(call(cloud, "POST", "/v1/admin/invoices/in_bad/credit-notes", operator, body={"amount": 1}), 422)
    refused(call(cloud, "GET", "/v1/credit-notes", operator, limit="0"), 422)
    refused(call(cloud, "GET", "/v1/credit-notes", operator, cursor="not-a-cursor"), 422)
