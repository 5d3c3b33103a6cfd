"""The Stripe webhook over HTTP, through the local cloud: signed events are acknowledged and applied once by the
queue consumer; anything not signed right is a 400 with nothing kept; the local Stripe server's own events
(Checkout completed on its hosted page) arrive and are settled."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests
import stripe

from tests.support import call, signup, table, wait_for
from wrapper.payments.webhooks import sign
from wrapper.store.schema import (
    AUDIT_MARKER_PREFIX,
    AUDIT_SK_PREFIX,
    OUTBOX_SK_PREFIX,
    STRIPE_CUSTOMER_SK,
    STRIPE_EVENT_SK,
    STRIPE_OBJECT_LAST_SK,
    stripe_customer_pk,
    stripe_event_pk,
    stripe_object_pk,
    tenant_pk,
)

PROBLEM = "application/problem+json"
SECRET = "whsec_local_wrapper"
PATH = "/v1/webhooks/stripe"


def _event(event_type: str = "payment_intent.succeeded", *, created: int | None = None,
           object_id: str | None = None) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:16]
    return {"id": f"evt_e2e{suffix}", "object": "event", "api_version": stripe.api_version,
            "created": created or int(time.time()), "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": event_type,
            "data": {"object": {"id": object_id or f"pi_e2e{suffix}", "object": "payment_intent",
                                "status": "succeeded", "customer": f"cus_e2e{suffix}",
                                "metadata": {"tenant_id": "e2e"}}}}


def _post(cloud: Any, payload: bytes, signature: str | None, **headers: str) -> requests.Response:
    sent = {"Content-Type": "application/json; charset=utf-8", **headers}
    if signature is not None:
        sent["Stripe-Signature"] = signature
    return requests.post(f"{cloud.api_url}{PATH}", data=payload, headers=sent, timeout=20)


def _deliver(cloud: Any, event: dict[str, Any], *, secret: str = SECRET) -> requests.Response:
    payload = json.dumps(event).encode()
    return _post(cloud, payload, sign(payload, secret, int(time.time())))


def _record(cloud: Any, event_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = table(cloud).get(stripe_event_pk(event_id), STRIPE_EVENT_SK)
    return item


def _settled(cloud: Any, event_id: str) -> dict[str, Any]:
    settled: dict[str, Any] = wait_for(
        lambda: (r := _record(cloud, event_id)) and r["status"] != "queued" and r,
        message=f"the consumer to settle {event_id}")
    return settled


def _queue_drained(cloud: Any) -> bool:
    sqs = cloud.client("sqs")
    url = sqs.get_queue_url(QueueName="wrapper-local-stripe-events")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def _assert_refused(answer: requests.Response) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    problem = answer.json()
    assert problem["status"] == 400 and problem["type"] == "urn:wrapper:problem:invalid-webhook"


def test_a_signed_event_is_acknowledged_and_applied_by_the_consumer(cloud: Any) -> None:
    event = _event()
    answer = _deliver(cloud, event)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": True, "duplicate": False}
    assert answer.headers["X-Request-Id"]

    record = _settled(cloud, event["id"])
    assert record["status"] == "applied"
    assert record["event_type"] == "payment_intent.succeeded" and record["object_id"] == event["data"]["object"]["id"]
    last = table(cloud).get(stripe_object_pk(event["data"]["object"]["id"]), STRIPE_OBJECT_LAST_SK)
    assert last is not None and last["event_id"] == event["id"]


def test_a_wrong_signature_is_a_400_and_nothing_is_stored(cloud: Any) -> None:
    event = _event()
    _assert_refused(_deliver(cloud, event, secret="whsec_someone_else"))
    time.sleep(1.5)
    assert _record(cloud, event["id"]) is None
    assert table(cloud).get(stripe_object_pk(event["data"]["object"]["id"]), STRIPE_OBJECT_LAST_SK) is None


@pytest.mark.parametrize("case", ["missing", "empty", "malformed", "stale", "tampered", "not json", "no id"])
def test_a_delivery_not_signed_right_is_a_400_and_nothing_is_stored(cloud: Any, case: str) -> None:
    event = _event()
    payload = json.dumps(event).encode()
    now = int(time.time())
    signature: str | None = sign(payload, SECRET, now)
    if case == "missing":
        signature = None
    elif case == "empty":
        signature = ""
    elif case == "malformed":
        signature = f"t=soon,v1={'0' * 64}"
    elif case == "stale":
        signature = sign(payload, SECRET, now - 301)
    elif case == "tampered":
        payload = payload.replace(b"succeeded", b"failed")
    elif case == "not json":
        payload = b"id=evt_1&type=customer.updated"
        signature = sign(payload, SECRET, now)
    elif case == "no id":
        payload = json.dumps({**event, "id": None}).encode()
        signature = sign(payload, SECRET, now)
    _assert_refused(_post(cloud, payload, signature))
    assert _record(cloud, event["id"]) is None


def test_a_tenant_token_is_no_credential_for_the_webhook(cloud: Any) -> None:
    # A tenant's own valid session does not stand in for Stripe's signature.
    session = signup(cloud, "Webhook Outsider")
    event = _event()
    answer = call(cloud, "POST", PATH, session, tenant=session["tenant_id"], body=event)
    _assert_refused(answer)
    assert _record(cloud, event["id"]) is None


def test_the_same_event_delivered_five_times_is_queued_and_applied_once(cloud: Any) -> None:
    event = _event("customer.updated")
    answers = [_deliver(cloud, event) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["duplicate"] for a in answers] == [False, True, True, True, True]

    first = _settled(cloud, event["id"])
    wait_for(lambda: _queue_drained(cloud), message="the Stripe events queue to drain")
    assert _record(cloud, event["id"]) == first, "later deliveries changed nothing"


def test_an_older_event_after_a_newer_one_is_not_applied(cloud: Any) -> None:
    object_id = f"pi_e2e{uuid.uuid4().hex[:16]}"
    newer = _event("payment_intent.succeeded", created=int(time.time()), object_id=object_id)
    older = _event("payment_intent.payment_failed", created=int(time.time()) - 60, object_id=object_id)

    assert _deliver(cloud, newer).status_code == 200
    assert _settled(cloud, newer["id"])["status"] == "applied"
    assert _deliver(cloud, older).status_code == 200

    assert _settled(cloud, older["id"])["status"] == "stale"
    last = table(cloud).get(stripe_object_pk(object_id), STRIPE_OBJECT_LAST_SK)
    assert last is not None and last["event_id"] == newer["id"]


def test_an_unknown_event_type_is_acknowledged_and_ignored(cloud: Any) -> None:
    event = _event("plan.created")
    answer = _deliver(cloud, event)
    assert answer.status_code == 200 and answer.json() == {"received": True, "duplicate": False}
    assert _settled(cloud, event["id"])["status"] == "ignored"


def test_checkout_completed_on_the_local_stripe_server_reaches_the_webhook(cloud: Any) -> None:
    # Given a customer and a setup-mode Checkout Session on the local Stripe server
    client = stripe.StripeClient("sk_test_local", base_addresses={"api": cloud.stripe.url})
    customer = client.v1.customers.create(params={"email": "billing@acme.example", "name": "Acme",
                                                  "metadata": {"tenant_id": "e2e-checkout"}})
    params: Any = {"mode": "setup", "customer": customer.id, "currency": "usd", "payment_method_types": ["card"],
                   "success_url": "http://localhost:5173/billing/done", "cancel_url": "http://localhost:5173/billing",
                   "metadata": {"tenant_id": "e2e-checkout"}}
    session = client.v1.checkout.sessions.create(params=params)

    # When the customer completes it on the hosted page
    done = requests.post(f"{cloud.stripe.url}/_local/checkout/sessions/{session.id}/complete", timeout=20)
    assert done.status_code == 200, done.text

    # Then the signed checkout.session.completed reached the webhook function and was settled
    last = wait_for(lambda: table(cloud).get(stripe_object_pk(session.id), STRIPE_OBJECT_LAST_SK),
                    message="checkout.session.completed to be applied")
    assert last["event_type"] == "checkout.session.completed"
    assert _settled(cloud, last["event_id"])["status"] == "applied"
    # And so were the events of the card it saved
    setup_intent = client.v1.checkout.sessions.retrieve(session.id).setup_intent
    assert setup_intent
    setup_last = wait_for(lambda: table(cloud).get(stripe_object_pk(str(setup_intent)), STRIPE_OBJECT_LAST_SK),
                          message="setup_intent.succeeded to be applied")
    assert setup_last["event_type"] == "setup_intent.succeeded"


def _partition(cloud: Any, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's items, less the audit entries and outbox records its sign-up is still producing."""
    items, _ = table(cloud).query(tenant_pk(tenant_id), limit=500)
    settling = (AUDIT_SK_PREFIX, AUDIT_MARKER_PREFIX, OUTBOX_SK_PREFIX)
    return sorted((item for item in items if not str(item["SK"]).startswith(settling)),
                  key=lambda item: str(item["SK"]))


