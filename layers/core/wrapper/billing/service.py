"""A tenant's invoices as it reads them: the list, one invoice, and the upcoming one (``billing:read``)."""

from __future__ import annotations

from datetime import date

from wrapper.billing.renewal import PeriodEnds
from wrapper.invoices.models import Invoice, InvoiceStatus
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import InvalidInput, NotFound
from wrapper.kernel.pagination import Page
from wrapper.kernel.permissions import Permission


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

    def upcoming(self, actor: Actor) -> Invoice:
        """The invoice the current period's end would issue if the period ended now: its usage so far and the
        next period's fee, rated by the billing run's own code. A draft: no number, nothing stored."""
        current = self.subscriptions.current(actor)
        following, _ = self.period_ends.following(current)
        return self.rating.closing_invoice(current, following, at=current.current_period_end)
