"""A tenant's invoices as it reads them: the list, one invoice, and the upcoming one (``billing:read``)."""

from __future__ import annotations

from datetime import date

from wrapper.billing.renewal import PeriodEnds
from wrapper.events.envelope import audit_fields
from wrapper.invoices.models import Invoice, InvoiceStatus
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound
from wrapper.kernel.pagination import Page
from wrapper.kernel.permissions import Permission
from wrapper.payments.collection import PaymentRequired
from wrapper.subscriptions.settlement import PURPOSE_INVOICE_PAYMENT, SETTLEABLE


class Invoices:
    def __init__(self, period_ends: PeriodEnds) -> None:
        self.period_ends = period_ends
        self.subscriptions = period_ends.subscriptions
        self.rating = period_ends.rating
        self.store = period_ends.rating.invoices

    def page(self, actor: Actor, *, limit: int | None, cursor: str | None, status: InvoiceStatus | None = None,
             issued_from: date | None = None, issued_to: date | None = None) -> Page[Invoice]:
        """Newest first; ``issued_from`` and ``issued_to`` bound the issue day (both included)."""
        actor.require(Permission.BILLING_READ)
        if issued_from and issued_to and issued_from > issued_to:
            raise InvalidInput("from is after to.", errors=[{"field": "from", "message": "after to"}])
        return self.store.page(actor.tenant, limit=limit, cursor=cursor, status=status,
                               issued_from=issued_from, issued_to=issued_to)

    def get(self, actor: Actor, invoice_id: str) -> Invoice:
        actor.require(Permission.BILLING_READ)
        invoice = self.store.get(actor.tenant, invoice_id)
        if invoice is None:
            raise NotFound("No such invoice.")
        return invoice

    def pay(self, actor: Actor, invoice_id: str) -> Invoice:
        """Pay an unpaid invoice now: the saved card is charged its amount due; without a card that pays, the
        answer is 402 with a pay link (a Checkout page for exactly that amount, settled by the webhook)."""
        actor.require(Permission.BILLING_WRITE)
        invoice = self.get(actor, invoice_id)
        dunning = self.period_ends.dunning
        if invoice.status not in SETTLEABLE or dunning is None:
            raise Conflict(f"The invoice is {invoice.status}: there is nothing to pay.")
        audit = audit_fields(actor.user_id, invoice.id, actor.request_meta)
        if invoice.amount_due <= 0:  # credited down to nothing: settled without a charge
            dunning.settlement.settle(actor.tenant, invoice.id, None, at=self.subscriptions.clock(), audit=audit)
            return self.get(actor, invoice_id)
        attempt = self.subscriptions.collection.charge_saved_card(
            actor.tenant, actor.user_id, invoice.amount_due, invoice.currency, description=f"Invoice {invoice.number}",
            # The version too: a credit note since changes the amount, and a key must name one amount.
            key=f"invoice:{invoice.id}:manual:{invoice.attempts + 1}:v{invoice.version}",
            metadata={"tenant_id": actor.tenant.tenant_id, "purpose": PURPOSE_INVOICE_PAYMENT,
                      "invoice_id": invoice.id})
        if attempt.charge is None:
            session = dunning.pay_link(actor.tenant, invoice)
            raise PaymentRequired(f"The saved card could not pay {invoice.amount_due} {invoice.currency} "
                                  f"({attempt.declined}): pay on the Checkout page.", checkout_url=session.url,
                                  checkout_session_id=session.id, amount_due=invoice.amount_due,
                                  currency=invoice.currency)
        dunning.settlement.settle(actor.tenant, invoice.id, attempt.charge.id, at=self.subscriptions.clock(),
                                  audit=audit)
        return self.get(actor, invoice_id)

    def upcoming(self, actor: Actor) -> Invoice:
        """The invoice the current period's end would issue if the period ended now: its usage so far and the
        next period's fee, rated by the billing run's own code. A draft: no number, nothing stored."""
        current = self.subscriptions.current(actor)
        following, _ = self.period_ends.following(current)
        return self.rating.closing_invoice(current, following, at=current.current_period_end)
