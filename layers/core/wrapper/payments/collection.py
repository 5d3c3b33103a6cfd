"""Collecting money, for whatever asks: a subscription change, a credit top-up, and invoices next.

It finds or creates the tenant's customer at the provider, charges the saved card off-session, or
answers a Checkout page for the same payment, and gives money back when the write that the payment
was for loses a race. A provider that cannot be reached is 503 here, once, for every caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from wrapper.kernel.errors import DomainError, Unavailable
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.port import Charge, CheckoutSession, PaymentDeclined, PaymentProviderUnavailable, Payments


class PaymentRequired(DomainError):
    """The change needs a payment the saved card could not make: pay on the Checkout page."""

    status = 402
    title = "Payment Required"
    type_slug = "payment-required"

    def __init__(self, detail: str, *, checkout_url: str, checkout_session_id: str, amount_due: int,
                 currency: str) -> None:
        super().__init__(detail)
        self.checkout_url = checkout_url
        self.checkout_session_id = checkout_session_id
        self.amount_due = amount_due
        self.currency = currency

    def extensions(self) -> dict[str, Any]:
        return {"checkout_url": self.checkout_url, "checkout_session_id": self.checkout_session_id,
                "amount_due": self.amount_due, "currency": self.currency}


@dataclass(frozen=True)
class CardAttempt:
    """What charging the saved card came to: the charge when paid, else why not; and the customer
    it was for (a Checkout page for the same payment needs it)."""

    customer: str
    charge: Charge | None
    declined: str | None
    payment_id: str | None
    method: str | None


class BillingAccounts(Protocol):
    """Where a tenant's customer id, saved card and billing email are kept."""

    def billing(self, tenant: TenantContext) -> dict[str, Any] | None: ...

    def profile(self, tenant: TenantContext) -> dict[str, Any]: ...

    def member_email(self, tenant: TenantContext, user_id: str) -> str | None: ...

    def create_billing(self, tenant: TenantContext, customer_id: str) -> None: ...


class Collection:
    def __init__(self, accounts: BillingAccounts, payments: Callable[[], Payments], *, billing_page: str) -> None:
        self.accounts = accounts
        self.payments = payments
        self.billing_page = billing_page

    def customer(self, tenant: TenantContext, user_id: str) -> str:
        """The tenant's customer id at the provider, created there first and then recorded (never inside a
        DynamoDB transaction); the idempotency key makes a retried creation answer the same customer."""
        billing = self.accounts.billing(tenant)
        if billing and billing.get("stripe_customer_id"):
            return str(billing["stripe_customer_id"])
        profile = self.accounts.profile(tenant)
        email = str(profile.get("billing_email") or self.accounts.member_email(tenant, user_id) or "")
        customer = self.call(lambda p: p.ensure_customer(
            tenant.tenant_id, email, str(profile.get("name") or tenant.tenant_id),
            idempotency_key=f"customer:{tenant.tenant_id}"))
        self.accounts.create_billing(tenant, customer)
        billing = self.accounts.billing(tenant) or {}
        return str(billing.get("stripe_customer_id") or customer)

    def charge_saved_card(self, tenant: TenantContext, user_id: str, amount_minor: int, currency: str, *,
                          description: str, key: str, metadata: dict[str, str]) -> CardAttempt:
        """Charge the tenant's saved card off-session. ``key`` names the payment: the same key charges
        once at the provider, whatever retries happen here."""
        customer = self.customer(tenant, user_id)
        billing = self.accounts.billing(tenant) or {}
        method = billing.get("default_payment_method") or self.call(lambda p: p.default_payment_method(customer))
        if not method:
            return CardAttempt(customer, charge=None, declined="no saved card", payment_id=None, method=None)
        try:
            charge = self.call(lambda p: p.charge(
                customer, amount_minor, currency, payment_method=str(method), description=description,
                idempotency_key=f"charge:{key}:{method}", metadata=metadata))
        except PaymentDeclined as exc:
            return CardAttempt(customer, charge=None, declined=exc.message, payment_id=exc.payment_id,
                               method=str(method))
        if charge.status == "succeeded":
            return CardAttempt(customer, charge=charge, declined=None, payment_id=charge.id, method=str(method))
        return CardAttempt(customer, charge=None, declined=charge.failure_message or charge.status,
                           payment_id=charge.id, method=str(method))

    def payment_page(self, customer: str, amount_minor: int, currency: str, *, description: str, key: str,
                     metadata: dict[str, str]) -> CheckoutSession:
        """A Checkout page (mode payment) for the amount; the webhook acts on its ``metadata``."""
        return self.call(lambda p: p.checkout_session(
            customer, "payment", amount_minor, currency, description,
            f"{self.billing_page}?checkout=success", f"{self.billing_page}?checkout=canceled",
            metadata, idempotency_key=f"checkout:{key}"))

    def refund(self, charge: Charge) -> None:
        """Give a whole charge back, once, whoever asks again."""
        self.call(lambda p: p.refund(charge.id, None, idempotency_key=f"refund:{charge.id}"))

    def call(self, call: Callable[[Payments], Any]) -> Any:
        try:
            return call(self.payments())
        except PaymentProviderUnavailable:
            raise Unavailable("The payment provider is unavailable; retry in a moment.") from None
