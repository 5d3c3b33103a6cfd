"""Invoices end to end, as a client sees them over HTTP: the operator prices a plan with a fee and a tiered
usage price and taxes a region; a tenant there subscribes, sends usage, reads its upcoming invoice; the
billing run at the period end issues exactly that invoice, numbered, taxed and paid on the saved card; a
second run changes nothing; another tenant never sees it.

The local clock is set years ahead for the test (``local_clock`` puts it back), so the period ends on a
day no other test's subscription is due.
"""

from __future__ import annotations

import random
import re
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.flows import catalog_operator, monthly_plan, save_card, stripe_get
from tests.support import LocalClock, answered, call, refused, run_billing, signup

SUFFIX = uuid.uuid4().hex[:6]
METER = f"tokens_{SUFFIX}"
EVENT = f"llm.completion.{SUFFIX}"
PLAN = f"metered-{SUFFIX}"
REGION = "US-" + "".join(random.choices(string.ascii_uppercase, k=3))


@pytest.fixture(scope="module")
def catalog(cloud: Any) -> dict[str, Any]:
    """Through the operator API: a sum meter, a plan at 3000 a month plus a graduated usage price (the first
    1000 tokens free, then 0.5 a token), and an 8.25% exclusive tax rate for one region."""
    op = catalog_operator(cloud, "Invoicing operator")
    answered(call(cloud, "POST", "/v1/admin/meters", op, body={
        "code": METER, "event_name": EVENT, "aggregation": "sum", "property": "tokens"}), 201)
    usage_spec: dict[str, Any] = {"model": "graduated", "currency": "USD", "meter": METER,
                  "tiers": [{"up_to": 1000, "unit_amount": "0"}, {"up_to": None, "unit_amount": "0.5"}]}
    plan = monthly_plan(cloud, op, {"code": PLAN, "name": "Metered"},
                        {"model": "flat", "currency": "USD", "flat_amount": 3000}, usage_spec)
    unknown = {"interval": {"unit": "month"}, "spec": {**usage_spec, "meter": f"nope_{SUFFIX}"}}
    refused(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body=unknown), 422)
    rate = answered(call(cloud, "POST", "/v1/admin/tax-rates", op, body={
        "name": "Sales tax", "percentage": "8.25", "inclusive": False, "country": "US", "region": REGION}), 201)
    return {"plan": plan, "rate": rate}


def _use(cloud: Any, owner: dict[str, Any], *tokens: int) -> None:
    now = datetime.now(UTC) + timedelta(seconds=LocalClock(cloud.api_url).offset())
    events = [{"event_id": f"{SUFFIX}-{n}", "name": EVENT, "timestamp": now.isoformat().replace("+00:00", "Z"),
               "properties": {"tokens": count}} for n, count in enumerate(tokens)]
    results = answered(call(cloud, "POST", "/v1/usage/events", owner, body={"events": events}), 200)["results"]
    assert {r["status"] for r in results} == {"accepted"}, results


def _lines(invoice: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(line["kind"], line["meter"], line["quantity"], line["amount"], line["tax_amount"])
            for line in invoice["lines"]]


