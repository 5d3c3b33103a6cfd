"""Issuing an invoice: who it is addressed to, which tax applies, and writing it numbered with what it bills.

Every charge has its invoice: a period end's (the billing run), the first period's fee at subscribe, an
upgrade's proration, and a credit top-up. Each is built from priced lines by
:func:`wrapper.money.invoicing.total_invoice`, and written by :func:`issue` in the same transaction as
the change it bills, so a change is never applied without its invoice nor an invoice kept without its
change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from wrapper.catalog.store import Catalog
from wrapper.events.catalog import EventType
from wrapper.events.envelope import EventEnvelope, new_event
from wrapper.invoices.models import Invoice, invoice_of
from wrapper.invoices.store import InvoiceStore
from wrapper.kernel.errors import Unavailable
from wrapper.money.invoicing import Discount, PricedLine, TaxRule, total_invoice
from wrapper.store.table import Item, WriteRefused
from wrapper.tenancy.profile import BillingDetails, billing_details_of

# Each attempt loses only to another invoice numbered between its read of the counter and its write.
NUMBER_ATTEMPTS = 20
Write = Callable[[list[dict[str, Any]], list[EventEnvelope]], None]


def charge_invoice_id(tenant_id: str, charge_key: str, issued_on: datetime) -> str:
    """The one id of the invoice for the charge named ``charge_key`` (the charge's own idempotency key)."""
    digest = hashlib.sha256(f"charge|{tenant_id}|{charge_key}".encode()).hexdigest()
    return f"in_{issued_on:%Y%m%d}_{digest[:16]}"


def tax_rule(catalog: Catalog, customer: BillingDetails | None) -> TaxRule | None:
    """The catalog's active rate for the billing address's country and region; none without an address."""
    address = customer.address if customer else None
    if address is None:
        return None
    rate = catalog.tax_rate_for(address.country, address.subdivision)
    return TaxRule(rate.id, rate.name, rate.percentage, rate.inclusive) if rate else None


def draft(catalog: Catalog, profile: Item, invoice_id: str, lines: Sequence[PricedLine], *, currency: str,
          tenant_id: str, subscription_id: str | None, period: tuple[datetime, datetime], at: datetime,
          discount: Discount | None = None) -> Invoice:
    """A draft invoice of ``lines`` for the tenant whose profile item is ``profile``: its billing details
    when drafted, the tax of its address, the discount, in the order of ``wrapper.money.invoicing``."""
    customer = billing_details_of(profile)
    totals = total_invoice(lines, currency, discount=discount, tax=tax_rule(catalog, customer))
    return invoice_of(invoice_id, totals, tenant_id=tenant_id, subscription_id=subscription_id, period=period,
                      at=at, customer=customer, coupon=discount.code if discount else None)


def numbered_ops(invoice: Invoice, store: InvoiceStore, *, at: datetime,
                 stored_draft: bool = False) -> tuple[Invoice, list[dict[str, Any]]]:
    """``invoice`` numbered and issued at ``at``, and the two writes that issue it: the invoice (a new one, or,
    with ``stored_draft``, over the draft stored at ``invoice.version``) and the number's counter, last."""
    number, take = store.next_number(at)
    numbered = invoice.model_copy(update={"number": number, "issued_at": at,
                                          "version": invoice.version + 1 if stored_draft else invoice.version})
    return numbered, [store.save_op(numbered, expected_version=invoice.version if stored_draft else None), take]


def number_lost(refused: WriteRefused, operations: int) -> bool:
    """Whether a write of ``operations`` whose last is a number's counter lost only that number (or was
    held up by another transaction): the same write with the next number may pass."""
    return refused.failed == (operations - 1,) or refused.contended


def issue(invoice: Invoice, store: InvoiceStore, write: Write, operations: Sequence[dict[str, Any]], *,
          at: datetime, events: Callable[[Invoice], list[EventEnvelope]], stored_draft: bool = False) -> Invoice:
    """Number ``invoice``, then write it with ``operations`` (the change it bills) and ``events(numbered)`` in
    one transaction. Losing the number to another invoice written meanwhile is retried with the next one;
    any other refusal (the change's own conditions) is raised as it came."""
    for _ in range(NUMBER_ATTEMPTS):
        numbered, issuing = numbered_ops(invoice, store, at=at, stored_draft=stored_draft)
        ops = [*operations, *issuing]
        try:
            write(ops, events(numbered))
            return numbered
        except WriteRefused as refused:
            if number_lost(refused, len(ops)):
                continue
            raise
    raise Unavailable("Invoice numbers are being taken too fast to number this one; retry.")


def invoice_facts(invoice: Invoice, audit: dict[str, Any], **more: Any) -> dict[str, Any]:
    """The data of an ``invoice.*`` event that changes an invoice (``InvoiceChanged``): who, the invoice, ``more``."""
    return {**audit, "invoice_id": invoice.id, "number": invoice.number, "subscription_id": invoice.subscription_id,
            "currency": invoice.currency, "total": invoice.total, "amount_due": invoice.amount_due, **more}


def issued_events(invoice: Invoice, audit: dict[str, Any]) -> list[EventEnvelope]:
    """``invoice.created`` and ``invoice.finalized`` for a numbered invoice, then ``invoice.paid`` if it is."""
    facts = invoice_facts(invoice, audit)
    events = [new_event(EventType.INVOICE_CREATED, invoice.tenant_id, {**facts, "status": "draft"}),
              new_event(EventType.INVOICE_FINALIZED, invoice.tenant_id, {**facts, "status": "open"})]
    if invoice.status == "paid":
        events.append(new_event(EventType.INVOICE_PAID, invoice.tenant_id, {
            **audit, "invoice_id": invoice.id, "number": invoice.number, "amount_paid": invoice.amount_paid,
            "currency": invoice.currency, "payment_id": invoice.payment_id}))
    return events


def paid(invoice: Invoice, payment_id: str | None) -> Invoice:
    """The invoice as paid in full by ``payment_id``."""
    return invoice.model_copy(update={"status": "paid", "amount_paid": invoice.amount_due, "payment_id": payment_id,
                                      "attempts": invoice.attempts + (1 if invoice.amount_due else 0)})
