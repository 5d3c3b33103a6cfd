"""Credit notes as the operator issues them (``POST /v1/admin/invoices/{id}/credit-notes``) and tenants read
them (``GET /v1/credit-notes``). The rules (tax share, bounds, effect on the invoice) are
``wrapper.invoices.credit_notes``'s; this is the order of writes and of money moved.

- **Once.** The note's id is made from the invoice and the ``Idempotency-Key`` (without a key, a new id each
  time): the same key answers the first note (another body with it is a 422). The note, the invoice's
  new amounts (on the condition that the invoice is still the version read) and the note's number (the
  ``CN-<year>`` series' counter, gapless like the invoices') are written in one transaction with
  ``credit_note.created``; a retry that finds the note writes nothing again.
- **Money after the document.** The refund or the wallet grant follows the write, and a retry with the same
  key finishes it: the refund's idempotency key is the note's id (the provider answers a repeated refund
  with the first), and the grant's reference is ``credit_note:<id>`` (granted once). A note whose refund
  has not gone through yet shows ``refund_id`` null.
- **Wallet.** ``amount ÷ CREDIT_UNIT_AMOUNT`` credits (what one credit costs when bought), kept to the
  wallet's six decimals; only for an invoice in the credits' currency (``CREDIT_CURRENCY``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ulid import ULID

from wrapper.credits.logic import credits
from wrapper.credits.service import Credits, grant_id_for
from wrapper.events.catalog import EventType
from wrapper.events.envelope import audit_fields, new_event
from wrapper.events.outbox import write_with_outbox
from wrapper.invoices.credit_note_store import CreditNoteStore
from wrapper.invoices.credit_notes import (
    NUMBER_PREFIX,
    CreditNote,
    NewCreditNote,
    credited_amounts,
    credited_invoice,
    refundable,
)
from wrapper.invoices.issuing import number_lost
from wrapper.invoices.models import Invoice
from wrapper.invoices.store import InvoiceStore
from wrapper.kernel.actor import Actor
from wrapper.kernel.clock import Clock, now
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound, Unavailable
from wrapper.kernel.pagination import Page
from wrapper.kernel.permissions import Permission
from wrapper.kernel.request_meta import RequestMeta
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.idempotency import check_key
from wrapper.payments.port import PaymentError, PaymentProviderUnavailable, Payments
from wrapper.store.schema import digest
from wrapper.store.table import WriteRefused

ATTEMPTS = 20  # each loses only to another write of the invoice, or to another note taking the number


def credit_note_id(invoice_id: str, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return f"cn_{ULID()}".lower()
    return "cn_" + digest(f"credit_note|{invoice_id}|{idempotency_key}")[:26]


class CreditNotes:
    def __init__(self, invoices: InvoiceStore, notes: CreditNoteStore, *, payments: Callable[[], Payments],
                 wallet: Credits, unit_amount: int, credit_currency: str, outbox_ttl_days: int,
                 clock: Clock = now) -> None:
        self.invoices = invoices
        self.notes = notes
        self.payments = payments
        self.wallet = wallet
        self.unit_amount = unit_amount
        self.credit_currency = credit_currency.upper()
        self.outbox_ttl_days = outbox_ttl_days
        self.clock = clock

    # -- reads -----------------------------------------------------------------------------------------------
    def page(self, actor: Actor, *, limit: int | None, cursor: str | None) -> Page[CreditNote]:
        """The tenant's own credit notes, newest first (``billing:read``)."""
        actor.require(Permission.BILLING_READ)
        return self.notes.page(actor.tenant, limit=limit, cursor=cursor)

    def of_invoice(self, invoice_id: str, *, limit: int | None, cursor: str | None) -> Page[CreditNote]:
        """The operator's view: one invoice's credit notes, newest first."""
        invoice = self._invoice(invoice_id)
        return self.notes.page(TenantContext(invoice.tenant_id), limit=limit, cursor=cursor, invoice_id=invoice.id)

    # -- the operator's issue ------------------------------------------------------------------------------------
    def issue(self, invoice_id: str, body: NewCreditNote, *, by: str, idempotency_key: str | None,
              request_meta: RequestMeta) -> CreditNote:
        if idempotency_key is not None:
            check_key(idempotency_key)
        elif body.method in ("refund", "wallet"):
            # Money moves: a retry after a timeout must find the first note, not issue a second refund.
            raise InvalidInput("A credit note that refunds or credits the wallet needs an Idempotency-Key header.",
                               errors=[{"field": "Idempotency-Key", "message": "required for refund and wallet"}])
        invoice = self._invoice(invoice_id)
        tenant = TenantContext(invoice.tenant_id)
        note_id = credit_note_id(invoice.id, idempotency_key)
        fingerprint = body.model_dump_json()
        for attempt in range(ATTEMPTS):
            found = self.notes.item(tenant, note_id)
            if found is not None:
                if found.get("fingerprint") not in (None, fingerprint):
                    raise InvalidInput("This Idempotency-Key was used for a different request.",
                                       errors=[{"field": "Idempotency-Key", "message": "reused with another body"}])
                return self._settle(CreditNote.model_validate_json(str(found["doc"])))
            if attempt:
                invoice = self._invoice(invoice_id)
            note = self._draft(invoice, body, note_id, by=by)
            number, take = self.invoices.next_number(note.created_at, prefix=NUMBER_PREFIX)
            note = note.model_copy(update={"number": number})
            changed = credited_invoice(invoice, note)
            operations = [self.notes.save_op(note, fingerprint=fingerprint),
                          self.invoices.save_op(changed, expected_version=invoice.version), take]
            event = new_event(EventType.CREDIT_NOTE_CREATED, tenant.tenant_id, {
                **audit_fields(by, note.id, request_meta), "credit_note_id": note.id, "number": note.number,
                "invoice_id": invoice.id, "invoice_number": invoice.number, "currency": note.currency,
                "amount": note.amount, "tax": note.tax, "method": note.method, "reason": note.reason,
                "amount_credited": changed.amount_credited, "amount_due": changed.amount_due})
            try:
                write_with_outbox(self.invoices.table, operations, [event], ttl_days=self.outbox_ttl_days)
            except WriteRefused as refused:
                # The same note landed (a racing retry), the invoice changed, or another note took the number.
                if refused.failed_at(0) or refused.failed_at(1) or number_lost(refused, len(operations)):
                    continue
                raise
            return self._settle(note)
        raise Unavailable("The invoice is changing too fast to credit; retry with the same Idempotency-Key.")

    def _draft(self, invoice: Invoice, body: NewCreditNote, note_id: str, *, by: str) -> CreditNote:
        amount, tax, lines = credited_amounts(invoice, body)
        granted: Decimal | None = None
        if body.method == "refund":
            refundable(invoice, amount)
        if body.method == "wallet":
            if invoice.currency.upper() != self.credit_currency:
                raise Conflict(f"Credits are bought in {self.credit_currency}; this invoice is in {invoice.currency}: "
                               "credit it another way.")
            granted = credits(Decimal(amount) / self.unit_amount)
            if granted <= 0:
                raise Conflict(f"{amount} is less than the wallet's smallest amount of credits.")
        return CreditNote(id=note_id, number="", tenant_id=invoice.tenant_id, invoice_id=invoice.id,
                          invoice_number=invoice.number, currency=invoice.currency, amount=amount, tax=tax,
                          method=body.method, reason=body.reason, lines=lines, credits=granted,
                          grant_id=grant_id_for(_reference(note_id)) if body.method == "wallet" else None,
                          created_at=self.clock(), created_by=by)

    def _settle(self, note: CreditNote) -> CreditNote:
        """Move the note's money, once: the refund keyed by its id, or the grant referenced by it."""
        tenant = TenantContext(note.tenant_id)
        if note.method == "wallet" and note.credits is not None:
            self.wallet.grant(tenant, note.credits, source="credit_note", reference=_reference(note.id),
                              by=note.created_by, description=f"Credit note {note.number}")
        if note.method == "refund" and note.refund_id is None:
            invoice = self.invoices.get(tenant, note.invoice_id)
            payment_id = invoice.payment_id if invoice else None
            if not payment_id:
                raise Conflict(f"Credit note {note.number} is issued, but its invoice has no payment to refund.")
            try:
                refund = self.payments().refund(payment_id, note.amount, idempotency_key=note.id)
            except PaymentProviderUnavailable:
                raise Unavailable(f"Credit note {note.number} is issued; the payment provider is unavailable for "
                                  "its refund: retry with the same Idempotency-Key.") from None
            except PaymentError as exc:
                raise Conflict(f"Credit note {note.number} is issued, but the provider refused its refund "
                               f"({type(exc).__name__}).") from None
            note = note.model_copy(update={"refund_id": refund.id})
            self.notes.table.transact([self.notes.completed_op(note)])
        return note

    def _invoice(self, invoice_id: str) -> Invoice:
        invoice = self.invoices.find(invoice_id)
        if invoice is None:
            raise NotFound("No such invoice.")
        return invoice


def _reference(note_id: str) -> str:
    return f"credit_note:{note_id}"
