"""The operator's invoices, against moto: every tenant's list, one invoice by its id, void, and verify.

Worked example (USD, minor units), as in ``test_billing_invoices``: pro costs 3000 a month in advance, and a
graduated usage price on ``tokens`` gives 1000 tokens free and charges 0.5 a token after. acme uses 3001
tokens in [Jan 1, Feb 1); the Feb 1 run bills 3000 + 1001 (2001 x 0.5 = 1000.5, rounded once). Verify
folds the 3001 tokens again from the raw events and prices them at the same price: difference 0. A late
event of 999 tokens for January, counted after the invoice, makes it 4000 tokens: 1500 instead of 1001,
so the difference is 499.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.unit import subscription_world
from tests.unit.fakes import Clock
from tests.unit.subscription_world import REQUEST, T0, World, on_plan
from wrapper.billing.admin import InvoiceAdmin
from wrapper.billing.renewal import PeriodEnds
from wrapper.billing.wiring import period_ends_for
from wrapper.catalog.models import Aggregation, Meter, Price
from wrapper.catalog.store import item_of
from wrapper.invoices.models import Invoice
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound
from wrapper.kernel.tenant import TenantContext
from wrapper.money.periods import MONTHLY
from wrapper.money.pricing import PriceSpec
from wrapper.settings import Settings
from wrapper.store.schema import BILLING_SK, meter_sk, price_sk, tenant_pk
from wrapper.usage.logic import measure
from wrapper.usage.models import UsageEvent
from wrapper.usage.store import UsageStore

FEB_1 = datetime(2024, 2, 1, tzinfo=UTC)
NOW = datetime(2024, 2, 3, 9, tzinfo=UTC)
TOKENS = Meter(code="tokens", name="Tokens", event_name="llm.call", aggregation=Aggregation.SUM, property="tokens")
world = subscription_world.world


@pytest.fixture
def ends(world: World) -> PeriodEnds:
    world.table.put(item_of(TOKENS, meter_sk("tokens"), "meter"))
    spec = PriceSpec.model_validate({"model": "graduated", "currency": "USD", "meter": "tokens", "tiers": [
        {"up_to": 1000, "unit_amount": "0"}, {"up_to": None, "unit_amount": "0.5"}]})
    price = Price(id="price_pro_tokens", plan_id="plan_pro", version=2, interval=MONTHLY, spec=spec, created_at=T0)
    world.table.put(item_of(price, price_sk("plan_pro", price.id), "price"))
    return period_ends_for(Settings(), world.table, world.service)


@pytest.fixture
def admin(world: World, ends: PeriodEnds) -> InvoiceAdmin:
    return InvoiceAdmin(ends.rating.invoices, world.catalog, UsageStore(world.table), outbox_ttl_days=7,
                        clock=Clock(NOW))


def _use(world: World, tenant: str, tokens: int, at: datetime, event_id: str) -> None:
    event = UsageEvent(event_id=event_id, name="llm.call", timestamp=at, properties={"tokens": tokens})
    value = measure(TOKENS, event)
    assert value is not None
    UsageStore(world.table).record(TenantContext(tenant), event, [(TOKENS, value)], T0, at.timestamp(),
                                   {"tokens": TOKENS})


def _issue(world: World, ends: PeriodEnds, tenant: str, *, card: bool = True, tokens: int = 3001) -> Invoice:
    """The tenant on pro since Jan 1 uses ``tokens`` in January; the Feb 1 run issues its invoice (paid on
    the saved card, or open without one)."""
    on_plan(world, "pro", "price_pro_m", anchor=T0, tenant=tenant)
    if card:
        world.table.put({"PK": tenant_pk(tenant), "SK": BILLING_SK, "stripe_customer_id": f"cus_{tenant}",
                         "default_payment_method": "pm_card"})
    _use(world, tenant, 1000, datetime(2024, 1, 10, tzinfo=UTC), f"{tenant}-1")
    _use(world, tenant, tokens - 1000, datetime(2024, 1, 31, 23, tzinfo=UTC), f"{tenant}-2")
    result = ends.close_period(TenantContext(tenant), "sub_pro", date(2024, 2, 1))
    assert result.invoice_id is not None, result
    invoice = ends.rating.invoices.get(TenantContext(tenant), result.invoice_id)
    assert invoice is not None
    return invoice


def test_the_list_holds_every_tenants_invoices_and_filters_by_tenant_and_status(
        world: World, ends: PeriodEnds, admin: InvoiceAdmin) -> None:
    # Given acme's invoice paid and globex's left open (no card)
    paid = _issue(world, ends, "acme")
    unpaid = _issue(world, ends, "globex", card=False)

    # Then the operator's list holds both; each filter keeps its own
    everyone = admin.page(tenant_id=None, status=None, limit=None, cursor=None).items
    assert {i.id for i in everyone} == {paid.id, unpaid.id}
    assert admin.page(tenant_id=None, status="open", limit=None, cursor=None).items == [unpaid]
    assert admin.page(tenant_id="acme", status=None, limit=None, cursor=None).items == [paid]
    assert admin.page(tenant_id="acme", status="open", limit=None, cursor=None).items == []
    assert admin.page(tenant_id="initech", status=None, limit=None, cursor=None).items == []


def test_the_list_pages_newest_first_by_cursor_and_refuses_another_lists_cursor(
        world: World, ends: PeriodEnds, admin: InvoiceAdmin) -> None:
    # Given two invoices issued on Feb 1 and one on Mar 1
    _issue(world, ends, "acme")
    _issue(world, ends, "globex")
    world.table.put({"PK": tenant_pk("globex"), "SK": BILLING_SK})  # March's renewal: no card, left open
    march = ends.close_period(TenantContext("globex"), "sub_pro", date(2024, 3, 1)).invoice_id

    # When the operator pages one at a time
    first = admin.page(tenant_id=None, status=None, limit=1, cursor=None)
    rest = admin.page(tenant_id=None, status=None, limit=2, cursor=first.next_cursor)

    # Then March's comes first, and the pages hold all three once
    assert [i.id for i in first.items] == [march]
    assert len({i.id for i in [*first.items, *rest.items]}) == 3
    # And a cursor of one tenant's list does not page the platform's, nor the reverse
    tenant_page = admin.page(tenant_id="globex", status=None, limit=1, cursor=None)
    with pytest.raises(InvalidInput):
        admin.page(tenant_id=None, status=None, limit=1, cursor=tenant_page.next_cursor)
    with pytest.raises(InvalidInput):
        admin.page(tenant_id="globex", status=None, limit=1, cursor=first.next_cursor)


def test_an_invoice_is_found_by_its_id_alone(world: World, ends: PeriodEnds, admin: InvoiceAdmin) -> None:
    issued = _issue(world, ends, "acme")
    assert admin.get(issued.id) == issued
    with pytest.raises(NotFound):
        admin.get("in_20240201_0123456789abcdef")


def test_voiding_an_open_invoice_keeps_its_number_and_writes_invoice_voided(
        world: World, ends: PeriodEnds, admin: InvoiceAdmin) -> None:
    # Given an open invoice (the charge had no card)
    issued = _issue(world, ends, "globex", card=False)
    assert issued.status == "open"

    # When the operator voids it
    voided = admin.void(issued.id, reason="billed twice by mistake", by="op-1", request_meta=REQUEST)

    # Then it is void, keeps its number, and is stored so
    assert (voided.status, voided.number, voided.voided_at, voided.version) == (
        "void", issued.number, NOW, issued.version + 1)
    assert admin.get(issued.id) == voided
    # And invoice.voided was written with it, naming the operator and the reason
    [event] = world.events("globex", "invoice.voided")
    assert {k: event["data"][k] for k in ("actor", "target", "invoice_id", "number", "amount_due", "reason",
                                          "request_id")} == {
        "actor": "op-1", "target": issued.id, "invoice_id": issued.id, "number": issued.number,
        "amount_due": issued.amount_due, "reason": "billed twice by mistake", "request_id": REQUEST.request_id}


def test_only_an_open_invoice_is_voided(world: World, ends: PeriodEnds, admin: InvoiceAdmin) -> None:
    paid = _issue(world, ends, "acme")
    with pytest.raises(Conflict, match="paid"):
        admin.void(paid.id, reason=None, by="op-1", request_meta=REQUEST)
    open_ = _issue(world, ends, "globex", card=False)
    admin.void(open_.id, reason=None, by="op-1", request_meta=REQUEST)
    with pytest.raises(Conflict, match="void"):
        admin.void(open_.id, reason=None, by="op-1", request_meta=REQUEST)
    assert len(world.events("globex", "invoice.voided")) == 1
    with pytest.raises(NotFound):
        admin.void("in_20240201_0123456789abcdef", reason=None, by="op-1", request_meta=REQUEST)


def test_a_void_loses_to_a_change_made_since_it_read_the_invoice(
        world: World, ends: PeriodEnds, admin: InvoiceAdmin, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an open invoice that is paid between the void's read and its write
    issued = _issue(world, ends, "globex", card=False)
    store = ends.rating.invoices
    paid = issued.model_copy(update={"status": "paid", "amount_paid": issued.amount_due, "version": 2})
    read = store.find

    def read_then_paid(invoice_id: str) -> Invoice | None:
        found = read(invoice_id)
        store.table.transact([store.save_op(paid, expected_version=1)])
        return found

    monkeypatch.setattr(store, "find", read_then_paid)

    # Then the void is refused, and the payment stands
    with pytest.raises(Conflict):
        admin.void(issued.id, reason=None, by="op-1", request_meta=REQUEST)
    assert store.get(TenantContext("globex"), issued.id) == paid
    assert world.events("globex", "invoice.voided") == []


def test_verify_recomputes_each_usage_line_from_the_raw_events_exactly(
        world: World, ends: PeriodEnds, admin: InvoiceAdmin) -> None:
    issued = _issue(world, ends, "acme")
    usage = issued.lines[1]
    assert (usage.kind, usage.price_id, issued.lines[0].price_id) == ("usage", "price_pro_tokens", "price_pro_m")

    verification = admin.verify(issued.id)

    assert verification.model_dump() == {"invoice_id": issued.id, "difference": 0, "lines": [{
        "line_id": usage.id, "meter": "tokens", "quantity": Decimal(3001), "recomputed_quantity": Decimal(3001),
        "amount": 1001, "recomputed_amount": 1001, "difference": 0}]}


def test_verify_shows_usage_counted_for_the_period_after_its_invoice(
        world: World, ends: PeriodEnds, admin: InvoiceAdmin) -> None:
    # Given January's invoice, then 999 more tokens counted for January
    issued = _issue(world, ends, "acme")
    _use(world, "acme", 999, datetime(2024, 1, 31, 23, 59, tzinfo=UTC), "acme-late")

    [line] = admin.verify(issued.id).lines

    # Then 4000 tokens cost 1500 where 1001 was billed
    assert (line.quantity, line.recomputed_quantity, line.amount, line.recomputed_amount, line.difference) == (
        3001, 4000, 1001, 1500, 499)
    assert admin.verify(issued.id).difference == 499


def test_a_line_without_its_price_cannot_be_repriced(world: World, ends: PeriodEnds, admin: InvoiceAdmin) -> None:
    # Given an invoice stored before lines named their price
    issued = _issue(world, ends, "acme")
    lines = [line.model_copy(update={"price_id": None}) for line in issued.lines]
    older = issued.model_copy(update={"lines": lines, "version": 2})
    ends.rating.invoices.table.transact([ends.rating.invoices.save_op(older, expected_version=1)])

    verification = admin.verify(issued.id)

    [line] = verification.lines
    assert (line.recomputed_quantity, line.recomputed_amount, line.difference) == (3001, None, None)
    assert verification.difference is None


def test_an_invoice_without_usage_lines_verifies_to_nothing(world: World, ends: PeriodEnds,
                                                            admin: InvoiceAdmin) -> None:
    issued = _issue(world, ends, "acme")
    fee_only = issued.model_copy(update={"lines": issued.lines[:1], "version": 2})
    ends.rating.invoices.table.transact([ends.rating.invoices.save_op(fee_only, expected_version=1)])
    assert admin.verify(issued.id).model_dump() == {"invoice_id": issued.id, "lines": [], "difference": 0}
