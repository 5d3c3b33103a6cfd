"""An issued invoice as a PDF, laid out by Typst from the template beside this module (``invoice.typ``).

The invoice reaches Typst as data, never as markup: :func:`invoice_data` turns it into a JSON document of
ready-to-print strings, passed to the compile as ``sys.inputs.invoice``, which the template reads with
``json(...)``. A tenant's legal name or address is a string in that document and is set as text, so
whatever it holds (``#``, ``*``, ``$``, brackets) is printed as typed, never evaluated.

What is printed: the issuer (the platform), the customer's billing details as the invoice was issued with
them, the number, the issue date, the period it closes, every line (description, the period it covers,
quantity, amount, tax), then the totals in the order they were computed (subtotal, discount, tax, total,
credits applied, amount due) and the tax by rate. Amounts are in the invoice's currency with its number
of decimals (ISO 4217: USD 2, JPY 0, KWD 3). Payment status is not printed: the PDF is the invoice as
issued, so a stored copy never goes stale when the invoice is paid later.

Only Typst's embedded fonts are used (Libertinus Serif), never the machine's: a PDF renders the same on
Lambda (which has none) as anywhere else, and the compile is stamped with the issue time, so rendering
the same invoice twice gives the same bytes. Scripts those fonts lack (CJK) print as missing glyphs.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from wrapper.invoices.models import Invoice
from wrapper.kernel.model import Model
from wrapper.money.amounts import exponent
from wrapper.tenancy.profile import Address

TEMPLATE = Path(__file__).with_name("invoice.typ")
CONTENT_TYPE = "application/pdf"


class Issuer(Model):
    """Who issues every invoice: the platform (settings ``INVOICE_ISSUER_*``)."""

    model_config = ConfigDict(frozen=True)

    name: str
    address: tuple[str, ...] = ()
    tax_id: str | None = None


def money(amount: int, currency: str) -> str:
    """Minor units as the currency's major unit, grouped by thousands: ``USD 1,234.56``, ``JPY 1,235``,
    ``KWD 1.235``, ``USD -5.00``."""
    places = exponent(currency)
    major = Decimal(amount).scaleb(-places)
    return f"{currency.upper()} {major:,.{places}f}"


def quantity(value: Decimal) -> str:
    """A line's units, grouped by thousands, with only the decimals it has: ``3,001``, ``12.5``."""
    return format(value.normalize(), ",f")


def day(at: datetime) -> str:
    return at.date().isoformat()


def span(start: datetime | None, end: datetime | None) -> str | None:
    """A period as its first and last dates; the end is the next period's start, as the invoice's data says."""
    return f"{day(start)} to {day(end)}" if start and end else None


def address_lines(address: Address | None) -> list[str]:
    if address is None:
        return []
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    return [line for line in (address.line1, address.line2, city, address.region, address.country) if line]


def invoice_data(invoice: Invoice, issuer: Issuer) -> dict[str, Any]:
    """The document the template prints: every value a string, formatted here once."""
    if invoice.number is None or invoice.issued_at is None:
        raise ValueError(f"invoice {invoice.id} is a draft: only an issued invoice has a PDF")
    currency = invoice.currency

    def amount(value: int) -> str:
        return money(value, currency)

    customer = invoice.customer
    totals = [("Subtotal", invoice.subtotal, False)]
    if invoice.discount:
        totals.append((f"Discount ({invoice.coupon})" if invoice.coupon else "Discount", -invoice.discount, False))
    totals += [("Tax", invoice.tax, False), ("Total", invoice.total, True)]
    if invoice.credits_applied:
        totals.append(("Credits applied", -invoice.credits_applied, False))
    totals.append(("Amount due", invoice.amount_due, True))
    return {
        "title": f"Invoice {invoice.number}",
        "number": invoice.number,
        "issued_on": day(invoice.issued_at),
        "period": span(invoice.period_start, invoice.period_end),
        "currency": currency,
        "issuer": {"name": issuer.name, "address": list(issuer.address), "tax_id": issuer.tax_id or None},
        "customer": None if customer is None else {
            "legal_name": customer.legal_name or "", "address": address_lines(customer.address),
            "tax_id": customer.tax_id},
        "lines": [{"description": line.description, "period": span(line.period_start, line.period_end),
                   "quantity": quantity(line.quantity), "amount": amount(line.amount),
                   "tax": amount(line.tax_amount)} for line in invoice.lines],
        "totals": [{"label": label, "amount": amount(value), "strong": strong} for label, value, strong in totals],
        "taxes": [{"name": tax.name, "percentage": f"{tax.percentage.normalize():f}%",
                   "taxable": amount(tax.taxable_amount), "amount": amount(tax.amount),
                   "kind": "included in prices" if tax.inclusive else "added to prices"} for tax in invoice.taxes],
    }


def render_pdf(invoice: Invoice, issuer: Issuer) -> bytes:
    """The invoice's PDF. Typst is imported here, not at module import: only a request for a PDF pays for
    loading it (tens of megabytes), never a function's cold start."""
    import typst

    data = json.dumps(invoice_data(invoice, issuer), ensure_ascii=False)
    assert invoice.issued_at is not None  # invoice_data refused drafts
    pdf = typst.compile(str(TEMPLATE), root=str(TEMPLATE.parent), ignore_system_fonts=True,
                        sys_inputs={"invoice": data}, timestamp=invoice.issued_at.replace(microsecond=0))
    return bytes(pdf)
