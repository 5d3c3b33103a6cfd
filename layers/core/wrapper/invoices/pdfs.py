"""Invoice PDFs: rendered once an invoice is issued, and answered to the tenant on request.

- After the billing run issues an invoice, :meth:`InvoicePdfs.store_issued` renders and stores it. It never
  raises: the invoice is issued and charged whether or not its PDF could be rendered, and a failure is
  logged; the PDF is then rendered on the first request for it.
- :meth:`InvoicePdfs.for_tenant` (``billing:read``) answers the stored PDF, or renders and stores it first.
  Only an issued invoice (one with a number) of the caller's own tenant has one; a draft, an unknown id or
  another tenant's id are all "no such invoice".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from wrapper.invoices.models import Invoice
from wrapper.invoices.pdf import Issuer, render_pdf
from wrapper.invoices.pdf_files import PdfFiles
from wrapper.invoices.store import InvoiceStore
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import NotFound
from wrapper.kernel.permissions import Permission
from wrapper.kernel.tenant import TenantContext

logger = logging.getLogger(__name__)

Render = Callable[[Invoice, Issuer], bytes]


@dataclass(frozen=True)
class InvoicePdf:
    number: str
    content: bytes

    @property
    def filename(self) -> str:
        return f"{self.number}.pdf"


class InvoicePdfs:
    def __init__(self, invoices: InvoiceStore, files: PdfFiles, issuer: Issuer, *, render: Render = render_pdf) -> None:
        self.invoices = invoices
        self.files = files
        self.issuer = issuer
        self.render = render

    def for_tenant(self, actor: Actor, invoice_id: str) -> InvoicePdf:
        actor.require(Permission.BILLING_READ)
        invoice = self.invoices.get(actor.tenant, invoice_id)
        if invoice is None or invoice.number is None:
            raise NotFound("No such invoice.")
        stored = self.files.get(actor.tenant, invoice.id)
        if stored is None:
            stored = self.render(invoice, self.issuer)
            self.files.put(actor.tenant, invoice.id, stored)
        return InvoicePdf(invoice.number, stored)

    def store_issued(self, tenant: TenantContext, invoice_id: str) -> bool:
        """Render and store an invoice the run just issued; False (and a log line) if that failed."""
        try:
            invoice = self.invoices.get(tenant, invoice_id)
            if invoice is None or invoice.number is None:
                logger.warning("no issued invoice %s/%s to render", tenant.tenant_id, invoice_id)
                return False
            self.files.put(tenant, invoice.id, self.render(invoice, self.issuer))
        except Exception:  # any failure: the invoice stands, its PDF is rendered on the first request instead
            logger.exception("rendering the PDF of invoice %s/%s failed", tenant.tenant_id, invoice_id)
            return False
        return True
