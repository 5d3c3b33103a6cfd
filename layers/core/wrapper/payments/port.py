"""What billing logic needs from a payment provider, as one small interface.

Callers talk to ``Payments`` only; the Stripe adapter is one implementation and a second provider
fits by implementing the same methods. Amounts are integers in the currency's minor unit, currencies
are lower-case ISO 4217 codes. Every write takes an idempotency key chosen by the caller from what
identifies the operation (e.g. ``f"charge:{tenant_id}:{invoice_id}"``), so a retried request, a
replayed message or a second Lambda attempt never charges twice. ``metadata`` must carry
``tenant_id``: it is how a webhook is traced back to its tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

CheckoutMode = Literal["setup", "payment"]
# "processing" is a bank debit still on its way; cards answer at once.
ChargeStatus = Literal["succeeded", "requires_action", "processing", "failed"]


class PaymentError(Exception):
    """Base of what the port raises; provider exceptions never reach callers."""


class PaymentDeclined(PaymentError):
    """The customer's bank or card refused the payment; retrying the same request will not help."""

    def __init__(self, message: str, *, code: str | None = None, payment_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.payment_id = payment_id


class PaymentProviderUnavailable(PaymentError):
    """The provider could not be reached or kept failing after retries; the same request may be retried later
    with the same idempotency key."""


class PaymentRejected(PaymentError):
    """The provider refused the request itself (unknown customer, bad parameters, an idempotency key reused for
    a different request): a bug or stale data on our side, not something a retry fixes."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class Charge:
    id: str
    status: ChargeStatus
    failure_message: str | None = None


@dataclass(frozen=True)
class Refund:
    id: str
    status: str


class Payments(Protocol):
    def ensure_customer(self, tenant_id: str, email: str, name: str, *, idempotency_key: str) -> str:
        """Answer the provider's customer id for this tenant, creating it; the same key answers the same customer."""
        ...

    def checkout_session(self, customer_id: str, mode: CheckoutMode, amount_minor: int | None, currency: str,
                         description: str, success_url: str, cancel_url: str, metadata: Mapping[str, str], *,
                         idempotency_key: str) -> CheckoutSession:
        """A hosted page where the customer saves a card (``setup``) or pays ``amount_minor`` now (``payment``,
        the card is kept for later charges)."""
        ...

    def portal_session(self, customer_id: str, return_url: str) -> str:
        """The URL of a hosted page where the customer manages their payment methods."""
        ...

    def charge(self, customer_id: str, amount_minor: int, currency: str, *, payment_method: str | None,
               description: str, metadata: Mapping[str, str], idempotency_key: str) -> Charge:
        """Charge a saved payment method off-session (the customer's default when ``payment_method`` is None).
        PaymentDeclined when refused."""
        ...

    def refund(self, payment_id: str, amount_minor: int | None, *, idempotency_key: str) -> Refund:
        """Refund a charge in full (``amount_minor`` None) or in part."""
        ...

    def default_payment_method(self, customer_id: str) -> str | None:
        """The payment method a charge without one would use, or None when the customer has none."""
        ...
