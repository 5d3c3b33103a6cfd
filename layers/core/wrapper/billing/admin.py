"""The operator's invoices (``/v1/admin/invoices``): every tenant's list, one invoice by its id, void, and
verify.

- **List**: newest first by issue day, across tenants (the index ``wrapper.invoices.store`` keeps), or one
  tenant's (its own partition) when ``tenant_id`` is given; ``status`` filters either.
- **Void**: only an ``open`` invoice (issued, not paid). It keeps its number (numbers never leave gaps)
  and is no longer due; ``invoice.voided`` is written with the change, on the condition that the invoice
  is still the version read, so a payment or another void that lands meanwhile wins and this one is a 409.
- **Verify**: each usage line's quantity folded again from the raw usage events of its period
  (``wrapper.usage.service.recompute``, the same fold the aggregates are checked with), priced again by
  the price the line names. ``difference`` is what the recomputed amounts come to less the invoiced ones,
  in minor units: 0 when the invoice billed exactly what was used. Raw events are kept 40 days
  (``wrapper.usage.store.EVENT_TTL_DAYS``): an older period's events may be gone, and its recomputation
  with them. A line that cannot be recomputed (no price recorded, its price or meter no longer in the
  catalog) answers null, and so does the invoice's difference.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import ConfigDict, Field

from wrapper.catalog.models import Price
from wrapper.catalog.store import Catalog
from wrapper.events.catalog import EventType
from wrapper.events.envelope import audit_fields, new_event
from wrapper.events.outbox import write_with_outbox
from wrapper.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from wrapper.invoices.store import InvoiceStore
from wrapper.kernel.clock import Clock, now
from wrapper.kernel.errors import Conflict, NotFound
from wrapper.kernel.model import Model
from wrapper.kernel.pagination import Page
from wrapper.kernel.request_meta import RequestMeta
from wrapper.kernel.tenant import TenantContext
from wrapper.money.pricing import amount_for
from wrapper.store.table import Item
from wrapper.usage.service import recompute
from wrapper.usage.store import UsageStore


class VoidRequest(Model):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, min_length=1, max_length=500,
                               description="Why (kept in the invoice.voided event and the audit log)")


class VerifiedLine(Model):
    line_id: str
    meter: str | None
    quantity: Decimal = Field(description="As invoiced")
    recomputed_quantity: Decimal | None = Field(description="Folded again from the raw usage events")
    amount: int = Field(description="As invoiced, minor units (before discount and tax)")
    recomputed_amount: int | None = Field(description="The recomputed quantity at the line's price")
    difference: int | None = Field(description="recomputed_amount - amount, minor units")


class Verification(Model):
    invoice_id: str
    lines: list[VerifiedLine] = Field(description="One per usage line")
    difference: int | None = Field(description="The sum of the lines' differences, minor units: 0 when exact; "
                                               "null when a line could not be recomputed")


class InvoiceAdmin:
    def __init__(self, invoices: InvoiceStore, catalog: Catalog, usage: UsageStore, *, outbox_ttl_days: int,
                 clock: Clock = now) -> None:
        self.invoices = invoices
        self.catalog = catalog
        self.usage = usage
        self.outbox_ttl_days = outbox_ttl_days
        self.clock = clock

    def page(self, *, tenant_id: str | None, status: InvoiceStatus | None, limit: int | None,
             cursor: str | None) -> Page[Invoice]:
        if tenant_id is not None:
            return self.invoices.page(TenantContext(tenant_id), limit=limit, cursor=cursor, status=status)
        return self.invoices.platform_page(limit=limit, cursor=cursor, status=status)

    def get(self, invoice_id: str) -> Invoice:
        invoice = self.invoices.find(invoice_id)
        if invoice is None:
            raise NotFound("No such invoice.")
        return invoice

    def void(self, invoice_id: str, *, reason: str | None, by: str, request_meta: RequestMeta) -> Invoice:
        current = self.get(invoice_id)
        if current.status != "open":
            raise Conflict(f"Only an open invoice can be voided; this one is {current.status}.")
        voided = current.model_copy(update={"status": "void", "voided_at": self.clock(),
                                            "version": current.version + 1})
        event = new_event(EventType.INVOICE_VOIDED, current.tenant_id, {
            **audit_fields(by, current.id, request_meta), "invoice_id": current.id, "number": current.number,
            "subscription_id": current.subscription_id, "currency": current.currency, "total": current.total,
            "amount_due": current.amount_due, "reason": reason})
        write_with_outbox(self.invoices.table, [self.invoices.save_op(voided, expected_version=current.version)],
                          [event], ttl_days=self.outbox_ttl_days)
        return voided

    def verify(self, invoice_id: str) -> Verification:
        invoice = self.get(invoice_id)
        usage_lines = [line for line in invoice.lines if line.kind == "usage"]
        prices: dict[str, Price] = {}
        events: list[Item] = []
        if usage_lines:  # read once for every line: the catalog's prices, the tenant's raw events
            prices = {p.id: p for p in self.catalog.all_prices()}
            events = self.usage.events(TenantContext(invoice.tenant_id))
        lines = [self._verify_line(invoice, line, prices, events) for line in usage_lines]
        differences = [line.difference for line in lines]
        total = None if None in differences else sum(d for d in differences if d is not None)
        return Verification(invoice_id=invoice.id, lines=lines, difference=total)

    def _verify_line(self, invoice: Invoice, line: InvoiceLine, prices: dict[str, Price],
                     events: list[Item]) -> VerifiedLine:
        price = prices.get(line.price_id) if line.price_id else None
        meter = self.catalog.meter(line.meter) if line.meter else None
        quantity: Decimal | None = None
        amount: int | None = None
        if meter is not None:
            quantity = recompute(events, meter, _period_start(line, invoice.period_start))
            amount = amount_for(price.spec, quantity) if price is not None else None
        return VerifiedLine(line_id=line.id, meter=line.meter, quantity=line.quantity, recomputed_quantity=quantity,
                            amount=line.amount, recomputed_amount=amount,
                            difference=None if amount is None else amount - line.amount)


def _period_start(line: InvoiceLine, default: datetime) -> datetime:
    return line.period_start or default
