"""Stripe adapter of the ``Payments`` port, on the official SDK (``stripe.StripeClient``).

Retries: the SDK itself retries connection errors, 409 and 5xx (``max_network_retries``, exponential backoff
with jitter) and honours ``Stripe-Should-Retry``; it does NOT retry a plain 429, so rate limits are retried
here, with backoff, ``Retry-After`` and ``Stripe-Should-Retry: false`` honoured. Every attempt of one call
carries the same idempotency key, so a retry that reaches Stripe twice has one effect.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import stripe

from wrapper.payments.port import (
    Charge,
    ChargeStatus,
    CheckoutMode,
    CheckoutSession,
    PaymentDeclined,
    PaymentProviderUnavailable,
    PaymentRejected,
    Payments,
    Refund,
)

T = TypeVar("T")

_CHARGE_STATUS: dict[str, ChargeStatus] = {
    "succeeded": "succeeded",
    "requires_action": "requires_action",
    "processing": "processing",
    # A confirmed intent back at requires_payment_method is one whose payment failed.
    "requires_payment_method": "failed",
    "canceled": "failed",
}


def _header(exc: stripe.StripeError, name: str) -> str | None:
    # The SDK hands headers over as the HTTP library gives them: not always case-insensitive.
    for key, value in (exc.headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _error_body(exc: stripe.StripeError) -> dict[str, Any]:
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def _declined_payment_id(exc: stripe.StripeError) -> str | None:
    error = _error_body(exc)
    intent = error.get("payment_intent")
    if isinstance(intent, dict) and isinstance(intent.get("id"), str):
        return str(intent["id"])
    charge = error.get("charge")
    return charge if isinstance(charge, str) else None


def _require_tenant(metadata: Mapping[str, str]) -> dict[str, str]:
    if not metadata.get("tenant_id"):
        raise ValueError("payment metadata must carry tenant_id")
    return dict(metadata)


class StripePayments(Payments):
    def __init__(self, client: stripe.StripeClient, *, rate_limit_retries: int = 3, backoff_seconds: float = 0.5,
                 max_backoff_seconds: float = 8.0, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        self.client = client
        self.rate_limit_retries = rate_limit_retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._sleep = sleep
        self._jitter = jitter

    @classmethod
    def connect(cls, api_key: str, *, api_base: str | None = None, max_network_retries: int = 2,
                **options: Any) -> StripePayments:
        """An adapter on a new client; ``api_base`` points it at another server (the local Stripe server)."""
        client = stripe.StripeClient(api_key, base_addresses={"api": api_base} if api_base else None,
                                     max_network_retries=max_network_retries)
        return cls(client, **options)

    def ensure_customer(self, tenant_id: str, email: str, name: str, *, idempotency_key: str) -> str:
        customer = self._call(lambda: self.client.v1.customers.create(
            params={"email": email, "name": name, "metadata": {"tenant_id": tenant_id}},
            options={"idempotency_key": idempotency_key}))
        return str(customer.id)

    def checkout_session(self, customer_id: str, mode: CheckoutMode, amount_minor: int | None, currency: str,
                         description: str, success_url: str, cancel_url: str, metadata: Mapping[str, str], *,
                         idempotency_key: str) -> CheckoutSession:
        tagged = _require_tenant(metadata)
        params: dict[str, Any] = {"customer": customer_id, "mode": mode, "currency": currency.lower(),
                                  "success_url": success_url, "cancel_url": cancel_url, "metadata": tagged,
                                  "payment_method_types": ["card"]}
        if mode == "setup":
            if amount_minor is not None:
                raise ValueError("a setup session collects no amount")
            params["setup_intent_data"] = {"description": description, "metadata": tagged}
        elif mode == "payment":
            if amount_minor is None or amount_minor <= 0:
                raise ValueError("a payment session needs a positive amount")
            params["line_items"] = [{"quantity": 1, "price_data": {
                "currency": currency.lower(), "unit_amount": amount_minor, "product_data": {"name": description}}}]
            # The card paid with now is the one later renewals and prorations are charged to.
            params["payment_intent_data"] = {"description": description, "metadata": tagged,
                                             "setup_future_usage": "off_session"}
        else:
            raise ValueError(f"unknown checkout mode {mode!r}")
        session = self._call(lambda: self.client.v1.checkout.sessions.create(
            params=cast(Any, params), options={"idempotency_key": idempotency_key}))
        if not session.url:
            raise PaymentRejected(f"checkout session {session.id} has no URL")
        return CheckoutSession(id=str(session.id), url=str(session.url))

    def portal_session(self, customer_id: str, return_url: str) -> str:
        # A portal session changes nothing by itself: the SDK's own idempotency key covers its retries.
        session = self._call(lambda: self.client.v1.billing_portal.sessions.create(
            params={"customer": customer_id, "return_url": return_url}))
        return str(session.url)

    def charge(self, customer_id: str, amount_minor: int, currency: str, *, payment_method: str | None,
               description: str, metadata: Mapping[str, str], idempotency_key: str) -> Charge:
        if amount_minor <= 0:
            raise ValueError("a charge needs a positive amount")
        tagged = _require_tenant(metadata)
        method = payment_method or self.default_payment_method(customer_id)
        if method is None:
            raise PaymentDeclined("the customer has no payment method", code="missing_payment_method")
        try:
            intent = self._call(lambda: self.client.v1.payment_intents.create(
                params={"amount": amount_minor, "currency": currency.lower(), "customer": customer_id,
                        "payment_method": method, "confirm": True, "off_session": True,
                        "description": description, "metadata": tagged},
                options={"idempotency_key": idempotency_key}))
        except PaymentDeclined as declined:
            # Off-session, a card that wants 3-D Secure is reported as an error, but the intent waits for the
            # customer: that is an action to ask for, not a refusal.
            if declined.code == "authentication_required" and declined.payment_id:
                return Charge(id=declined.payment_id, status="requires_action", failure_message=declined.message)
            raise
        status = _CHARGE_STATUS.get(str(intent.status), "failed")
        error = intent.to_dict().get("last_payment_error") or {}
        return Charge(id=str(intent.id), status=status,
                      failure_message=error.get("message") if status == "failed" else None)

    def refund(self, payment_id: str, amount_minor: int | None, *, idempotency_key: str) -> Refund:
        params: dict[str, Any] = {"charge" if payment_id.startswith("ch_") else "payment_intent": payment_id}
        if amount_minor is not None:
            if amount_minor <= 0:
                raise ValueError("a partial refund needs a positive amount")
            params["amount"] = amount_minor
        refund = self._call(lambda: self.client.v1.refunds.create(
            params=cast(Any, params), options={"idempotency_key": idempotency_key}))
        return Refund(id=str(refund.id), status=str(refund.status))

    def default_payment_method(self, customer_id: str) -> str | None:
        customer = self._call(lambda: self.client.v1.customers.retrieve(customer_id)).to_dict()
        chosen = (customer.get("invoice_settings") or {}).get("default_payment_method")
        if isinstance(chosen, dict):
            chosen = chosen.get("id")
        if chosen:
            return str(chosen)
        # Checkout attaches the card without making it the default: the card the customer saved is the one.
        cards = self._call(lambda: self.client.v1.payment_methods.list(
            params={"customer": customer_id, "type": "card", "limit": 1}))
        return str(cards.data[0].id) if cards.data else None

    def _call(self, request: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return request()
            except stripe.RateLimitError as exc:
                if attempt >= self.rate_limit_retries or _header(exc, "stripe-should-retry") == "false":
                    raise PaymentProviderUnavailable(f"Stripe is rate limiting: {exc.user_message}") from exc
                attempt += 1
                self._sleep(self._backoff(attempt, _header(exc, "retry-after")))
            except stripe.CardError as exc:
                raise PaymentDeclined(exc.user_message or "the card was declined", code=exc.code,
                                      payment_id=_declined_payment_id(exc)) from exc
            except stripe.APIConnectionError as exc:
                raise PaymentProviderUnavailable(f"Stripe is unreachable: {exc.user_message}") from exc
            except stripe.StripeError as exc:
                if exc.http_status is None or exc.http_status >= 500:
                    raise PaymentProviderUnavailable(f"Stripe failed: {exc.user_message}") from exc
                raise PaymentRejected(f"Stripe refused the request: {exc.user_message}") from exc

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        # Half fixed, half random: spread clients that were limited together without ever retrying at once.
        delay = ceiling * (0.5 + self._jitter() / 2)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), self.max_backoff_seconds))
        return delay