def test_the_upcoming_invoice_is_what_the_period_end_issues_paid_once(
        cloud: Any, catalog: dict[str, Any], local_clock: LocalClock) -> None:
    # Given a tenant in the taxed region with a saved card, on the metered plan since a day years ahead
    start = local_clock.set(datetime(datetime.now(UTC).year + 9, 8, 3, 10, tzinfo=UTC))
    owner = signup(cloud, "Metered Customer")
    save_card(cloud, owner)
    answered(call(cloud, "PATCH", "/v1/tenant", owner, body={"billing_details": {
        "legal_name": "Metered Customer Inc.", "tax_id": "US-123",
        "address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345",
                    "region": REGION, "country": "US"}}}), 200)
    subscribed = answered(call(cloud, "POST", "/v1/subscriptions", owner, body={"plan_code": PLAN}), 201)
    period_end = datetime.fromisoformat(subscribed["subscription"]["current_period_end"])
    assert period_end.date() == (start + timedelta(days=31)).date()

    # When it uses 3001 tokens in the period
    _use(cloud, owner, 1000, 2001)

    # Then the upcoming invoice bills the next period's fee and this period's usage, taxed for its region
    upcoming = answered(call(cloud, "GET", "/v1/invoices/upcoming", owner), 200)
    assert _lines(upcoming) == [("subscription", None, "1", 3000, 248), ("usage", METER, "3001", 1001, 83)]
    # 2001 tokens past the free 1000 at 0.5 = 1000.5 -> 1001; tax 8.25% of 3000 = 247.5 -> 248, of 1001 = 82.58 -> 83
    assert (upcoming["subtotal"], upcoming["tax"], upcoming["total"], upcoming["amount_due"]) == (4001, 331, 4332, 4332)
    assert (upcoming["number"], upcoming["status"]) == (None, "draft")
    assert upcoming["customer"]["address"]["region"] == REGION
    [tax] = upcoming["taxes"]
    assert (tax["rate_id"], tax["percentage"], tax["taxable_amount"], tax["amount"]) == (
        catalog["rate"]["id"], "8.25", 4001, 331)
    # (subscribing charged the first period, taxed, and invoiced it)
    [first] = answered(call(cloud, "GET", "/v1/invoices", owner), 200)["items"]
    assert (_lines(first), first["total"], first["status"]) == ([("subscription", None, "1", 3000, 248)], 3248, "paid")
    assert subscribed["preview"]["tax"] == 248 and subscribed["preview"]["amount_due"] == 3248

    # When the billing run of the period's last day runs
    execution = run_billing(cloud, datetime(period_end.year, period_end.month, period_end.day, 2, tzinfo=UTC))

    # Then it issued that invoice, numbered, and charged its total on the saved card
    assert execution["status"] == "SUCCEEDED", execution
    issued, earlier = answered(call(cloud, "GET", "/v1/invoices", owner), 200)["items"]
    assert earlier == first
    assert {k: v for k, v in issued.items() if k not in ("number", "status", "issued_at", "amount_paid",
                                                          "payment_id", "attempts", "created_at")} == \
        {k: v for k, v in upcoming.items() if k not in ("number", "status", "issued_at", "amount_paid",
                                                         "payment_id", "attempts", "created_at")}
    assert re.fullmatch(rf"INV-{period_end.year}-\d{{6}}", issued["number"]), issued["number"]
    assert (issued["status"], issued["amount_paid"]) == ("paid", 4332)
    intent = stripe_get(cloud, f"/v1/payment_intents/{issued['payment_id']}")
    assert (intent["amount"], intent["status"], intent["metadata"]["invoice_id"]) == (4332, "succeeded", issued["id"])
    assert answered(call(cloud, "GET", f"/v1/invoices/{issued['id']}", owner), 200) == issued
    assert answered(call(cloud, "GET", "/v1/invoices", owner, status="paid"), 200)["items"] == [issued, first]
    assert answered(call(cloud, "GET", "/v1/invoices", owner, status="open"), 200)["items"] == []
    day = period_end.date().isoformat()
    assert answered(call(cloud, "GET", "/v1/invoices", owner, **{"from": day, "to": day}), 200)["items"] == [issued]
    before = (start - timedelta(days=1)).date().isoformat()
    assert answered(call(cloud, "GET", "/v1/invoices", owner, **{"to": before}), 200)["items"] == []
    assert answered(call(cloud, "GET", "/v1/invoices", owner, limit=1), 200)["items"] == [issued]

    # And the next period's upcoming invoice starts from no usage
    assert _lines(answered(call(cloud, "GET", "/v1/invoices/upcoming", owner), 200))[1][2] == "0"

    # When the same day's run runs again, nothing more is issued or charged
    again = run_billing(cloud, datetime(period_end.year, period_end.month, period_end.day, 2, tzinfo=UTC))
    assert again["status"] == "SUCCEEDED", again
    assert answered(call(cloud, "GET", "/v1/invoices", owner), 200)["items"] == [issued, first]

    # And another tenant reaches none of it
    stranger = signup(cloud, "Stranger")
    refused(call(cloud, "GET", f"/v1/invoices/{issued['id']}", stranger), 404)
    refused(call(cloud, "GET", f"/v1/invoices/{issued['id']}", stranger, tenant=owner["tenant_id"]), 403)
    assert answered(call(cloud, "GET", "/v1/invoices", stranger), 200)["items"] == []


@pytest.mark.parametrize("query", [{"status": "bogus"}, {"from": "2030-02-01", "to": "2030-01-01"},
                                   {"from": "yesterday"}, {"limit": "0"}, {"cursor": "not-a-cursor"}])
def test_a_bad_filter_is_422(cloud: Any, query: dict[str, str]) -> None:
    owner = signup(cloud, "Filtering")
    refused(call(cloud, "GET", "/v1/invoices", owner, **query), 422)


@pytest.mark.parametrize("invoice_id", ["in_bad", "x" * 65, "in_20300101_0123456789abcdef"])
def test_an_unknown_or_malformed_invoice_id_is_refused(cloud: Any, invoice_id: str) -> None:
    owner = signup(cloud, "Looking")
    refused(call(cloud, "GET", f"/v1/invoices/{invoice_id}", owner), 404, 422)


@pytest.mark.parametrize("details", [
    {"address": {"country": "usa"}}, {"address": {"city": "Nowhere"}}, {"legal_name": ""},
    {"address": {"country": "US", "region": "california!"}}, {"tax_id": "x" * 41}, {"unknown": 1}])
def test_bad_billing_details_are_422_and_change_nothing(cloud: Any, details: dict[str, Any]) -> None:
    owner = signup(cloud, "Details")
    before = answered(call(cloud, "GET", "/v1/tenant", owner), 200)
    refused(call(cloud, "PATCH", "/v1/tenant", owner, body={"billing_details": details}), 422)
    assert answered(call(cloud, "GET", "/v1/tenant", owner), 200) == before


def test_billing_details_are_set_read_and_cleared(cloud: Any) -> None:
    owner = signup(cloud, "Clearing")
    details = {"legal_name": "Clearing GmbH", "address": {"country": "DE", "city": "Berlin"}, "tax_id": "DE123"}
    set_ = answered(call(cloud, "PATCH", "/v1/tenant", owner, body={"billing_details": details}), 200)
    assert set_["billing_details"] == {**details, "address": {**details["address"], "line1": None, "line2": None,
                                                               "postal_code": None, "region": None}}
    assert answered(call(cloud, "GET", "/v1/tenant", owner), 200)["billing_details"] == set_["billing_details"]
    cleared = answered(call(cloud, "PATCH", "/v1/tenant", owner, body={"billing_details": None}), 200)
    assert cleared["billing_details"] is None