def test_an_event_for_tenant_a_customer_claiming_tenant_b_changes_neither(cloud: Any) -> None:
    # Given tenant A's Stripe customer, and tenant B
    tenant_a, tenant_b = signup(cloud, "Webhook Tenant A"), signup(cloud, "Webhook Tenant B")
    customer = f"cus_e2e{uuid.uuid4().hex[:16]}"
    table(cloud).put({"PK": stripe_customer_pk(customer), "SK": STRIPE_CUSTOMER_SK, "tenant_id": tenant_a["tenant_id"]})
    before_a, before_b = _partition(cloud, tenant_a["tenant_id"]), _partition(cloud, tenant_b["tenant_id"])

    # When a signed event about A's customer names tenant B in its metadata
    event = _event("customer.updated", object_id=customer)
    event["data"]["object"] = {"id": customer, "object": "customer", "email": "owner@a.example",
                               "invoice_settings": {"default_payment_method": "pm_e2e_not_yours"},
                               "metadata": {"tenant_id": tenant_b["tenant_id"]}}
    assert _deliver(cloud, event).status_code == 200

    # Then the effects refuse it, and neither tenant's data changed
    record = _settled(cloud, event["id"])
    assert record["status"] == "applied" and str(record["outcome"]).startswith("ignored")
    assert _partition(cloud, tenant_b["tenant_id"]) == before_b
    assert _partition(cloud, tenant_a["tenant_id"]) == before_a
