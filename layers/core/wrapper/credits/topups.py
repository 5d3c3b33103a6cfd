"""Credits a tenant buys: ``POST /v1/credits/top-ups``.

The saved card is charged off-session for ``credits * unit_amount`` (minor units of ``currency``) plus
the tax of the tenant's billing address; when it pays, the grant and its paid invoice are written at
once, named by the payment, so a retry grants once. Without a card that pays, the invoice is kept as a
draft and the answer is 402 with a Checkout page; once it is paid, the Stripe webhook grants the credits,
named by the Checkout session, and issues the invoice (``grant_paid_checkout``). Bought credits never expire
and are spent after the operator's grants of a lower priority number.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from ulid import ULID

from wrapper.catalog.store import Catalog
from wrapper.credits.models import CreditGrant, TopUp
from wrapper.credits.service import Billed, Credits
from wrapper.invoices.issuing import charge_invoice_id, draft, paid
from wrapper.invoices.store import InvoiceStore
from wrapper.kernel.actor import Actor
from wrapper.kernel.clock import Clock, now
from wrapper.kernel.permissions import Permission
from wrapper.kernel.tenant import TenantContext
from wrapper.money.invoicing import PricedLine
from wrapper.payments.collection import Collection, PaymentRequired
from wrapper.store.table import WriteRefused

PURPOSE_TOP_UP = "credit_top_up"
PURCHASED_PRIORITY = 100


class TopUps:
    def __init__(self, collection: Collection, credits: Credits, *, unit_amount: int, currency: str,
                 catalog: Catalog, invoices: InvoiceStore, clock: Clock = now) -> None:
        self.collection = collection
        self.credits = credits
        self.unit_amount = unit_amount
        self.currency = currency
        self.catalog = catalog
        self.invoices = invoices
        self.clock = clock

    def buy(self, actor: Actor, body: TopUp, *, idempotency_key: str | None) -> CreditGrant:
        actor.require(Permission.BILLING_WRITE)
        tenant = actor.tenant
        at = self.clock()
        # The key names the payment at Stripe: a retry after a crash charges the same payment again, once.
        key = f"topup:{tenant.tenant_id}:{idempotency_key or ULID()}:{body.credits}"
        description = f"{body.credits} credits"
        line = PricedLine("credits", description, body.credits * self.unit_amount, body.credits)
        invoice = draft(self.catalog, self.collection.accounts.profile(tenant),
                        charge_invoice_id(tenant.tenant_id, key, at), [line], currency=self.currency,
                        tenant_id=tenant.tenant_id, subscription_id=None, period=(at, at), at=at)
        stored = self.invoices.get(tenant, invoice.id)
        if stored is not None and stored.status == "draft":
            invoice = stored  # an earlier try's draft (its Checkout page never paid): this payment issues it
        amount = invoice.amount_due
        metadata = {"tenant_id": tenant.tenant_id, "purpose": PURPOSE_TOP_UP, "credits": str(body.credits),
                    "invoice_id": invoice.id}
        attempt = self.collection.charge_saved_card(tenant, actor.user_id, amount, self.currency,
                                                    description=description, key=key, metadata=metadata)
        if attempt.charge is not None:
            return self.credits.grant(tenant, body.credits, source="purchase",
                                      reference=f"payment:{attempt.charge.id}", by=actor.user_id,
                                      priority=PURCHASED_PRIORITY, description=f"Bought: {description}",
                                      request_meta=actor.request_meta,
                                      billed=Billed(paid(invoice, attempt.charge.id), self.invoices,
                                                    stored_draft=stored is not None and stored.status == "draft"))
        # Kept as a draft until the Checkout page is paid; the webhook then issues it with the grant.
        with suppress(WriteRefused):  # the same key's draft, stored by an earlier try
            self.invoices.table.transact([self.invoices.save_op(invoice, expected_version=None)])
        session = self.collection.payment_page(attempt.customer, amount, self.currency, description=description,
                                               key=key, metadata=metadata)
        raise PaymentRequired(f"The saved card could not pay {amount} {self.currency} ({attempt.declined}): pay on "
                              "the Checkout page and the credits are added.", checkout_url=session.url,
                              checkout_session_id=session.id, amount_due=amount, currency=self.currency)


def grant_paid_checkout(credits: Credits, invoices: InvoiceStore, tenant: TenantContext,
                        session: dict[str, Any]) -> str:
    """The webhook's part: a paid top-up Checkout session becomes its grant and its invoice, once."""
    metadata = session.get("metadata") or {}
    try:
        amount = int(metadata.get("credits", ""))
    except ValueError:
        return "ignored: a top-up session without its credits"
    if amount <= 0:
        return "ignored: a top-up session without its credits"
    stored = invoices.get(tenant, str(metadata.get("invoice_id") or "")) if metadata.get("invoice_id") else None
    billed = None
    if stored is not None and stored.status == "draft":
        billed = Billed(paid(stored, str(session.get("payment_intent") or session.get("id"))), invoices,
                        stored_draft=True)
    grant = credits.grant(tenant, amount, source="purchase", reference=f"checkout:{session.get('id')}",
                          by="stripe", priority=PURCHASED_PRIORITY, description=f"Bought: {amount} credits",
                          billed=billed)
    return f"applied: {amount} credits granted ({grant.id})"
