"""The Stripe adapter, with the real SDK, against the local Stripe server (localstripe + our extension).

In-process and on its own: no local cloud. Webhooks are received by a small HTTP server in a thread.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe

from localcloud.stripe import LocalStripe
from tests.support import wait_for
from wrapper.payments.port import PaymentDeclined, PaymentProviderUnavailable, PaymentRejected
from wrapper.payments.stripe_adapter import StripePayments
from wrapper.payments.webhooks import verify

API_KEY = "sk_test_local"
WEBHOOK_SECRET = "whsec_local_test"
CHECKOUT_SESSION = Path(__file__).resolve().parents[1] / "fixtures" / "stripe" / "checkout.session.json"


class Receiver:
    """Where the local Stripe server posts its webhooks: every delivery kept as (Stripe-Signature, raw body)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str | None, bytes]] = []
        deliveries = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                deliveries.append((self.headers.get("Stripe-Signature"), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/stripe"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, **match: str) -> list[dict[str, Any]]:
        """Verified events whose data.object has every field of ``match`` (metadata.tenant_id included)."""
        found = []
        for header, body in list(self.deliveries):
            event = verify(body, header, [WEBHOOK_SECRET], now=time.time())
            obj = event["data"]["object"]
            fields = {**obj, "tenant_id": (obj.get("metadata") or {}).get("tenant_id")}
            if all(fields.get(k) == v for k, v in match.items()):
                found.append(event)
        return found

    def wait_for_types(self, types: set[str], **match: str) -> dict[str, dict[str, Any]]:
        def arrived() -> dict[str, dict[str, Any]] | None:
            by_type = {e["type"]: e for e in self.events(**match)}
            return by_type if types <= set(by_type) else None

        result: dict[str, dict[str, Any]] = wait_for(arrived, timeout=10, message=f"webhooks {sorted(types)}")
        return result


@pytest.fixture(scope="module")
def server() -> Iterator[LocalStripe]:
    with LocalStripe() as local:
        yield local


@pytest.fixture(scope="module")
def receiver(server: LocalStripe) -> Iterator[Receiver]:
    receiver = Receiver()
    server.register_webhook(receiver.url, WEBHOOK_SECRET)
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def payments(server: LocalStripe) -> StripePayments:
    return StripePayments.connect(API_KEY, api_base=server.url, max_network_retries=2)


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def _customer(payments: StripePayments, tenant: str) -> str:
    return payments.ensure_customer(tenant, f"owner@{tenant}.example", f"Tenant {tenant}",
                                    idempotency_key=f"customer:{tenant}")


def _complete(server: LocalStripe, session_id: str, card: str | None = None) -> requests.Response:
    return requests.post(f"{server.url}/_local/checkout/sessions/{session_id}/complete",
                         data={"card": card} if card else {}, timeout=10)


def _key() -> str:
    return uuid.uuid4().hex


# -- customers and idempotency -----------------------------------------------------------------------------------

def test_ensuring_a_customer_twice_with_one_idempotency_key_creates_one_customer(
        payments: StripePayments, server: LocalStripe, tenant: str) -> None:
    # When the same creation is sent twice (a retried Lambda) with the same key
    first = _customer(payments, tenant)
    second = _customer(payments, tenant)

    # Then one customer exists, tagged with its tenant
    assert first == second
    listed = stripe.StripeClient(API_KEY, base_addresses={"api": server.url}).v1.customers.list(
        params={"email": f"owner@{tenant}.example"})
    assert [c.id for c in listed.data] == [first]
    assert listed.data[0].to_dict()["metadata"]["tenant_id"] == tenant


def test_concurrent_creations_under_one_idempotency_key_create_one_customer(payments: StripePayments,
                                                                           tenant: str) -> None:
    # Given five workers racing to create the tenant's customer (a redelivered message, a double click)
    with ThreadPoolExecutor(max_workers=5) as pool:
        ids = set(pool.map(lambda _: _customer(payments, tenant), range(5)))

    # Then they all got the same one
    assert len(ids) == 1


def test_another_idempotency_key_is_another_customer(payments: StripePayments, tenant: str) -> None:
    first = _customer(payments, tenant)
    other = payments.ensure_customer(tenant, "x@example.com", "X", idempotency_key=f"customer:{tenant}:again")
    assert other != first


def test_one_idempotency_key_reused_for_a_different_request_is_rejected(payments: StripePayments,
                                                                        tenant: str) -> None:
    _customer(payments, tenant)
    with pytest.raises(PaymentRejected, match="same parameters"):
        payments.ensure_customer(tenant, "changed@example.com", "Changed", idempotency_key=f"customer:{tenant}")


def test_every_write_the_adapter_sends_carries_an_idempotency_key(payments: StripePayments, server: LocalStripe,
                                                                  tenant: str) -> None:
    before = len(server.requests)
    customer = _customer(payments, tenant)
    session = payments.checkout_session(customer, "setup", None, "eur", "Save a card", "https://app/ok",
                                        "https://app/cancel", {"tenant_id": tenant}, idempotency_key=_key())
    assert _complete(server, session.id).status_code == 200
    payments.charge(customer, 500, "eur", payment_method=None, description="d", metadata={"tenant_id": tenant},
                    idempotency_key=_key())
    payments.portal_session(customer, "https://app/billing")
    posts = [r for r in server.requests[before:] if r.method == "POST" and r.path.startswith("/v1/")]
    assert posts
    assert all(r.idempotency_key for r in posts)


# -- Checkout, webhooks, charges, refunds --------------------------------------------------------------------------

def test_a_setup_checkout_completed_by_the_customer_is_signed_back_and_the_saved_card_can_be_charged(
        payments: StripePayments, server: LocalStripe, receiver: Receiver, tenant: str) -> None:
    # Given a customer with no card
    customer = _customer(payments, tenant)
    assert payments.default_payment_method(customer) is None

    # When they open a setup Checkout and complete it like a customer would
    session = payments.checkout_session(customer, "setup", None, "eur", "Save a card", "https://app/ok",
                                        "https://app/cancel", {"tenant_id": tenant}, idempotency_key=_key())
    assert session.url.startswith(f"{server.url}/")
    assert requests.get(session.url, timeout=10).status_code == 200
    completed = _complete(server, session.id)

    # Then the session is complete, and signed Stripe events for it reach the webhook endpoint
    assert completed.status_code == 200
    assert completed.json()["status"] == "complete"
    events = receiver.wait_for_types({"checkout.session.completed", "setup_intent.succeeded"}, tenant_id=tenant)
    done = events["checkout.session.completed"]
    assert done["object"] == "event" and done["id"].startswith("evt_") and done["livemode"] is False
    assert done["api_version"] == stripe.api_version
    assert {"created", "pending_webhooks", "request"} <= set(done)
    assert done["data"]["object"]["id"] == session.id
    assert done["data"]["object"]["customer"] == customer
    assert done["data"]["object"]["setup_intent"] == events["setup_intent.succeeded"]["data"]["object"]["id"]

    # And the card is the customer's: a charge without naming it succeeds, and can be refunded in part
    card = payments.default_payment_method(customer)
    assert card is not None
    assert events["setup_intent.succeeded"]["data"]["object"]["payment_method"] == card
    charge = payments.charge(customer, 2500, "eur", payment_method=None, description="Pro, March",
                             metadata={"tenant_id": tenant}, idempotency_key=_key())
    assert charge.status == "succeeded" and charge.failure_message is None
    refund = payments.refund(charge.id, 1000, idempotency_key=_key())
    assert refund.status == "succeeded"
    paid = receiver.wait_for_types({"payment_intent.succeeded"}, id=charge.id)
    assert paid["payment_intent.succeeded"]["data"]["object"]["description"] == "Pro, March"


def test_the_same_charge_sent_twice_with_one_key_charges_once(payments: StripePayments, server: LocalStripe,
                                                              tenant: str) -> None:
    customer = _customer(payments, tenant)
    key = _key()
    first = payments.charge(customer, 700, "usd", payment_method="pm_card_visa", description="seats",
                            metadata={"tenant_id": tenant}, idempotency_key=key)
    second = payments.charge(customer, 700, "usd", payment_method="pm_card_visa", description="seats",
                             metadata={"tenant_id": tenant}, idempotency_key=key)
    assert first == second
    intents = [r for r in server.requests_to("POST", "/v1/payment_intents") if r.idempotency_key == key]
    assert len(intents) == 2


def test_a_payment_checkout_declined_stays_open_until_a_good_card_pays_and_is_kept(
        payments: StripePayments, server: LocalStripe, receiver: Receiver, tenant: str) -> None:
    # Given a payment Checkout for an upgrade's proration
    customer = _customer(payments, tenant)
    session = payments.checkout_session(customer, "payment", 1999, "EUR", "Upgrade to Pro", "https://app/ok",
                                        "https://app/cancel", {"tenant_id": tenant}, idempotency_key=_key())

    # When the customer first tries the card that declines
    declined = _complete(server, session.id, "4000000000000002")

    # Then the attempt is refused as Stripe would, a payment_failed event is sent, and the session stays open
    assert declined.status_code == 402
    assert declined.json()["error"]["type"] == "card_error"
    assert declined.json()["error"]["code"] == "card_declined"
    failed = receiver.wait_for_types({"payment_intent.payment_failed"}, tenant_id=tenant)
    assert failed["payment_intent.payment_failed"]["data"]["object"]["amount"] == 1999
    reopened = stripe.StripeClient(API_KEY, base_addresses={"api": server.url}).v1.checkout.sessions.retrieve(
        session.id)
    assert reopened.status == "open" and reopened.payment_status == "unpaid"

    # When they pay with a good card
    paid = _complete(server, session.id)

    # Then the session is paid, the events say so, and the card is kept for later charges
    assert paid.status_code == 200
    assert paid.json()["payment_status"] == "paid"
    assert paid.json()["amount_total"] == 1999 and paid.json()["currency"] == "eur"
    events = receiver.wait_for_types({"checkout.session.completed", "payment_intent.succeeded"}, tenant_id=tenant)
    assert events["payment_intent.succeeded"]["data"]["object"]["id"] == paid.json()["payment_intent"]
    assert payments.default_payment_method(customer) is not None


def test_a_completed_session_cannot_be_completed_again(payments: StripePayments, server: LocalStripe,
                                                       tenant: str) -> None:
    customer = _customer(payments, tenant)
    session = payments.checkout_session(customer, "setup", None, "eur", "Save a card", "https://app/ok",
                                        "https://app/cancel", {"tenant_id": tenant}, idempotency_key=_key())
    assert _complete(server, session.id).status_code == 200
    assert _complete(server, session.id).status_code == 400
    assert _complete(server, "cs_test_unknown").status_code == 404


def test_a_setup_checkout_with_a_declining_card_saves_nothing(payments: StripePayments, server: LocalStripe,
                                                              receiver: Receiver, tenant: str) -> None:
    customer = _customer(payments, tenant)
    session = payments.checkout_session(customer, "setup", None, "eur", "Save a card", "https://app/ok",
                                        "https://app/cancel", {"tenant_id": tenant}, idempotency_key=_key())
    assert _complete(server, session.id, "4000000000000002").status_code == 402
    receiver.wait_for_types({"setup_intent.setup_failed"}, tenant_id=tenant)
    assert payments.default_payment_method(customer) is None


def test_charging_a_card_that_declines_raises_payment_declined(payments: StripePayments, tenant: str) -> None:
    customer = _customer(payments, tenant)
    with pytest.raises(PaymentDeclined) as caught:
        payments.charge(customer, 1500, "eur", payment_method="pm_card_visa_chargeDeclined", description="d",
                        metadata={"tenant_id": tenant}, idempotency_key=_key())
    assert caught.value.code == "card_declined"
    assert caught.value.payment_id is not None and caught.value.payment_id.startswith("pi_")


def test_charging_a_customer_without_a_card_is_declined_without_calling_a_charge(payments: StripePayments,
                                                                                 tenant: str) -> None:
    customer = _customer(payments, tenant)
    with pytest.raises(PaymentDeclined) as caught:
        payments.charge(customer, 1500, "eur", payment_method=None, description="d", metadata={"tenant_id": tenant},
                        idempotency_key=_key())
    assert caught.value.code == "missing_payment_method"


def test_a_full_refund_of_a_charge(payments: StripePayments, tenant: str) -> None:
    customer = _customer(payments, tenant)
    charge = payments.charge(customer, 4200, "eur", payment_method="pm_card_visa", description="d",
                             metadata={"tenant_id": tenant}, idempotency_key=_key())
    refund = payments.refund(charge.id, None, idempotency_key=_key())
    assert refund.id.startswith("re_") and refund.status == "succeeded"


def test_an_unknown_customer_is_rejected_not_retried(payments: StripePayments) -> None:
    with pytest.raises(PaymentRejected):
        payments.portal_session("cus_unknown", "https://app/billing")


def test_a_portal_session_answers_a_url_on_the_local_server(payments: StripePayments, server: LocalStripe,
                                                            tenant: str) -> None:
    url = payments.portal_session(_customer(payments, tenant), "https://app/billing")
    assert url.startswith(f"{server.url}/_local/billing_portal/bps_")
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "https://app/billing" in page.text


def test_metadata_without_tenant_id_is_refused_before_any_call(payments: StripePayments, server: LocalStripe,
                                                               tenant: str) -> None:
    customer = _customer(payments, tenant)
    before = len(server.requests)
    with pytest.raises(ValueError, match="tenant_id"):
        payments.checkout_session(customer, "setup", None, "eur", "d", "https://a/ok", "https://a/no", {},
                                  idempotency_key=_key())
    with pytest.raises(ValueError, match="amount"):
        payments.checkout_session(customer, "payment", None, "eur", "d", "https://a/ok", "https://a/no",
                                  {"tenant_id": tenant}, idempotency_key=_key())
    with pytest.raises(ValueError, match="amount"):
        payments.checkout_session(customer, "setup", 100, "eur", "d", "https://a/ok", "https://a/no",
                                  {"tenant_id": tenant}, idempotency_key=_key())
    assert len(server.requests) == before


# -- the local server's own surface ----------------------------------------------------------------------------

def test_a_checkout_session_has_every_field_of_stripes_checkout_session(payments: StripePayments,
                                                                        server: LocalStripe, tenant: str) -> None:
    expected = set(json.loads(CHECKOUT_SESSION.read_text()))
    session = payments.checkout_session(_customer(payments, tenant), "setup", None, "eur", "d", "https://a/ok",
                                        "https://a/no", {"tenant_id": tenant}, idempotency_key=_key())
    fetched = requests.get(f"{server.url}/v1/checkout/sessions/{session.id}", timeout=10,
                           headers={"Authorization": f"Bearer {API_KEY}"}).json()
    assert set(fetched) == expected
    assert fetched["object"] == "checkout.session" and fetched["metadata"] == {"tenant_id": tenant}


@pytest.mark.parametrize("form", [
    {"mode": "subscription"},
    {"mode": "setup", "success_url": "https://a/ok", "unexpected": "x"},
    {"mode": "payment", "success_url": "https://a/ok"},
    {"mode": "payment", "success_url": "https://a/ok", "line_items[0][price_data][currency]": "eur",
     "line_items[0][price_data][unit_amount]": "ten"},
    {"mode": "setup"},
])
def test_a_bad_checkout_request_is_answered_400(server: LocalStripe, payments: StripePayments, tenant: str,
                                                form: dict[str, str]) -> None:
    response = requests.post(f"{server.url}/v1/checkout/sessions", timeout=10,
                             data={"customer": _customer(payments, tenant), **form},
                             headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_the_api_needs_a_secret_key(server: LocalStripe) -> None:
    assert requests.post(f"{server.url}/v1/checkout/sessions", data={}, timeout=10).status_code == 401


# -- retries ----------------------------------------------------------------------------------------------------

def test_5xx_answers_are_retried_by_the_sdk_with_the_same_idempotency_key(payments: StripePayments,
                                                                          server: LocalStripe, tenant: str) -> None:
    # Given Stripe failing twice on customer creation
    server.fail_next("POST", "/v1/customers", 500, times=2)

    # When a customer is ensured
    customer = _customer(payments, tenant)

    # Then the third attempt created it, and all three carried one idempotency key
    attempts = [r for r in server.requests_to("POST", "/v1/customers") if r.idempotency_key == f"customer:{tenant}"]
    assert [r.status for r in attempts] == [500, 500, 200]
    assert customer.startswith("cus_")


def test_5xx_beyond_the_retry_budget_is_provider_unavailable(payments: StripePayments, server: LocalStripe,
                                                             tenant: str) -> None:
    server.fail_next("POST", "/v1/customers", 503, times=3)
    with pytest.raises(PaymentProviderUnavailable):
        _customer(payments, tenant)
    attempts = [r for r in server.requests_to("POST", "/v1/customers") if r.idempotency_key == f"customer:{tenant}"]
    assert len(attempts) == 3


def test_a_5xx_that_stripe_says_not_to_retry_is_not_retried(payments: StripePayments, server: LocalStripe,
                                                            tenant: str) -> None:
    server.fail_next("POST", "/v1/customers", 500, times=1, should_retry=False)
    with pytest.raises(PaymentProviderUnavailable):
        _customer(payments, tenant)
    assert len([r for r in server.requests_to("POST", "/v1/customers")
                if r.idempotency_key == f"customer:{tenant}"]) == 1


def _recording_adapter(server: LocalStripe, sleeps: list[float], **options: Any) -> StripePayments:
    return StripePayments.connect(API_KEY, api_base=server.url, max_network_retries=0, sleep=sleeps.append,
                                  jitter=lambda: 1.0, **options)


def test_429_answers_are_retried_with_growing_backoff_and_the_same_key(server: LocalStripe, tenant: str) -> None:
    # Given Stripe rate limiting three times (the SDK does not retry a plain 429)
    sleeps: list[float] = []
    payments = _recording_adapter(server, sleeps, rate_limit_retries=3, backoff_seconds=0.5)
    server.fail_next("POST", "/v1/customers", 429, times=3)

    # When a customer is ensured
    customer = _customer(payments, tenant)

    # Then we waited longer each time and the fourth attempt, with the same key, succeeded
    assert customer.startswith("cus_")
    assert sleeps == [0.5, 1.0, 2.0]
    attempts = [r for r in server.requests_to("POST", "/v1/customers") if r.idempotency_key == f"customer:{tenant}"]
    assert [r.status for r in attempts] == [429, 429, 429, 200]


def test_backoff_is_capped_and_jittered_downwards_only(server: LocalStripe, tenant: str) -> None:
    sleeps: list[float] = []
    payments = StripePayments.connect(API_KEY, api_base=server.url, max_network_retries=0, sleep=sleeps.append,
                                      jitter=lambda: 0.0, rate_limit_retries=4, backoff_seconds=1.0,
                                      max_backoff_seconds=2.0)
    server.fail_next("POST", "/v1/customers", 429, times=4)
    _customer(payments, tenant)
    assert sleeps == [0.5, 1.0, 1.0, 1.0]


def test_retry_after_is_honoured_on_429(server: LocalStripe, tenant: str) -> None:
    sleeps: list[float] = []
    payments = _recording_adapter(server, sleeps)
    server.fail_next("POST", "/v1/customers", 429, times=1, retry_after=3)
    _customer(payments, tenant)
    assert sleeps == [3.0]


def test_429_beyond_the_retry_budget_is_provider_unavailable(server: LocalStripe, tenant: str) -> None:
    sleeps: list[float] = []
    payments = _recording_adapter(server, sleeps, rate_limit_retries=2)
    server.fail_next("POST", "/v1/customers", 429, times=3)
    with pytest.raises(PaymentProviderUnavailable, match="rate limiting"):
        _customer(payments, tenant)
    assert len(sleeps) == 2


def test_a_429_that_stripe_says_not_to_retry_is_not_retried(server: LocalStripe, tenant: str) -> None:
    sleeps: list[float] = []
    payments = _recording_adapter(server, sleeps)
    server.fail_next("POST", "/v1/customers", 429, times=1, should_retry=False)
    with pytest.raises(PaymentProviderUnavailable):
        _customer(payments, tenant)
    assert sleeps == []


def test_faults_can_be_injected_over_http(server: LocalStripe, tenant: str) -> None:
    sleeps: list[float] = []
    payments = _recording_adapter(server, sleeps)
    answer = requests.post(f"{server.url}/_local/faults", timeout=10,
                           data={"method": "POST", "path": "/v1/customers", "status": "429", "times": "1"})
    assert answer.status_code == 204
    _customer(payments, tenant)
    assert len(sleeps) == 1


def test_an_unreachable_provider_is_provider_unavailable(tenant: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    payments = StripePayments.connect(API_KEY, api_base=f"http://127.0.0.1:{closed_port}", max_network_retries=0)
    with pytest.raises(PaymentProviderUnavailable, match="unreachable"):
        _customer(payments, tenant)
