"""Every charge a subscription change makes has its invoice, written with the change (moto, fake payments).

Worked examples (USD, minor units):
- subscribing to pro (3000/month) with the 25% coupon: one line 3000, discount 750, paid 2250.
- the same from a French address (TVA 20%, exclusive): tax 20% of 2250 = 450, charged 2700.
- pro → biz on 2024-03-10 (anchor 2024-01-31): proration lines -2032 and 4065, paid 2033.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.unit import subscription_world
from tests.unit.subscription_world import World, checkout_completed, on_plan
from wrapper.catalog.models import TaxRate
from wrapper.catalog.store import item_of
from wrapper.credits.models import TopUp
from wrapper.credits.service import Credits
from wrapper.credits.store import WalletStore
from wrapper.credits.topups import TopUps, grant_paid_checkout
from wrapper.invoices.models import Invoice
from wrapper.kernel.errors import Conflict
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.collection import PaymentRequired
from wrapper.store.schema import PROFILE_SK, tax_rate_sk, tenant_pk
from wrapper.subscriptions.models import CancelRequest, ChangeRequest, SubscribeRequest
from wrapper.subscriptions.stripe_events import apply_stripe_event
from wrapper.tenancy.profile import Address, BillingDetails

world = subscription_world.world


def _invoices(world: World, tenant: str = "acme") -> list[Invoice]:
    return world.service.invoices.page(TenantContext(tenant), limit=100, cursor=None).items


def _in_france(world: World) -> None:
    world.table.put(item_of(TaxRate(id="txr_fr", name="TVA", percentage=Decimal(20), country="FR"),
                            tax_rate_sk("txr_fr"), "tax_rate"))
    details = BillingDetails(legal_name="Acme SARL", address=Address(country="FR", city="Paris"))
    world.table.put({"PK": tenant_pk("acme"), "SK": PROFILE_SK, "billing_details": details.model_dump_json()})


def test_subscribing_issues_the_paid_invoice_of_the_first_period(world: World) -> None:
    result = world.service.subscribe(world.actor(), SubscribeRequest(plan_code="pro", coupon="quarter"))

    [invoice] = _invoices(world)
    assert (invoice.number, invoice.status, invoice.subscription_id) == (
        "INV-2024-000001", "paid", result.subscription.id)
    assert [(line.kind, line.amount, line.discount) for line in invoice.lines] == [("subscription", 3000, 750)]
    assert (invoice.subtotal, invoice.discount, invoice.total, invoice.amount_paid, invoice.payment_id) == (
        3000, 750, 2250, 2250, result.payment_id)
    assert (invoice.period_start, invoice.period_end, invoice.coupon) == (
        result.subscription.current_period_start, result.subscription.current_period_end, "QUARTER")
    [paid] = world.events("acme", "invoice.paid")
    assert paid["data"]["invoice_id"] == invoice.id and paid["data"]["actor"] == "user-owner"


def test_the_tax_of_the_billing_address_is_previewed_charged_and_invoiced(world: World) -> None:
    _in_france(world)

    result = world.service.subscribe(world.actor(), SubscribeRequest(plan_code="pro", coupon="quarter"))

    assert (result.preview.subtotal, result.preview.discount, result.preview.tax, result.preview.amount_due) == (
        3000, 750, 450, 2700)
    assert world.payments.charges[0]["amount"] == 2700
    [invoice] = _invoices(world)
    assert (invoice.tax, invoice.total, invoice.amount_paid) == (450, 2700, 2700)
    assert invoice.customer and invoice.customer.legal_name == "Acme SARL"


def test_an_upgrade_invoices_its_proration_lines(world: World) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=datetime(2024, 1, 31, tzinfo=UTC))
    world.clock.now = datetime(2024, 3, 10, tzinfo=UTC)

    result = world.service.change(world.actor(), ChangeRequest(plan_code="biz"))

    [invoice] = _invoices(world)
    assert [(line.kind, line.amount) for line in invoice.lines] == [("proration", -2032), ("proration", 4065)]
    assert (invoice.amount_due, invoice.amount_paid, invoice.payment_id) == (2033, 2033, result.payment_id)
    preview = world.service.preview(world.actor(), ChangeRequest(plan_code="biz"))
    assert preview.amount_due == 0  # already on biz: nothing more to pay, nothing more invoiced
    assert len(_invoices(world)) == 1


def test_a_downgrade_or_a_trial_charges_and_invoices_nothing_now(world: World) -> None:
    world.service.subscribe(world.actor("globex"), SubscribeRequest(plan_code="trial"))
    on_plan(world, "biz", "price_biz_m", anchor=datetime(2024, 1, 1, tzinfo=UTC))
    world.service.change(world.actor(), ChangeRequest(plan_code="pro"))
    assert _invoices(world) == [] and _invoices(world, "globex") == [] and not world.payments.charges


def test_a_change_paid_on_checkout_is_invoiced_once_when_the_payment_arrives(world: World) -> None:
    world.payments.card = None
    _in_france(world)
    on_plan(world, "pro", "price_pro_m", anchor=datetime(2024, 1, 31, tzinfo=UTC))
    world.clock.now = datetime(2024, 3, 10, tzinfo=UTC)
    with pytest.raises(PaymentRequired) as needed:
        world.service.change(world.actor(), ChangeRequest(plan_code="biz"))
    assert needed.value.amount_due == 2033 + 407  # 20% of -2032 is -406, of 4065 is 813
    assert _invoices(world) == []

    for event_id in ("evt_1", "evt_2"):  # a delivery, then a redelivery under another event id
        apply_stripe_event(checkout_completed(world.payments.sessions[0], event_id=event_id), table=world.table,
                           catalog=world.catalog, payments=world.payments, now=world.clock.now)

    [invoice] = _invoices(world)
    assert (invoice.status, invoice.tax, invoice.amount_paid, invoice.payment_id) == ("paid", 407, 2440, "pi_checkout")
    assert invoice.number == "INV-2024-000001" and len(world.events("acme", "invoice.paid")) == 1


def test_a_change_that_loses_its_race_after_the_charge_refunds_and_leaves_no_invoice(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=datetime(2024, 1, 31, tzinfo=UTC))
    world.clock.now = datetime(2024, 3, 10, tzinfo=UTC)
    charge = world.payments.charge

    def another_change_first(*args: Any, **kwargs: Any) -> Any:
        answer = charge(*args, **kwargs)
        world.service.cancel(world.actor(), CancelRequest(at_period_end=True))
        return answer

    monkeypatch.setattr(world.payments, "charge", another_change_first)
    with pytest.raises(Conflict):
        world.service.change(world.actor(), ChangeRequest(plan_code="biz"))
    assert world.payments.refunds == ["pi_1"] and _invoices(world) == []


# -- credit top-ups ----------------------------------------------------------------------------------------------

def _top_ups(world: World) -> TopUps:
    return TopUps(world.service.collection, _credits(world), unit_amount=2, currency="USD",
                  catalog=world.catalog, invoices=world.service.invoices, clock=world.clock)


def _credits(world: World) -> Credits:
    return Credits(WalletStore(world.table), clock=world.clock)


def test_a_top_up_on_the_saved_card_is_granted_with_its_paid_invoice_taxed(world: World) -> None:
    _in_france(world)

    grant = _top_ups(world).buy(world.actor(), TopUp(credits=500), idempotency_key="k1")

    assert world.payments.charges[0]["amount"] == 1200  # 500 credits at 2 = 1000, plus 20%
    [invoice] = _invoices(world)
    assert [(line.kind, line.quantity, line.amount, line.tax_amount) for line in invoice.lines] == [
        ("credits", 500, 1000, 200)]
    assert (invoice.status, invoice.amount_paid, invoice.number) == ("paid", 1200, "INV-2024-000001")
    again = _top_ups(world).buy(world.actor(), TopUp(credits=500), idempotency_key="k1")
    assert again.id == grant.id and len(_invoices(world)) == 1  # the same key: one grant, one invoice


def test_a_top_up_paid_on_checkout_keeps_a_draft_then_issues_it_with_the_grant_once(world: World) -> None:
    world.payments.card = None
    with pytest.raises(PaymentRequired) as needed:
        _top_ups(world).buy(world.actor(), TopUp(credits=500), idempotency_key="k2")
    [waiting] = _invoices(world)
    assert (waiting.status, waiting.number, needed.value.amount_due) == ("draft", None, 1000)

    session = {**world.payments.sessions[0], "payment_status": "paid", "payment_intent": "pi_checkout"}
    for _ in range(2):  # a delivery and a redelivery
        grant_paid_checkout(_credits(world), world.service.invoices, world.actor().tenant, session)

    [issued] = _invoices(world)
    assert (issued.id, issued.status, issued.number, issued.amount_paid, issued.payment_id) == (
        waiting.id, "paid", "INV-2024-000001", 1000, "pi_checkout")
    assert _credits(world).wallet(world.actor()).balance == 500


def test_a_top_up_paid_on_the_card_after_an_unpaid_checkout_issues_that_draft(world: World) -> None:
    world.payments.card = None
    with pytest.raises(PaymentRequired):
        _top_ups(world).buy(world.actor(), TopUp(credits=500), idempotency_key="k3")
    world.payments.card = "pm_card"  # the customer saved a card meanwhile, and retries with the same key

    grant = _top_ups(world).buy(world.actor(), TopUp(credits=500), idempotency_key="k3")

    [invoice] = _invoices(world)
    assert (invoice.status, invoice.amount_paid, invoice.number) == ("paid", 1000, "INV-2024-000001")
    assert _credits(world).wallet(world.actor()).balance == 500 and grant.id
