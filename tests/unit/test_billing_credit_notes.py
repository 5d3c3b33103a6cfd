"""Credit notes issued by the operator, against moto (``wrapper.billing.credit_notes``).

Worked example (USD, minor units), as in ``test_billing_admin``: acme's Feb 1 invoice bills 3000 + 1001 =
4001, paid on its card; globex's is the same, left open (no card). Notes are numbered CN-2024-000001, 2, ...
without gaps, across tenants.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.unit import subscription_world
from tests.unit.fakes import Clock
from tests.unit.subscription_world import REQUEST, T0, World, on_plan
from wrapper.billing.credit_notes import CreditNotes
from wrapper.billing.renewal import PeriodEnds
from wrapper.billing.wiring import period_ends_for
from wrapper.credits.service import Credits
from wrapper.credits.store import WalletStore
from wrapper.invoices.credit_note_store import CreditNoteStore
from wrapper.invoices.credit_notes import NewCreditNote
from wrapper.invoices.models import Invoice
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from wrapper.kernel.permissions import Permission
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.port import Refund
from wrapper.settings import Settings
from wrapper.store.schema import BILLING_SK, tenant_pk

NOW = datetime(2024, 2, 3, 9, tzinfo=UTC)
world = subscription_world.world


class Refunds:
    """The fake provider's refunds, with their amounts and keys; a key refunded before answers the first."""

    def __init__(self) -> None:
        self.made: dict[str, tuple[str, int | None]] = {}

    def refund(self, payment_id: str, amount_minor: int | None, *, idempotency_key: str) -> Refund:
        self.made.setdefault(idempotency_key, (payment_id, amount_minor))
        return Refund(id=f"re_{idempotency_key}", status="succeeded")


@pytest.fixture
def ends(world: World) -> PeriodEnds:
    return period_ends_for(Settings(), world.table, world.service)


@pytest.fixture
def refunds() -> Refunds:
    return Refunds()


@pytest.fixture
def notes(world: World, ends: PeriodEnds, refunds: Refunds) -> CreditNotes:
    return CreditNotes(ends.rating.invoices, CreditNoteStore(world.table), payments=lambda: refunds,  # type: ignore[arg-type,return-value]
                       wallet=Credits(WalletStore(world.table), clock=Clock(NOW)), unit_amount=10,
                       credit_currency="usd", outbox_ttl_days=7, clock=Clock(NOW))


def _issue(world: World, ends: PeriodEnds, tenant: str, *, card: bool = True) -> Invoice:
    on_plan(world, "pro", "price_pro_m", anchor=T0, tenant=tenant)
    if card:
        world.table.put({"PK": tenant_pk(tenant), "SK": BILLING_SK, "stripe_customer_id": f"cus_{tenant}",
                         "default_payment_method": "pm_card"})
    result = ends.close_period(TenantContext(tenant), "sub_pro", date(2024, 2, 1))
    invoice = ends.rating.invoices.get(TenantContext(tenant), result.invoice_id or "")
    assert invoice is not None
    return invoice


def _credit(notes: CreditNotes, invoice: Invoice, key: str | None = None, **body: Any) -> Any:
    return notes.issue(invoice.id, NewCreditNote.model_validate(body), by="op-1", idempotency_key=key,
                       request_meta=REQUEST)


def test_a_refund_note_is_numbered_refunds_its_part_once_and_is_written_with_its_event(
        world: World, ends: PeriodEnds, notes: CreditNotes, refunds: Refunds) -> None:
    # Given acme's paid invoice
    paid = _issue(world, ends, "acme")
    assert (paid.status, paid.total) == ("paid", 3000)

    # When the operator refunds 1000 of it, and the same request comes again with its key
    note = _credit(notes, paid, "refund-1", amount=1000, method="refund", reason="outage")
    again = _credit(notes, paid, "refund-1", amount=1000, method="refund", reason="outage")

    # Then one note, numbered in its own series, refunded once on the invoice's payment, keyed by its id
    assert again == note
    assert (note.number, note.amount, note.method, note.refund_id) == ("CN-2024-000001", 1000, "refund",
                                                                       f"re_{note.id}")
    assert refunds.made == {note.id: (paid.payment_id, 1000)}
    # And the invoice records what was credited and refunded
    invoice = notes._invoice(paid.id)
    assert (invoice.amount_credited, invoice.amount_refunded, invoice.amount_due, invoice.version) == (
        1000, 1000, paid.amount_due, paid.version + 1)
    [event] = world.events("acme", "credit_note.created")
    assert {k: event["data"][k] for k in ("actor", "target", "number", "invoice_id", "amount", "method",
                                          "reason", "amount_credited")} == {
        "actor": "op-1", "target": note.id, "number": "CN-2024-000001", "invoice_id": paid.id, "amount": 1000,
        "method": "refund", "reason": "outage", "amount_credited": 1000}
    # And the key with another body is refused; more than is left is a 409
    with pytest.raises(InvalidInput):
        _credit(notes, paid, "refund-1", amount=999, method="refund")
    with pytest.raises(Conflict, match="Only 2000 of the invoice"):
        _credit(notes, paid, "refund-2", amount=2001, method="refund")


