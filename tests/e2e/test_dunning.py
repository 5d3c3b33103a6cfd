"""Dunning end to end (issue #11), as a client sees it over HTTP: a tenant's card declines every charge; the
billing run of the period's last day leaves the invoice open and the subscription past_due, and the runs 3, 7
and 14 days later charge it again, each failure emailing the billing contact a pay link and the next attempt's
date; after the last the invoice is uncollectible and the plan's ``unpaid_action`` either cancels the
subscription back to the default plan or keeps it ``unpaid``; a later payment through the pay link, or
``POST /v1/invoices/{id}/pay`` with a card that pays, settles the invoice and restores the subscription.

The operator prices this module's own plans through the operator API. Each test sets the local clock years
ahead (``local_clock`` puts it back) to days no other test bills, and moves it to each billing day before
that day's run, as the daily schedule would find it. The declining card is localstripe's
``4000000000000341``: it attaches fine and every charge on it is declined.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.flows import (
    DECLINED_ON_CHARGE,
    catalog_operator,
    complete_checkout,
    deliver,
    monthly_plan,
    replace_card,
    save_card,
    stripe_get,
)
from tests.support import LocalClock, answered, call, emails_to, refused, run_billing, signup, wait_for

SUFFIX = uuid.uuid4().hex[:6]
CANCELING = f"dun-cancel-{SUFFIX}"  # unpaid_action: cancel (the default)
HOLDING = f"dun-hold-{SUFFIX}"  # unpaid_action: unpaid
RETRY_DAYS = (3, 7, 14)  # DunningRetryDays' default
PAY_LINK = re.compile(r"^Pay now: (\S+)$", re.MULTILINE)
YEARS_AHEAD = 11


@pytest.fixture(scope="module", autouse=True)
def catalog(cloud: Any) -> dict[str, Any]:
    """Through the operator API: a plan that cancels when dunning gives up (3000 a month) and one that keeps
    the subscription unpaid (5000 a month), both enabling the feature ``sso``."""
    op = catalog_operator(cloud, "Dunning operator")  # over the demo catalog: its plan ``free``, its feature ``sso``
    plans = {}
    for code, amount, action in [(CANCELING, 3000, None), (HOLDING, 5000, "unpaid")]:
        body: dict[str, Any] = {"code": code, "name": code.title(), "entitlements": [
            {"feature": "sso", "enabled": True}]}
        if action:
            body["unpaid_action"] = action
        plan = monthly_plan(cloud, op, body, {"model": "flat", "currency": "USD", "flat_amount": amount})
        assert plan["unpaid_action"] == (action or "cancel")
        plans[code] = plan
    return plans


# -- the tenant's side ---------------------------------------------------------------------------------------------

def _customer(cloud: Any, local_clock: LocalClock, month: int, day: int, plan_code: str) -> dict[str, Any]:
    """A tenant signed up on a day years ahead, subscribed to ``plan_code`` with a card that paid the first
    period, whose card was then replaced by one that declines every charge. Answers the owner's session with
    ``email`` and ``period_end`` (the first period's end) added."""
    local_clock.set(datetime(datetime.now(UTC).year + YEARS_AHEAD, month, day, 10, tzinfo=UTC))
    email = f"owner-{uuid.uuid4().hex[:10]}@tests.example"
    owner = signup(cloud, "Dunned Customer", email=email)
    save_card(cloud, owner)
    subscribed = answered(call(cloud, "POST", "/v1/subscriptions", owner, body={"plan_code": plan_code}), 201)
    assert subscribed["subscription"]["status"] == "active"
    replace_card(cloud, owner, DECLINED_ON_CHARGE)
    return {**owner, "email": email,
            "period_end": datetime.fromisoformat(subscribed["subscription"]["current_period_end"])}


def _bill(cloud: Any, local_clock: LocalClock, day: date, tenant_id: str) -> list[dict[str, Any]]:
    """Move the clock to ``day``'s 02:00 UTC (unless it is there already: it moves forward only) and run that
    day's billing; answers the tenant's results."""
    at = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)
    if local_clock.now() < at:
        local_clock.set(at)
    execution = run_billing(cloud, at)
    assert execution["status"] == "SUCCEEDED", execution
    return [r for r in json.loads(execution["output"])["results"] if r["tenant_id"] == tenant_id]


def _current(cloud: Any, owner: dict[str, Any]) -> dict[str, Any]:
    current: dict[str, Any] = answered(call(cloud, "GET", "/v1/subscriptions/current", owner), 200)
    return current


