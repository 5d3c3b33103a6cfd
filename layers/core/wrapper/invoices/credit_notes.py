"""Credit notes: what one credits on an invoice, and what it changes there. Pure: no storage, no money moved.

A credit note is issued by the operator against a finalized invoice (``open``, ``paid`` or
``uncollectible``), for an amount of the whole invoice or for amounts of named lines. Its amounts are
integers in minor units of the invoice's currency and **tax-inclusive**: what the customer is given back.

- **Tax share.** The tax inside a credited amount is prorated from what it credits, rounded once, half
  away from zero (``wrapper.money.amounts.to_minor``): for a line, ``amount x line tax / line gross``;
  for an amount of the whole invoice, ``amount x invoice tax / invoice total``, where the invoice tax is
  the sum of its lines' tax (inclusive rates included) and a line's gross is what the line came to:
  ``amount - discount + tax`` (``+ tax`` only for an exclusive rate: an inclusive one is already in the
  amount). A note by lines has the sum of its lines' shares.
- **Bounds.** Over all of an invoice's credit notes, the amount credited never exceeds its ``total``;
  the credits naming one line never exceed that line's gross. A line whose gross is not positive (a
  proration's credit) has nothing to credit.
- **Effect on the invoice.** ``amount_credited`` (and each named line's ``amount_credited``) grows by the
  note. A note with method ``none`` on an unpaid invoice (``open`` or ``uncollectible``) lowers its
  ``amount_due`` by the note's amount, never below zero; a ``refund`` adds to ``amount_refunded``; a
  ``wallet`` note leaves what is due as it is (its value goes to the wallet instead).

Example (USD, 20 % exclusive tax): a line of 1000 with 200 tax has a gross of 1200; crediting 600 of it
carries 600 x 200 / 1200 = 100 of tax; crediting 333 carries 55.5 → 56.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from wrapper.invoices.models import Invoice, InvoiceLine
from wrapper.kernel.errors import Conflict, InvalidInput
from wrapper.kernel.model import Model
from wrapper.money.amounts import minor_as_major, to_minor

CreditMethod = Literal["refund", "wallet", "none"]
CREDITABLE = ("open", "paid", "uncollectible")
UNPAID = ("open", "uncollectible")
NUMBER_PREFIX = "CN"
MAX_AMOUNT = 10**12


class CreditLineRequest(Model):
    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(min_length=1, max_length=100)
    amount: int = Field(ge=1, le=MAX_AMOUNT, description="Minor units, tax included")


class NewCreditNote(Model):
    model_config = ConfigDict(extra="forbid")

    amount: int | None = Field(default=None, ge=1, le=MAX_AMOUNT,
                               description="Credit this much of the whole invoice (minor units, tax included)")
    lines: list[CreditLineRequest] | None = Field(default=None, min_length=1, max_length=100,
                                                  description="Or credit these amounts of these lines")
    reason: str | None = Field(default=None, min_length=1, max_length=500)
    method: CreditMethod = Field(default="none", description="refund (a paid invoice's payment), wallet (the "
                                                             "tenant's credits) or none (just the document)")

    @model_validator(mode="after")
    def _one_way(self) -> NewCreditNote:
        if (self.amount is None) == (self.lines is None):
            raise ValueError("give either amount or lines")
        if self.lines is not None and len({line.line_id for line in self.lines}) != len(self.lines):
            raise ValueError("a line is named twice")
        return self


class CreditNoteLine(Model):
    line_id: str
    description: str
    amount: int = Field(description="Credited, minor units, tax included")
    tax_amount: int = Field(description="The tax inside amount")


class CreditNote(Model):
    model_config = ConfigDict(extra="forbid")

    id: str
    number: str = Field(description="CN-<year>-<n>: its own gapless series")
    tenant_id: str
    invoice_id: str
    invoice_number: str | None
    currency: str
    amount: int = Field(description="Credited, minor units, tax included")
    tax: int = Field(description="The tax inside amount")
    method: CreditMethod
    reason: str | None = None
    lines: list[CreditNoteLine] = Field(default_factory=list, description="The lines credited (empty: by amount)")
    refund_id: str | None = Field(default=None, description="The provider's refund (method refund), once made")
    grant_id: str | None = Field(default=None, description="The wallet grant (method wallet)")
    credits: Decimal | None = Field(default=None, description="Credits granted (method wallet)")
    created_at: datetime
    created_by: str | None = None


def line_gross(invoice: Invoice, line: InvoiceLine) -> int:
    """What a line came to: its amount after discount, plus its tax where the rate is exclusive."""
    inclusive = any(t.inclusive for t in invoice.taxes)
    return line.amount - line.discount + (0 if inclusive else line.tax_amount)


def _share(part: int, tax: int, whole: int, currency: str) -> int:
    return to_minor(minor_as_major(Fraction(part * tax, whole), currency), currency)


def credited_amounts(invoice: Invoice, request: NewCreditNote) -> tuple[int, int, list[CreditNoteLine]]:
    """The note's amount, its tax and its lines; a refusal when the invoice cannot be credited so."""
    if invoice.status not in CREDITABLE:
        raise Conflict(f"Only a finalized invoice (open, paid or uncollectible) can be credited; this one is "
                       f"{invoice.status}.")
    if request.lines is None:
        amount = request.amount or 0
        if invoice.total <= 0:
            raise Conflict("The invoice's total is not positive: there is nothing to credit.")
        _within(amount, invoice.total - invoice.amount_credited, "the invoice")
        tax = _share(amount, sum(line.tax_amount for line in invoice.lines), invoice.total, invoice.currency)
        return amount, tax, []
    by_id = {line.id: line for line in invoice.lines}
    credited: list[CreditNoteLine] = []
    for wanted in request.lines:
        line = by_id.get(wanted.line_id)
        if line is None:
            raise InvalidInput(f"The invoice has no line {wanted.line_id}.",
                               errors=[{"field": "lines", "message": f"unknown line {wanted.line_id}"}])
        gross = line_gross(invoice, line)
        if gross <= 0:
            raise Conflict(f"Line {line.id} came to {gross}: there is nothing to credit.")
        _within(wanted.amount, gross - line.amount_credited, f"line {line.id}")
        credited.append(CreditNoteLine(line_id=line.id, description=line.description, amount=wanted.amount,
                                       tax_amount=_share(wanted.amount, line.tax_amount, gross, invoice.currency)))
    amount = sum(line.amount for line in credited)
    _within(amount, invoice.total - invoice.amount_credited, "the invoice")
    return amount, sum(line.tax_amount for line in credited), credited


