"""The credit note rules (``wrapper.invoices.credit_notes``), worked in minor units of USD.

The invoice: line 1 is a fee of 1000 with 200 of exclusive 20 % tax (it came to 1200), line 2 is usage of
1000 less a 500 discount with 100 tax (it came to 600), line 3 is a proration credit of -200 with -40 tax.
Subtotal 1800, discount 500, tax 260: total 1560.

- 600 of line 1 carries 600 x 200 / 1200 = 100 of tax; 333 of it carries 55.5, rounded once half away
  from zero: 56.
- 1000 of the whole invoice carries 1000 x 260 / 1560 = 166.67: 167.
- With an inclusive rate the tax is inside the amount: line 1 came to 1000 holding 200 of tax, and 600 of it
  carries 120.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from wrapper.invoices.credit_notes import (
    CreditNote,
    NewCreditNote,
    credited_amounts,
    credited_invoice,
    line_gross,
    refundable,
)
from wrapper.invoices.models import Invoice, InvoiceLine, TaxLine
from wrapper.kernel.errors import Conflict, InvalidInput

AT = datetime(2024, 2, 1, tzinfo=UTC)


def _invoice(*, status: str = "paid", inclusive: bool = False, **update: Any) -> Invoice:
    lines = [InvoiceLine(id="in_1-1", kind="subscription", description="Pro", quantity=Decimal(1), amount=1000,
                         tax_amount=200),
             InvoiceLine(id="in_1-2", kind="usage", description="Tokens", quantity=Decimal(3000), amount=1000,
                         discount=500, tax_amount=100),
             InvoiceLine(id="in_1-3", kind="proration", description="Unused", quantity=Decimal(1), amount=-200,
                         tax_amount=-40)]
    tax = 0 if inclusive else 260
    invoice = Invoice(id="in_1", number="INV-2024-000001", status=status, tenant_id="acme", currency="USD",
                      period_start=AT, period_end=AT, lines=lines, subtotal=1800, discount=500, tax=tax,
                      total=1300 + tax, amount_due=1300 + tax, amount_paid=1300 + tax if status == "paid" else 0,
                      payment_id="pi_1" if status == "paid" else None, created_at=AT,
                      taxes=[TaxLine(rate_id="tr_1", name="VAT", percentage=Decimal(20), inclusive=inclusive,
                                     taxable_amount=1300, amount=260)])
    return invoice.model_copy(update=update)


def _ask(**body: Any) -> NewCreditNote:
    return NewCreditNote.model_validate(body)


def _note(invoice: Invoice, body: NewCreditNote) -> CreditNote:
    amount, tax, lines = credited_amounts(invoice, body)
    return CreditNote(id="cn_1", number="CN-2024-000001", tenant_id="acme", invoice_id=invoice.id,
                      invoice_number=invoice.number, currency="USD", amount=amount, tax=tax, method=body.method,
                      lines=lines, created_at=AT)


def test_a_lines_tax_share_is_prorated_and_rounded_once_half_away_from_zero() -> None:
    invoice = _invoice()
    assert [line_gross(invoice, line) for line in invoice.lines] == [1200, 600, -240]
    assert credited_amounts(invoice, _ask(lines=[{"line_id": "in_1-1", "amount": 600}]))[:2] == (600, 100)
    assert credited_amounts(invoice, _ask(lines=[{"line_id": "in_1-1", "amount": 333}]))[:2] == (333, 56)
    amount, tax, lines = credited_amounts(invoice, _ask(lines=[{"line_id": "in_1-1", "amount": 1200},
                                                               {"line_id": "in_1-2", "amount": 360}]))
    assert (amount, tax, [(line.line_id, line.amount, line.tax_amount) for line in lines]) == (
        1560, 260, [("in_1-1", 1200, 200), ("in_1-2", 360, 60)])
    # Each line is within what it came to, but together they are more than the total (the proration's credit)
    with pytest.raises(Conflict, match="Only 1560 of the invoice"):
        credited_amounts(invoice, _ask(lines=[{"line_id": "in_1-1", "amount": 1200},
                                              {"line_id": "in_1-2", "amount": 600}]))


def test_an_amount_of_the_whole_invoice_carries_the_invoices_share_of_tax() -> None:
    assert credited_amounts(_invoice(), _ask(amount=1000)) == (1000, 167, [])
    assert credited_amounts(_invoice(), _ask(amount=1560)) == (1560, 260, [])


def test_an_inclusive_rate_is_already_in_the_lines_amount() -> None:
    invoice = _invoice(inclusive=True)
    assert line_gross(invoice, invoice.lines[0]) == 1000
    assert credited_amounts(invoice, _ask(lines=[{"line_id": "in_1-1", "amount": 600}]))[:2] == (600, 120)
    with pytest.raises(Conflict, match="Only 1000 of line in_1-1"):
        credited_amounts(invoice, _ask(lines=[{"line_id": "in_1-1", "amount": 1001}]))


def test_all_notes_never_credit_more_than_the_total_nor_a_line_more_than_it_came_to() -> None:
    invoice = _invoice()
    with pytest.raises(Conflict, match="Only 1560 of the invoice"):
        credited_amounts(invoice, _ask(amount=1561))
    with pytest.raises(Conflict, match="Only 1200 of line in_1-1"):
        credited_amounts(invoice, _ask(lines=[{"line_id": "in_1-1", "amount": 1201}]))
    # After a note of 1200 on line 1, 0 is left of it and 360 of the invoice
    once = credited_invoice(invoice, _note(invoice, _ask(lines=[{"line_id": "in_1-1", "amount": 1200}])))
    assert (once.amount_credited, once.lines[0].amount_credited, once.version) == (1200, 1200, 2)
    with pytest.raises(Conflict, match="Only 0 of line in_1-1"):
        credited_amounts(once, _ask(lines=[{"line_id": "in_1-1", "amount": 1}]))
    with pytest.raises(Conflict, match="Only 360 of the invoice"):
        credited_amounts(once, _ask(amount=361))
    assert credited_amounts(once, _ask(amount=360))[0] == 360
    # A proration's credit came to less than nothing; an unknown line is bad input
    with pytest.raises(Conflict, match="nothing to credit"):
        credited_amounts(invoice, _ask(lines=[{"line_id": "in_1-3", "amount": 1}]))
    with pytest.raises(InvalidInput):
        credited_amounts(invoice, _ask(lines=[{"line_id": "in_9-9", "amount": 1}]))


@pytest.mark.parametrize("status", ["draft", "void"])
def test_only_a_finalized_invoice_is_credited(status: str) -> None:
    with pytest.raises(Conflict, match=status):
        credited_amounts(_invoice(status=status), _ask(amount=1))


def test_a_note_without_money_lowers_what_an_unpaid_invoice_owes_never_below_zero() -> None:
    invoice = _invoice(status="open")
    lowered = credited_invoice(invoice, _note(invoice, _ask(amount=1000, method="none")))
    assert (lowered.amount_due, lowered.amount_credited) == (560, 1000)
    assert credited_invoice(lowered, _note(lowered, _ask(amount=560))).amount_due == 0
    # A wallet note leaves what is due (the value goes to the wallet); a paid invoice owes nothing more
    assert credited_invoice(invoice, _note(invoice, _ask(amount=1000, method="wallet"))).amount_due == 1560
    paid = _invoice()
    refunded = credited_invoice(paid, _note(paid, _ask(amount=1000, method="refund")))
    assert (refunded.amount_due, refunded.amount_refunded, refunded.amount_paid) == (1560, 1000, 1560)


def test_a_refund_needs_a_paid_invoice_and_never_exceeds_what_was_paid() -> None:
    refundable(_invoice(), 1560)
    with pytest.raises(Conflict, match="open"):
        refundable(_invoice(status="open"), 1)
    with pytest.raises(Conflict, match="Only 560 of the payment"):
        refundable(_invoice(amount_refunded=1000), 561)


@pytest.mark.parametrize("body", [
    {}, {"amount": 1, "lines": [{"line_id": "a", "amount": 1}]}, {"amount": 0}, {"amount": -5},
    {"lines": []}, {"lines": [{"line_id": "a", "amount": 1}, {"line_id": "a", "amount": 2}]},
    {"amount": 1, "method": "cash"}, {"amount": 1, "reason": ""}, {"amount": 1, "extra": True},
])
def test_a_request_names_an_amount_or_lines_and_a_known_method(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NewCreditNote.model_validate(body)
