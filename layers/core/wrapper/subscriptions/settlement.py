"""Settling an invoice that was left unpaid, whoever pays it: a retry of the billing run's dunning, the pay
link's Checkout page (the Stripe webhook), or the tenant's ``POST /v1/invoices/{id}/pay``.

The invoice becomes ``paid``, its dunning stops, and the subscription it billed, if it is still the
tenant's and was left ``past_due`` or ``unpaid`` by it, is ``active`` again: all in one transaction
conditioned on the versions read. Settling twice settles once: a paid invoice answers "duplicate". An
``uncollectible`` invoice can still be paid (it is then ``paid``); a subscription already canceled back
to the default plan is not restored by it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wrapper.events.catalog import EventType
from wrapper.events.envelope import EventEnvelope, new_event
from wrapper.invoices.models import Invoice
from wrapper.invoices.store import InvoiceStore
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import dunning_sk
from wrapper.store.table import WriteRefused, delete_op
from wrapper.subscriptions.store import SubscriptionStore

# The metadata purpose of a payment made for an invoice (a dunning retry, its pay link, POST .../pay).
PURPOSE_INVOICE_PAYMENT = "invoice_payment"
SETTLEABLE = ("open", "uncollectible")
ATTEMPTS = 3  # a settlement that loses to a concurrent write reads again


class Settlement:
    def __init__(self, store: SubscriptionStore, invoices: InvoiceStore) -> None:
        self.store = store
        self.invoices = invoices

    def settle(self, tenant: TenantContext, invoice_id: str, payment_id: str | None, *, at: datetime,
               audit: dict[str, Any], extra_operations: list[dict[str, Any]] | None = None) -> str:
        """Mark the invoice paid by ``payment_id``; answers what happened, for the caller's log or result."""
        for _ in range(ATTEMPTS):
            invoice = self.invoices.get(tenant, invoice_id)
            if invoice is None:
                return "ignored: no such invoice"
            if invoice.status == "paid":
                return f"duplicate: invoice {invoice_id} already paid"
            if invoice.status not in SETTLEABLE:
                return f"ignored: invoice {invoice_id} is {invoice.status}"
            operations, events = self._settle_ops(tenant, invoice, payment_id, at, audit)
            try:
                self.store.write([*operations, *(extra_operations or [])], events)
            except WriteRefused:
                continue
            return f"applied: invoice {invoice_id} paid"
        return f"skipped: invoice {invoice_id} kept changing"

    def _settle_ops(self, tenant: TenantContext, invoice: Invoice, payment_id: str | None, at: datetime,
                    audit: dict[str, Any]) -> tuple[list[dict[str, Any]], list[EventEnvelope]]:
        settled = invoice.model_copy(update={"status": "paid", "amount_paid": invoice.amount_due,
                                             "payment_id": payment_id, "payment_error": None,
                                             "version": invoice.version + 1})
        operations = [self.invoices.save_op(settled, expected_version=invoice.version),
                      delete_op(tenant.pk, dunning_sk(invoice.id))]
        events = [new_event(EventType.INVOICE_PAID, tenant.tenant_id, {
            **audit, "invoice_id": invoice.id, "number": invoice.number, "amount_paid": settled.amount_paid,
            "currency": invoice.currency, "payment_id": payment_id})]
        if payment_id is not None:  # no payment: credited down to nothing
            events.append(new_event(EventType.PAYMENT_SUCCEEDED, tenant.tenant_id, {
                **audit, "payment_id": payment_id, "amount": settled.amount_paid, "currency": invoice.currency,
                "reason": "invoice"}))
        current = self.store.current(tenant)
        if current is not None and current.id == invoice.subscription_id and current.status in ("past_due", "unpaid"):
            restored = current.model_copy(update={"status": "active", "updated_at": at, "version": current.version + 1})
            operations += self.store.save_ops(restored, expected_version=current.version)
            events.append(new_event(EventType.SUBSCRIPTION_UPDATED, tenant.tenant_id,
                                    {**audit, "target": current.id, "change": "active", "status": "active"}))
        return operations, events