def _within(amount: int, left: int, what: str) -> None:
    if amount > left:
        raise Conflict(f"Only {max(left, 0)} of {what} is left to credit; {amount} asked.")


def credited_invoice(invoice: Invoice, note: CreditNote) -> Invoice:
    """The invoice once ``note`` is issued against it (one version later)."""
    by_line = {line.line_id: line.amount for line in note.lines}
    lines = [line.model_copy(update={"amount_credited": line.amount_credited + by_line[line.id]})
             if line.id in by_line else line for line in invoice.lines]
    update: dict[str, object] = {"lines": lines, "amount_credited": invoice.amount_credited + note.amount,
                                 "version": invoice.version + 1}
    if note.method == "none" and invoice.status in UNPAID:
        update["amount_due"] = max(0, invoice.amount_due - note.amount)
    if note.method == "refund":
        update["amount_refunded"] = invoice.amount_refunded + note.amount
    return invoice.model_copy(update=update)


def refundable(invoice: Invoice, amount: int) -> None:
    """A refund needs a paid invoice with its payment, and never gives back more than was paid."""
    if invoice.status != "paid" or not invoice.payment_id:
        raise Conflict(f"Only a paid invoice's payment can be refunded; this one is {invoice.status}"
                       f"{'' if invoice.payment_id else ' with no payment'}.")
    left = invoice.amount_paid - invoice.amount_refunded
    if amount > left:
        raise Conflict(f"Only {max(left, 0)} of the payment is left to refund; {amount} asked.")
