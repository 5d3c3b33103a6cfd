"""Where credit notes are kept: one item each under its tenant (``CREDITNOTE#<id>``), holding its JSON
document, and on GSI1 in the tenant's own credit-note partition sorted by creation time, so a tenant's
notes page newest first (the index is eventually consistent: a note issued a moment ago may be missing
for that moment). A note is written only if its id is free: its id comes from the Idempotency-Key, so a
retry finds the first note instead of issuing a second."""

from __future__ import annotations

from typing import Any

from wrapper.invoices.credit_notes import CreditNote
from wrapper.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import (
    CREDIT_NOTE_PREFIX,
    credit_note_index_sk,
    credit_note_sk,
    credit_notes_index_pk,
    tenant_pk,
)
from wrapper.store.table import Item, Table, put_op, update_op

INDEX = "GSI1"


class CreditNoteStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def item(self, tenant: TenantContext, credit_note_id: str) -> Item | None:
        return self.table.get(tenant.pk, credit_note_sk(credit_note_id))

    def get(self, tenant: TenantContext, credit_note_id: str) -> CreditNote | None:
        item = self.item(tenant, credit_note_id)
        return CreditNote.model_validate_json(str(item["doc"])) if item else None

    def save_op(self, note: CreditNote, *, fingerprint: str | None) -> dict[str, Any]:
        """Write a new ``note``, only if its id is free."""
        tenant = TenantContext(note.tenant_id)
        item: Item = {"PK": tenant_pk(note.tenant_id), "SK": credit_note_sk(note.id), "record_type": "credit_note",
                      "doc": note.model_dump_json(), "invoice_id": note.invoice_id, "number": note.number,
                      "tenant_id": note.tenant_id, "fingerprint": fingerprint,
                      "GSI1PK": credit_notes_index_pk(tenant), "GSI1SK": credit_note_index_sk(note.created_at, note.id)}
        item = {k: v for k, v in item.items() if v is not None}
        return put_op(item, condition="attribute_not_exists(PK)")

    def completed_op(self, note: CreditNote) -> dict[str, Any]:
        """The stored ``note``'s document replaced by ``note`` (its refund recorded)."""
        return update_op(tenant_pk(note.tenant_id), credit_note_sk(note.id), update="SET doc = :doc",
                         condition="attribute_exists(PK)", values={":doc": note.model_dump_json()})

    def page(self, tenant: TenantContext, *, limit: int | None, cursor: str | None,
             invoice_id: str | None = None) -> Page[CreditNote]:
        """The tenant's credit notes, newest first; ``invoice_id`` keeps one invoice's (a filtered page may
        hold fewer than ``limit``)."""
        partition = credit_notes_index_pk(tenant)
        items, last = self.table.query(partition, index=INDEX, sk_prefix=CREDIT_NOTE_PREFIX, limit=clamp_limit(limit),
                                       forward=False,
                                       start_key=decode_cursor(cursor, partition_key=partition, attribute=f"{INDEX}PK"),
                                       filter_equals={"invoice_id": invoice_id} if invoice_id else None)
        return Page[CreditNote](items=[CreditNote.model_validate_json(str(i["doc"])) for i in items],
                                next_cursor=encode_cursor(last))
