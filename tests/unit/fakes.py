"""Fakes the unit suite shares: a clock a test sets, and a payment provider in memory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from wrapper.notifications import Email
from wrapper.payments.port import Charge, CheckoutMode, CheckoutSession, PaymentDeclined, Refund

Instant = TypeVar("Instant", float, datetime)


@dataclass
class Clock(Generic[Instant]):
    """Answers ``now`` until the test sets it or moves it on: epoch seconds (``EpochClock``) or an aware
    datetime (``Clock`` in ``wrapper.kernel.clock``), whichever it was started with."""

    now: Instant

    def __call__(self) -> Instant:
        return self.now

    def advance(self, seconds: float) -> None:
        if isinstance(self.now, datetime):
            self.now = self.now + timedelta(seconds=seconds)
        else:
            self.now = self.now + seconds


@dataclass
class FakePayments:
    """The payments port in memory: a saved card (or none), charges that succeed unless told to decline."""

    card: str | None = "pm_card"
    decline: bool = False
    charges: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[str] = field(default_factory=list)
    customers: dict[str, str] = field(default_factory=dict)
    # As at Stripe, a charge repeated under its idempotency key answers the first payment (each attempt is
    # still listed in ``charges``).
    payment_of_key: dict[str, str] = field(default_factory=dict)

    def ensure_customer(self, tenant_id: str, email: str, name: str, *, idempotency_key: str) -> str:
        return self.customers.setdefault(idempotency_key, f"cus_{tenant_id}")

    def checkout_session(self, customer_id: str, mode: CheckoutMode, amount_minor: int | None, currency: str,
                         description: str, success_url: str, cancel_url: str, metadata: Mapping[str, str], *,
                         idempotency_key: str) -> CheckoutSession:
        session_id = f"cs_{len(self.sessions) + 1}"
        self.sessions.append({"id": session_id, "customer": customer_id, "mode": mode, "amount": amount_minor,
                              "metadata": dict(metadata), "key": idempotency_key})
        return CheckoutSession(id=session_id, url=f"https://checkout.test/{session_id}")

    def portal_session(self, customer_id: str, return_url: str) -> str:
        return f"https://portal.test/{customer_id}"

    def charge(self, customer_id: str, amount_minor: int, currency: str, *, payment_method: str | None,
               description: str, metadata: Mapping[str, str], idempotency_key: str) -> Charge:
        if self.decline:
            raise PaymentDeclined("Your card was declined.", code="card_declined", payment_id="pi_declined")
        self.charges.append({"amount": amount_minor, "currency": currency, "method": payment_method,
                             "key": idempotency_key})
        payment_id = self.payment_of_key.setdefault(idempotency_key, f"pi_{len(self.charges)}")
        return Charge(id=payment_id, status="succeeded")

    def refund(self, payment_id: str, amount_minor: int | None, *, idempotency_key: str) -> Refund:
        self.refunds.append(payment_id)
        return Refund(id=f"re_{payment_id}", status="succeeded")

    def default_payment_method(self, customer_id: str) -> str | None:
        return self.card


@dataclass
class FakeNotifier:
    """The notifications port in memory: every email sent, in order."""

    sent: list[Email] = field(default_factory=list)

    def send(self, email: Email) -> None:
        self.sent.append(email)
