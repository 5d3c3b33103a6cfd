"""Where invoice PDFs are kept: a private S3 bucket (``InvoicePdfBucket`` in template.yaml: encrypted at rest,
public access blocked, TLS only).

One object per issued invoice, keyed by its tenant and its id: ``tenants/<tenant id>/invoices/<invoice id>.pdf``.
The tenant part comes from the tenant context, never from a request, and the functions' roles are granted
``tenants/*`` only. A render always writes the same key, so rendering twice (a retried run, two requests at
once) leaves one object. S3's modeled ``NoSuchKey`` is caught on the client (``client.exceptions``), so
botocore's ``ClientError`` stays in the store package.
"""

from __future__ import annotations

from typing import Any, Protocol

from wrapper.invoices.pdf import CONTENT_TYPE
from wrapper.kernel.tenant import TenantContext


class PdfFiles(Protocol):
    def get(self, tenant: TenantContext, invoice_id: str) -> bytes | None: ...

    def put(self, tenant: TenantContext, invoice_id: str, pdf: bytes) -> None: ...


def pdf_key(tenant: TenantContext, invoice_id: str) -> str:
    return f"tenants/{tenant.tenant_id}/invoices/{invoice_id}.pdf"


class S3PdfFiles:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def get(self, tenant: TenantContext, invoice_id: str) -> bytes | None:
        """The stored PDF, or None if none is stored yet. (The role may list the bucket: without
        ``s3:ListBucket`` S3 answers a missing key with AccessDenied, not NoSuchKey.)"""
        try:
            found = self.s3.get_object(Bucket=self.bucket, Key=pdf_key(tenant, invoice_id))
        except self.s3.exceptions.NoSuchKey:
            return None
        return bytes(found["Body"].read())

    def put(self, tenant: TenantContext, invoice_id: str, pdf: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=pdf_key(tenant, invoice_id), Body=pdf, ContentType=CONTENT_TYPE,
                           ServerSideEncryption="AES256")