def test_a_wallet_note_grants_credits_once_at_the_credit_unit_amount(
        world: World, ends: PeriodEnds, notes: CreditNotes) -> None:
    paid = _issue(world, ends, "acme")
    note = _credit(notes, paid, "wallet-1", amount=1005, method="wallet")
    assert _credit(notes, paid, "wallet-1", amount=1005, method="wallet") == note
    # 1005 / 10 (the unit amount) = 100.5 credits, granted once
    assert note.credits == Decimal("100.5")
    wallet = WalletStore(world.table).state(TenantContext("acme"))
    assert (wallet.balance, [g.id for g in wallet.grants]) == (Decimal("100.5"), [note.grant_id])
    assert len(world.events("acme", "credits.granted")) == 1


def test_a_note_without_money_lowers_an_open_invoices_amount_due_and_numbers_stay_gapless(
        world: World, ends: PeriodEnds, notes: CreditNotes) -> None:
    paid = _issue(world, ends, "acme")
    unpaid = _issue(world, ends, "globex", card=False)
    first = _credit(notes, paid, amount=100)
    second = _credit(notes, unpaid, lines=[{"line_id": unpaid.lines[0].id, "amount": 500}], reason="goodwill")
    assert (first.number, second.number) == ("CN-2024-000001", "CN-2024-000002")
    invoice = notes._invoice(unpaid.id)
    assert (invoice.status, invoice.amount_due, invoice.lines[0].amount_credited) == ("open", 2500, 500)
    # A refund of an unpaid invoice, or a void or unknown one, is refused
    with pytest.raises(Conflict, match="paid"):
        _credit(notes, unpaid, "refund-3", amount=1, method="refund")
    with pytest.raises(NotFound):
        notes.issue("in_20240201_0123456789abcdef", NewCreditNote(amount=1), by="op-1", idempotency_key=None,
                    request_meta=REQUEST)


def test_tenants_read_their_own_notes_newest_first_and_the_operator_an_invoices(
        world: World, ends: PeriodEnds, notes: CreditNotes) -> None:
    acme = _issue(world, ends, "acme")
    globex = _issue(world, ends, "globex")
    older = _credit(notes, acme, amount=100)
    notes.clock = Clock(NOW.replace(microsecond=1))  # within the same second: still newest first
    newer = _credit(notes, acme, amount=200)
    theirs = _credit(notes, globex, amount=300)
    reader = Actor(tenant=TenantContext("acme"), user_id="u1", permissions=frozenset({Permission.BILLING_READ}))
    assert [n.id for n in notes.page(reader, limit=None, cursor=None).items] == [newer.id, older.id]
    first = notes.page(reader, limit=1, cursor=None)
    assert [n.id for n in notes.page(reader, limit=1, cursor=first.next_cursor).items] == [older.id]
    assert [n.id for n in notes.of_invoice(globex.id, limit=None, cursor=None).items] == [theirs.id]
    # acme's cursor does not page globex's notes; a member without billing:read reads none
    with pytest.raises(InvalidInput):
        notes.page(Actor(tenant=TenantContext("globex"), user_id="u2", permissions=reader.permissions), limit=1,
                   cursor=first.next_cursor)
    with pytest.raises(PermissionDenied):
        notes.page(Actor(tenant=TenantContext("acme"), user_id="u3", permissions=frozenset()), limit=None, cursor=None)
