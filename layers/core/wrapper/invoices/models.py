"""An invoice as clients read it (``GET /v1/invoices``...), and as it is stored (its JSON document).

Amounts are integers in minor units of ``currency``. ``number`` is null while a draft and is given at
finalization (see ``wrapper.invoices.store``). The totals follow ``wrapper.money.invoicing``'s order:
``subtotal`` (the lines) - ``discount`` + ``tax`` (exclusive rates only) = ``total``; ``credits_applied``
pays part of it; ``amount_due`` is what is left to pay, ``amount_paid`` what was paid.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field

from wrapper.kernel.model import Model
from wrapper.money.invoicing import LineKind, Totals
from wrapper.tenancy.profile import BillingDetails

InvoiceStatus = Literal["draft", "open", "paid", "void", "uncollectible"]


class InvoiceLine(Model):
    model_config = ConfigDict(extra="forbid")

    id: str
    kind: LineKind
    description: str
    meter: str | None = None
    quantity: Decimal = Field(description="Units (a decimal string where a meter's value has decimals)")
    amount: int = Field(description="The line's price for its quantity, before discount and tax")
    discount: int = Field(default=0, description="The line's share of the invoice's discount")
    tax_amount: int = 0
    period_start: datetime | None = None
    period_end: datetime | None = None
    price_id: str | None = Field(default=None, description="The catalog price the line was priced by")
    amount_credited: int = Field(default=0, description="Credited by credit notes naming this line (tax included)")


class TaxLine(Model):
    model_config = ConfigDict(extra="forbid")

    rate_id: str
    name: str
    percentage: Decimal
    inclusive: bool
    taxable_amount: int
    amount: int


class Invoice(Model):
    model_config = ConfigDict(extra="forbid")

    id: str
    number: str | None = None
    status: InvoiceStatus
    tenant_id: str
    subscription_id: str | None = None
    currency: str
    period_start: datetime = Field(description="The billing period the invoice closes (its usage's period)")
    period_end: datetime
    issued_at: datetime | None = None
    customer: BillingDetails | None = Field(default=None, description="The tenant's billing details when issued")
    coupon: str | None = None
    lines: list[InvoiceLine]
    taxes: list[TaxLine] = Field(default_factory=list)
    subtotal: int
    discount: int
    tax: int
    total: int
    credits_applied: int = 0
    amount_due: int
    amount_paid: int = 0
    amount_credited: int = Field(default=0, description="Credited by credit notes, tax included: never over total")
    amount_refunded: int = Field(default=0, description="Refunded by credit notes (method refund)")
    payment_id: str | None = None
    payment_error: str | None = None
    attempts: int = 0
    created_at: datetime
    voided_at: datetime | None = None
    version: int = 1


def invoice_of(invoice_id: str, totals: Totals, *, tenant_id: str, subscription_id: str | None,
               period: tuple[datetime, datetime], at: datetime, customer: BillingDetails | None,
               coupon: str | None) -> Invoice:
    """A draft from computed totals: its lines numbered in order (``<invoice id>-<n>``)."""
    lines = [InvoiceLine(id=f"{invoice_id}-{n}", kind=rated.line.kind, description=rated.line.description,
                         meter=rated.line.meter, quantity=Decimal(rated.line.quantity),
                         amount=rated.line.amount, discount=rated.discount, tax_amount=rated.tax,
                         period_start=_at(rated.line.period_start), period_end=_at(rated.line.period_end),
                         price_id=rated.line.price_id)
             for n, rated in enumerate(totals.lines, start=1)]
    taxes = [TaxLine(rate_id=t.rate_id, name=t.name, percentage=t.percentage, inclusive=t.inclusive,
                     taxable_amount=t.taxable_amount, amount=t.amount) for t in totals.taxes]
    return Invoice(id=invoice_id, status="draft", tenant_id=tenant_id, subscription_id=subscription_id,
                   currency=totals.currency, period_start=period[0], period_end=period[1], customer=customer,
                   coupon=coupon, lines=lines, taxes=taxes, subtotal=totals.subtotal, discount=totals.discount,
                   tax=totals.tax, total=totals.total, credits_applied=totals.credits_applied,
                   amount_due=totals.amount_due, created_at=at)


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
