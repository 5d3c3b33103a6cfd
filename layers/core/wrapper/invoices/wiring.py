"""Invoice PDFs as every function builds them, in one place: the invoices' store, the bucket, the issuer."""

from __future__ import annotations

from wrapper import aws
from wrapper.invoices.pdf import Issuer
from wrapper.invoices.pdf_files import S3PdfFiles
from wrapper.invoices.pdfs import InvoicePdfs
from wrapper.invoices.store import InvoiceStore
from wrapper.settings import Settings
from wrapper.store.table import Table


def invoice_pdfs_for(settings: Settings, table: Table) -> InvoicePdfs:
    pdfs = settings.invoice_pdfs
    issuer = Issuer(name=pdfs.issuer_name, address=pdfs.issuer_address_lines, tax_id=pdfs.issuer_tax_id or None)
    return InvoicePdfs(InvoiceStore(table, number_prefix=settings.invoice_number_prefix),
                       S3PdfFiles(aws.client_for(settings, "s3"), pdfs.bucket), issuer)