def _invoice(cloud: Any, owner: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    invoice: dict[str, Any] = answered(call(cloud, "GET", f"/v1/invoices/{invoice_id}", owner), 200)
    return invoice


def _sso(cloud: Any, owner: dict[str, Any]) -> bool:
    """Whether the tenant is entitled to the feature this module's plans enable (the default plan does not)."""
    items = answered(call(cloud, "GET", "/v1/entitlements", owner), 200)["items"]
    return any(e["feature"] == "sso" and e["enabled"] for e in items)


def _mails(cloud: Any, address: str, count: int) -> list[dict[str, Any]]:
    """The payment-failed emails to ``address``, once there are ``count`` (oldest first)."""
    def sent() -> list[dict[str, Any]] | None:
        mails = [m for m in emails_to(cloud, address) if m["subject"].startswith("Payment failed for invoice")]
        return mails if len(mails) >= count else None

    found: list[dict[str, Any]] = wait_for(sent, message=f"{count} payment-failed emails to {address}")
    assert len(found) == count, [m["text"] for m in found]
    return found


def _pay_link(cloud: Any, mail: dict[str, Any], invoice: dict[str, Any]) -> str:
    """The Checkout session an email's pay link opens, checked to be for exactly the invoice's amount due."""
    [url] = PAY_LINK.findall(mail["text"])
    session_id = url.rstrip("/").rsplit("/", 1)[-1]
    session = stripe_get(cloud, f"/v1/checkout/sessions/{session_id}")
    assert (session["mode"], session["status"], session["amount_total"], session["currency"]) == (
        "payment", "open", invoice["amount_due"], invoice["currency"].lower())
    assert session["url"] == url
    assert session["metadata"]["invoice_id"] == invoice["id"]
    return session_id


def _audited(cloud: Any, owner: dict[str, Any], counts: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """The tenant's audit entries of the actions in ``counts``, once at least that many of each are there."""
    def logged() -> dict[str, list[dict[str, Any]]] | None:
        entries: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = answered(call(cloud, "GET", "/v1/audit-log", owner, limit=100,
                                 **({"cursor": cursor} if cursor else {})), 200)
            entries += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        found = {action: [e for e in entries if e["action"] == action] for action in counts}
        return found if all(len(found[a]) >= n for a, n in counts.items()) else None

    found: dict[str, list[dict[str, Any]]] = wait_for(logged, timeout=30, message=f"{counts} in the audit log")
    return found


def _fails_through_every_retry(cloud: Any, local_clock: LocalClock, owner: dict[str, Any], contact: str,
                               invoices_before: list[dict[str, Any]]) -> dict[str, Any]:
    """The period end's run and the three retries' runs, each failing and emailing ``contact``; answers the
    invoice after the last failure. Checked on the way: the invoice, the subscription, each email."""
    first_day = owner["period_end"].date()
    [closed] = _bill(cloud, local_clock, first_day, owner["tenant_id"])
    assert (closed["step"], closed["status"]) == ("period_end", "past_due"), closed
    invoices = answered(call(cloud, "GET", "/v1/invoices", owner), 200)["items"]
    assert invoices[1:] == invoices_before  # newest first: the period end's, then the first period's
    invoice = invoices[0]
    assert invoice["id"] == closed["invoice_id"]
    assert (invoice["status"], invoice["amount_paid"], invoice["attempts"]) == ("open", 0, 1)
    assert invoice["amount_due"] == invoice["total"] > 0 and invoice["payment_error"]
    assert answered(call(cloud, "GET", "/v1/invoices", owner, status="open"), 200)["items"] == [invoice]
    subscription = _current(cloud, owner)
    assert subscription["status"] == "past_due"
    assert _sso(cloud, owner)  # past due keeps the plan's entitlements
    [mail] = _mails(cloud, contact, 1)
    assert invoice["number"] in mail["subject"]
    assert f"We could not charge {invoice['amount_due']} USD (minor units) for invoice {invoice['number']}: " \
        "Your card was declined.\n" in mail["text"]
    assert f"We will try your card again on {first_day + timedelta(days=RETRY_DAYS[0])}." in mail["text"]
    _pay_link(cloud, mail, invoice)
    payments = {closed["payment_id"]}

    for n, days in enumerate(RETRY_DAYS):
        [retried] = _bill(cloud, local_clock, first_day + timedelta(days=days), owner["tenant_id"])
        last = n == len(RETRY_DAYS) - 1
        assert (retried["step"], retried["invoice_id"]) == ("collect", invoice["id"]), retried
        assert retried["status"] == ("uncollectible" if last else "past_due"), retried
        assert stripe_get(cloud, f"/v1/payment_intents/{retried['payment_id']}")["status"] != "succeeded"
        payments.add(retried["payment_id"])
        invoice = _invoice(cloud, owner, invoice["id"])
        assert (invoice["status"], invoice["attempts"], invoice["amount_paid"]) == (
            "uncollectible" if last else "open", n + 2, 0)
        mail = _mails(cloud, contact, n + 2)[-1]
        then = ("We will not try again: the invoice is now uncollectible." if last else
                f"We will try your card again on {first_day + timedelta(days=RETRY_DAYS[n + 1])}.")
        assert then in mail["text"], mail["text"]
        _pay_link(cloud, mail, invoice)
        if n == 0:
            # The same day's run again charges nothing more: the retry moved to its next day.
            assert _bill(cloud, local_clock, first_day + timedelta(days=days), owner["tenant_id"]) == []
            assert _invoice(cloud, owner, invoice["id"]) == invoice
            _mails(cloud, contact, 2)
        if not last:
            assert _current(cloud, owner) == subscription

    assert len(payments) == 4  # each attempt charged under its own key: 4 declined payments
    assert answered(call(cloud, "GET", "/v1/invoices", owner, status="uncollectible"), 200)["items"] == [invoice]
    return invoice


# -- the tests -----------------------------------------------------------------------------------------------------

def test_a_declining_card_is_retried_with_an_email_each_time_then_the_subscription_is_canceled(
        cloud: Any, local_clock: LocalClock) -> None:
    # Given a tenant on the canceling plan, billing contact set, whose card declines every charge
    owner = _customer(cloud, local_clock, 6, 9, CANCELING)
    contact = f"billing-{uuid.uuid4().hex[:10]}@tests.example"
    answered(call(cloud, "PATCH", "/v1/tenant", owner, body={"billing_email": contact}), 200)
    subscription = _current(cloud, owner)
    first_period = answered(call(cloud, "GET", "/v1/invoices", owner), 200)["items"]
    assert [i["status"] for i in first_period] == ["paid"]

    # When the period ends and every retry fails
    invoice = _fails_through_every_retry(cloud, local_clock, owner, contact, first_period)

    # Then the tenant is back on the default plan, and the canceled subscription is in its history
    current = _current(cloud, owner)
    assert (current["plan_code"], current["status"]) == ("free", "active") and current["id"] != subscription["id"]
    assert not _sso(cloud, owner)
    history = answered(call(cloud, "GET", "/v1/subscriptions", owner), 200)["items"]
    assert any(s["id"] == subscription["id"] and s["status"] == "canceled" for s in history)
    # Every email went to the billing email, none to the owner
    assert emails_to(cloud, owner["email"]) == []
    audit = _audited(cloud, owner, {"invoice.payment_failed": 4, "payment.failed": 4, "invoice.uncollectible": 1,
                                    "subscription.canceled": 1})
    assert {a: len(e) for a, e in audit.items()} == {"invoice.payment_failed": 4, "payment.failed": 4,
                                                     "invoice.uncollectible": 1, "subscription.canceled": 1}
    assert {e["actor"] for e in audit["invoice.payment_failed"] + audit["payment.failed"]} == {"billing-run"}
    assert [e["actor"] for e in audit["invoice.uncollectible"]] == ["billing-run"]
    assert [e["target"] for e in audit["invoice.uncollectible"]] == [invoice["id"]]
    assert [e["target"] for e in audit["subscription.canceled"]] == [subscription["id"]]


def test_an_unpaid_subscription_is_restored_by_paying_through_the_last_emails_link(
        cloud: Any, local_clock: LocalClock) -> None:
    # Given a tenant on the plan that keeps an unpaid subscription, emails to its owner (no billing email set)
    owner = _customer(cloud, local_clock, 9, 9, HOLDING)
    subscription = _current(cloud, owner)
    first_period = answered(call(cloud, "GET", "/v1/invoices", owner), 200)["items"]

    # When the period ends and every retry fails
    invoice = _fails_through_every_retry(cloud, local_clock, owner, owner["email"], first_period)

    # Then the subscription is kept, unpaid, with the default plan's entitlements
    unpaid = _current(cloud, owner)
    assert (unpaid["id"], unpaid["plan_code"], unpaid["status"]) == (subscription["id"], HOLDING, "unpaid")
    assert not _sso(cloud, owner)

    # When the customer pays on the last email's pay link with a card that pays
    last = _mails(cloud, owner["email"], 4)[-1]
    session_id = _pay_link(cloud, last, invoice)
    assert complete_checkout(cloud, session_id).status_code == 200
    deliver(cloud, session_id)

    # Then the invoice is paid by that payment and the subscription active again, with its plan's entitlements
    def settled() -> dict[str, Any] | None:
        found = _invoice(cloud, owner, invoice["id"])
        return found if found["status"] == "paid" else None

    paid = wait_for(settled, message="the invoice paid")
    session = stripe_get(cloud, f"/v1/checkout/sessions/{session_id}")
    assert (paid["amount_paid"], paid["payment_id"]) == (invoice["amount_due"], session["payment_intent"])
    assert stripe_get(cloud, f"/v1/payment_intents/{paid['payment_id']}")["status"] == "succeeded"
    restored = _current(cloud, owner)
    assert (restored["id"], restored["plan_code"], restored["status"]) == (subscription["id"], HOLDING, "active")
    assert _sso(cloud, owner)
    audit = _audited(cloud, owner, {"invoice.uncollectible": 1, "invoice.paid": 2, "subscription.updated": 2})
    assert invoice["id"] in [e["target"] for e in audit["invoice.paid"]]
    # (newest first: made active by the payment, made unpaid by the run; both name the subscription)
    assert [(e["actor"], e["target"]) for e in audit["subscription.updated"][:2]] == [
        ("stripe", subscription["id"]), ("billing-run", subscription["id"])]
    # The webhook of the same payment, delivered again, settles nothing twice
    assert deliver(cloud, session_id).startswith("duplicate")
    assert _invoice(cloud, owner, invoice["id"]) == paid


def test_paying_an_open_invoice_needs_a_card_that_pays_and_pays_once(cloud: Any, local_clock: LocalClock) -> None:
    # Given a tenant past due with its period end's invoice open
    owner = _customer(cloud, local_clock, 11, 14, CANCELING)
    first_day = owner["period_end"].date()
    [closed] = _bill(cloud, local_clock, first_day, owner["tenant_id"])
    assert closed["status"] == "past_due", closed
    invoice = _invoice(cloud, owner, closed["invoice_id"])
    assert invoice["status"] == "open" and _current(cloud, owner)["status"] == "past_due"

    # When it pays with the declining card: 402, and a Checkout page for exactly the amount due
    problem = refused(call(cloud, "POST", f"/v1/invoices/{invoice['id']}/pay", owner), 402)
    assert (problem["amount_due"], problem["currency"]) == (invoice["amount_due"], invoice["currency"])
    session = stripe_get(cloud, f"/v1/checkout/sessions/{problem['checkout_session_id']}")
    assert session["url"] == problem["checkout_url"] and session["amount_total"] == invoice["amount_due"]
    assert session["metadata"]["invoice_id"] == invoice["id"]
    assert _invoice(cloud, owner, invoice["id"])["status"] == "open"

    # And another tenant reaches none of it
    stranger = signup(cloud, "Stranger")
    refused(call(cloud, "POST", f"/v1/invoices/{invoice['id']}/pay", stranger), 404)
    refused(call(cloud, "GET", f"/v1/invoices/{invoice['id']}", stranger), 404)

    # When the customer saves a card that pays and pays again
    replace_card(cloud, owner, None)
    paid = answered(call(cloud, "POST", f"/v1/invoices/{invoice['id']}/pay", owner), 200)

    # Then the invoice is paid, by a payment that succeeded, and the subscription is active again
    assert (paid["id"], paid["status"], paid["amount_paid"]) == (invoice["id"], "paid", invoice["amount_due"])
    intent = stripe_get(cloud, f"/v1/payment_intents/{paid['payment_id']}")
    assert (intent["status"], intent["amount"], intent["metadata"]["invoice_id"]) == (
        "succeeded", invoice["amount_due"], invoice["id"])
    restored = _current(cloud, owner)
    assert restored["status"] == "active"
    assert _invoice(cloud, owner, invoice["id"]) == paid
    # The audit log names who made it active again, and the subscription it made active
    [active, past_due] = _audited(cloud, owner, {"subscription.updated": 2})["subscription.updated"][:2]
    assert (active["actor"], active["target"]) == (owner["user_id"], restored["id"])
    assert (past_due["actor"], past_due["target"]) == ("billing-run", restored["id"])

    # And paying again is 409, and the next retry's run has nothing to charge
    refused(call(cloud, "POST", f"/v1/invoices/{invoice['id']}/pay", owner), 409)
    assert _bill(cloud, local_clock, first_day + timedelta(days=RETRY_DAYS[0]), owner["tenant_id"]) == []
    assert _invoice(cloud, owner, invoice["id"]) == paid
    assert len(_mails(cloud, owner["email"], 1)) == 1  # the period end's failure only
    assert stripe_get(cloud, f"/v1/payment_intents/{paid['payment_id']}")["status"] == "succeeded"
