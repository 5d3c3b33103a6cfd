"""Where invoices are kept, and how they are numbered.

An invoice is one item under its tenant (``INVOICE#<id>``) holding its JSON document. Its id is chosen
by what it bills, never at random: a renewal's is made from the subscription and the period it closes
(:func:`renewal_invoice_id`), so a billing run that runs again, or retries after a crash, finds the
invoice it made instead of making a second one. Ids begin with the issue day, so a tenant's invoices
list newest first by key.

The operator reads invoices across tenants, and names one by its id alone: every invoice is also on GSI1
in one platform partition, sorted by its id (``wrapper.store.schema.INVOICES_INDEX_PK``), so the list
of all invoices pages newest first by issue day and an id finds its tenant with one exact Query.

Numbers: the platform is the issuer, and its numbers run without gaps in one series per prefix and
year (``INV-2026-000001``; credit notes have their own, ``CN-2026-000001``). The series' counter item
is updated in the same transaction that writes the finalized invoice, on the condition that it still
holds the value read: a number is used exactly when its invoice is written, two finalizations racing
for one number cannot both win (the loser reads the counter again), and a void invoice keeps its number.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from wrapper.invoices.models import Invoice, InvoiceStatus
from wrapper.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import (
    COUNTER_SK,
    INVOICE_PREFIX,
    INVOICES_INDEX_PK,
    invoice_series_pk,
    invoice_sk,
    tenant_pk,
)
from wrapper.store.table import Item, Table, put_op, update_op

DEFAULT_NUMBER_PREFIX = "INV"
INDEX = "GSI1"


def renewal_invoice_id(tenant_id: str, subscription_id: str, period_start: datetime, issued_on: datetime) -> str:
    """The one id of the invoice that closes ``period_start``'s period of a tenant's subscription. The id is
    also the charge's idempotency key, which the provider scopes to the platform's whole account: the
    tenant is in it so that no two tenants' invoices can ever share one."""
    digest = hashlib.sha256(f"renewal|{tenant_id}|{subscription_id}|{period_start.isoformat()}".encode()).hexdigest()
    return f"in_{issued_on:%Y%m%d}_{digest[:16]}"


class InvoiceStore:
    def __init__(self, table: Table, *, number_prefix: str = DEFAULT_NUMBER_PREFIX) -> None:
        self.table = table
        self.number_prefix = number_prefix

    def get(self, tenant: TenantContext, invoice_id: str) -> Invoice | None:
        item = self.table.get(tenant.pk, invoice_sk(invoice_id))
        return Invoice.model_validate_json(str(item["doc"])) if item else None

    def page(self, tenant: TenantContext, *, limit: int | None, cursor: str | None,
             status: InvoiceStatus | None = None, issued_from: date | None = None,
             issued_to: date | None = None) -> Page[Invoice]:
        # Ids begin with the issue day (in_<yyyymmdd>_...), so a range of days is a range of keys.
        low = invoice_sk(f"in_{issued_from:%Y%m%d}") if issued_from else INVOICE_PREFIX
        high = invoice_sk(f"in_{issued_to:%Y%m%d}~") if issued_to else f"{INVOICE_PREFIX}~"
        items, last = self.table.query(tenant.pk, sk_between=(low, high), limit=clamp_limit(limit),
                                       start_key=decode_cursor(cursor, partition_key=tenant.pk), forward=False,
                                       filter_equals={"status": status} if status else None)
        return Page[Invoice](items=[Invoice.model_validate_json(str(i["doc"])) for i in items],
                             next_cursor=encode_cursor(last))

    def save_op(self, invoice: Invoice, *, expected_version: int | None) -> dict[str, Any]:
        """Write ``invoice``: a new one only if its id is free, a changed one only over the version read."""
        item: Item = {"PK": tenant_pk(invoice.tenant_id), "SK": invoice_sk(invoice.id), "record_type": "invoice",
                      "doc": invoice.model_dump_json(), "status": invoice.status, "version": invoice.version,
                      "invoice_id": invoice.id, "number": invoice.number, "tenant_id": invoice.tenant_id,
                      "GSI1PK": INVOICES_INDEX_PK, "GSI1SK": invoice_sk(invoice.id)}
        item = {k: v for k, v in item.items() if v is not None}
        if expected_version is None:
            return put_op(item, condition="attribute_not_exists(PK)")
        return put_op(item, condition="#v = :v", names={"#v": "version"}, values={":v": expected_version})

    def find(self, invoice_id: str) -> Invoice | None:
        """Any tenant's invoice by its id alone (the operator's reads and corrections): the index names its
        tenant, and the invoice is then read from its tenant's partition, consistently."""
        found, _ = self.table.query(INVOICES_INDEX_PK, index=INDEX, limit=1,
                                    sk_between=(invoice_sk(invoice_id), invoice_sk(invoice_id)))
        if not found or not found[0].get("tenant_id"):
            return None
        return self.get(TenantContext(str(found[0]["tenant_id"])), invoice_id)

    def platform_page(self, *, limit: int | None, cursor: str | None,
                      status: InvoiceStatus | None = None) -> Page[Invoice]:
        """Every tenant's invoices, newest first by issue day (the index is eventually consistent: an invoice
        issued a moment ago may be missing for that moment)."""
        items, last = self.table.query(INVOICES_INDEX_PK, index=INDEX, limit=clamp_limit(limit), forward=False,
                                       start_key=decode_cursor(cursor, partition_key=INVOICES_INDEX_PK,
                                                               attribute=f"{INDEX}PK"),
                                       filter_equals={"status": status} if status else None)
        return Page[Invoice](items=[Invoice.model_validate_json(str(i["doc"])) for i in items],
                             next_cursor=encode_cursor(last))

    def next_number(self, at: datetime, *, prefix: str | None = None) -> tuple[str, dict[str, Any]]:
        """The next number of ``at``'s series, and the counter update that takes it (in the invoice's write).
        ``prefix`` names another series (credit notes' ``CN``); the invoices' prefix by default."""
        return next_in_series(self.table, f"{prefix or self.number_prefix}-{at.year}")


def next_in_series(table: Table, series: str) -> tuple[str, dict[str, Any]]:
    """The next number of ``series`` (``INV-2026-000001``), and the conditional counter update that takes it,
    to be written in the same transaction as the numbered document."""
    found = table.get(invoice_series_pk(series), COUNTER_SK)
    last = int(found["last"]) if found else 0
    condition = "#last = :last" if found else "attribute_not_exists(PK)"
    values: dict[str, Any] = {":next": last + 1}
    if found:
        values[":last"] = last
    take = update_op(invoice_series_pk(series), COUNTER_SK, update="SET #last = :next, record_type = :t",
                     condition=condition, names={"#last": "last"}, values={**values, ":t": "invoice_series"})
    return f"{series}-{last + 1:06d}", take
