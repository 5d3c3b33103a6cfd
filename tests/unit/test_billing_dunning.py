"""Dunning against moto, the fake payments and an in-memory notifier: a declined renewal is retried on the
schedule (3, 7 and 14 days after the first failure), with an email and a pay link each time, and ends as the
plan says; any later payment settles the invoice and restores the subscription.

Worked example: pro (3000/month) anchored 2024-01-01 renews on Feb 1 with a card that declines. Attempts:
Feb 1 (the renewal), Feb 4, Feb 8, Feb 15; after the fourth failure the invoice is uncollectible.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.unit import subscription_world
from tests.unit.fakes import FakeNotifier
from tests.unit.subscription_world import T0, World, checkout_completed, on_plan
from wrapper.billing import run
from wrapper.billing.dal import DynamoDueSubscriptions
from wrapper.billing.renewal import PeriodEnds
from wrapper.billing.service import Invoices
from wrapper.billing.wiring import period_ends_for
from wrapper.catalog.store import item_of
from wrapper.invoices.models import Invoice
from wrapper.kernel.errors import Conflict
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.collection import PaymentRequired
from wrapper.settings import Settings
from wrapper.store.schema import BILLING_SK, PROFILE_SK, dunning_sk, plan_sk, tenant_pk
from wrapper.subscriptions.stripe_events import apply_stripe_event

ACME = TenantContext("acme")
FEB_1 = date(2024, 2, 1)
world = subscription_world.world


@pytest.fixture
def notifier() -> FakeNotifier:
    return FakeNotifier()


@pytest.fixture
def ends(world: World, notifier: FakeNotifier) -> PeriodEnds:
    world.table.put({"PK": tenant_pk("acme"), "SK": PROFILE_SK, "billing_email": "billing@acme.example"})
    world.service.store.create_billing(ACME, "cus_acme")  # the customer, and the customer -> tenant lookup
    world.table.put({"PK": tenant_pk("acme"), "SK": BILLING_SK, "stripe_customer_id": "cus_acme",
                     "default_payment_method": "pm_card"})
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    return period_ends_for(Settings(), world.table, world.service, notifier=notifier)


def _invoice(ends: PeriodEnds) -> Invoice:
    [invoice] = ends.rating.invoices.page(ACME, limit=10, cursor=None).items
    return invoice


def _declined_renewal(world: World, ends: PeriodEnds) -> Invoice:
    world.payments.decline = True
    assert ends.close_period(ACME, "sub_pro", FEB_1).status == "past_due"
    return _invoice(ends)


def _collect(world: World, ends: PeriodEnds, day: date) -> list[dict[str, object]]:
    """What the run of ``day`` does for the dunning items due that day."""
    world.clock.now = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)
    planned = run.plan(run.RunInput(run_date=day), DynamoDueSubscriptions(world.table))
    return [run.bill(item, run.RunInput(run_date=day), ends) for item in planned["subscriptions"]
            if item["step"] == "collect"]


def test_a_declined_renewal_is_retried_on_the_schedule_with_an_email_each_time_then_canceled(
        world: World, ends: PeriodEnds, notifier: FakeNotifier, monkeypatch: pytest.MonkeyPatch) -> None:
    keys: list[str] = []
    charge = world.payments.charge

    def keyed(*args: Any, **kwargs: Any) -> Any:
        keys.append(kwargs["idempotency_key"])
        return charge(*args, **kwargs)

    monkeypatch.setattr(world.payments, "charge", keyed)
    invoice = _declined_renewal(world, ends)
    assert (invoice.status, invoice.attempts, invoice.payment_error) == ("open", 1, "Your card was declined.")
    [first] = notifier.sent
    assert first.to == "billing@acme.example" and invoice.number and invoice.number in first.subject
    assert "2024-02-04" in first.text and "https://checkout.test/cs_1" in first.text

    assert _collect(world, ends, date(2024, 2, 3)) == []  # nothing due the day before
    for day, following in ((date(2024, 2, 4), "2024-02-08"), (date(2024, 2, 8), "2024-02-15")):
        [result] = _collect(world, ends, day)
        assert (result["status"], result["step"]) == ("past_due", "collect") and following in str(result["reason"])
    [last] = _collect(world, ends, date(2024, 2, 15))

    assert last["status"] == "uncollectible" and "canceled" in str(last["reason"])
    given_up = _invoice(ends)
    assert (given_up.status, given_up.attempts, given_up.number) == ("uncollectible", 4, invoice.number)
    assert keys == [f"invoice:{invoice.id}", *(f"charge:invoice:{invoice.id}:retry:{n}:pm_card" for n in (1, 2, 3))]
    assert len(notifier.sent) == 4 and "will not try again" in notifier.sent[-1].text
    assert world.service.current(world.actor()).plan_code == "free"
    assert len(world.events("acme", "invoice.uncollectible")) == 1
    assert len(world.events("acme", "invoice.payment_failed")) == 4
    assert world.table.get(ACME.pk, dunning_sk(invoice.id)) is None
    assert _collect(world, ends, date(2024, 2, 15)) == []  # a second run of the day finds nothing


def test_a_retry_that_pays_settles_the_invoice_and_restores_the_subscription(world: World, ends: PeriodEnds) -> None:
    invoice = _declined_renewal(world, ends)
    assert world.service.current(world.actor()).status == "past_due"
    world.payments.decline = False

    [result] = _collect(world, ends, date(2024, 2, 4))

    assert result["status"] == "collected"
    paid = _invoice(ends)
    assert (paid.status, paid.amount_paid, paid.number) == ("paid", 3000, invoice.number)
    assert world.service.current(world.actor()).status == "active"
    assert world.table.get(ACME.pk, dunning_sk(invoice.id)) is None
    assert _collect(world, ends, date(2024, 2, 8)) == []


def test_a_plan_that_keeps_unpaid_subscriptions_leaves_it_unpaid_until_the_pay_link_is_paid(
        world: World, ends: PeriodEnds) -> None:
    plan = world.catalog.plan("plan_pro")
    assert plan is not None
    world.table.put(item_of(plan.model_copy(update={"unpaid_action": "unpaid"}), plan_sk(plan.id), "plan"))
    invoice = _declined_renewal(world, ends)
    for day in (date(2024, 2, 4), date(2024, 2, 8), date(2024, 2, 15)):
        _collect(world, ends, day)
    unpaid = world.service.current(world.actor())
    assert (unpaid.status, unpaid.plan_code) == ("unpaid", "pro")
    assert {e.feature: e.limit for e in world.service.entitlements(world.actor())}["projects"] == 3  # free's

    pay_link = world.payments.sessions[-1]
    assert pay_link["metadata"] == {"tenant_id": "acme", "purpose": "invoice_payment", "invoice_id": invoice.id}
    for event_id in ("evt_1", "evt_2"):
        apply_stripe_event(checkout_completed(pay_link, event_id=event_id), table=world.table,
                           catalog=world.catalog, payments=world.payments, now=world.clock.now)

    assert (_invoice(ends).status, _invoice(ends).payment_id) == ("paid", "pi_checkout")
    assert world.service.current(world.actor()).status == "active"
    assert len(world.events("acme", "invoice.paid")) == 1


def test_the_tenant_pays_now_on_the_saved_card_or_gets_a_pay_link(world: World, ends: PeriodEnds) -> None:
    invoice = _declined_renewal(world, ends)
    invoices = Invoices(ends)
    with pytest.raises(PaymentRequired) as needed:
        invoices.pay(world.actor(), invoice.id)
    assert needed.value.amount_due == 3000 and needed.value.checkout_url.startswith("https://checkout.test/")

    world.payments.decline = False
    paid = invoices.pay(world.actor(), invoice.id)

    assert (paid.status, paid.amount_paid) == ("paid", 3000)
    assert world.service.current(world.actor()).status == "active"
    with pytest.raises(Conflict):
        invoices.pay(world.actor(), invoice.id)
    assert _collect(world, ends, date(2024, 2, 4)) == []


def test_the_subscription_made_active_again_is_the_target_of_its_event(world: World, ends: PeriodEnds) -> None:
    # subscription.updated names the subscription it changed, as every other one does (the audit log's target),
    # not the invoice whose payment restored it.
    invoice = _declined_renewal(world, ends)
    world.payments.decline = False

    Invoices(ends).pay(world.actor(), invoice.id)

    restored = world.events("acme", "subscription.updated")[-1]["data"]
    assert (restored["change"], restored["target"], restored["actor"]) == ("active", "sub_pro", "user-owner")


def test_the_email_ends_the_providers_reason_with_one_full_stop(world: World, ends: PeriodEnds,
                                                                notifier: FakeNotifier) -> None:
    _declined_renewal(world, ends)  # the provider's reason is a sentence: "Your card was declined."

    [mail] = notifier.sent

    assert ": Your card was declined.\n" in mail.text and ".." not in mail.text


def test_an_older_pay_link_paid_after_the_invoice_was_settled_is_refunded(world: World, ends: PeriodEnds) -> None:
    invoice = _declined_renewal(world, ends)
    pay_link = world.payments.sessions[-1]
    world.payments.decline = False
    Invoices(ends).pay(world.actor(), invoice.id)  # settled on the saved card

    outcome = apply_stripe_event(checkout_completed(pay_link, event_id="evt_late"), table=world.table,
                                 catalog=world.catalog, payments=world.payments, now=world.clock.now)

    assert outcome.startswith("refunded") and world.payments.refunds == ["pi_checkout"]
    settled = _invoice(ends)
    assert settled.status == "paid" and settled.payment_id not in (None, "pi_checkout")
    assert len(world.events("acme", "invoice.paid")) == 1


def test_an_invoice_credited_down_to_nothing_is_settled_without_a_charge(world: World, ends: PeriodEnds) -> None:
    invoice = _declined_renewal(world, ends)
    store = ends.rating.invoices
    credited = invoice.model_copy(update={"amount_due": 0, "version": invoice.version + 1})
    world.table.transact([store.save_op(credited, expected_version=invoice.version)])  # as a credit note leaves it
    world.payments.decline = True  # a charge would fail: none is made

    [result] = _collect(world, ends, date(2024, 2, 4))

    assert result["status"] == "collected"
    settled = _invoice(ends)
    assert (settled.status, settled.amount_paid, settled.payment_id) == ("paid", 0, None)
    assert world.service.current(world.actor()).status == "active"
    assert world.events("acme", "payment.succeeded") == []


def test_a_pay_link_older_than_a_credit_note_pays_the_invoice_and_the_excess_goes_back(
        world: World, ends: PeriodEnds) -> None:
    invoice = _declined_renewal(world, ends)
    pay_link = world.payments.sessions[-1]  # for the 3000 then due
    credited = invoice.model_copy(update={"amount_due": 1000, "version": invoice.version + 1})
    world.table.transact([ends.rating.invoices.save_op(credited, expected_version=invoice.version)])

    outcome = apply_stripe_event(checkout_completed(pay_link), table=world.table, catalog=world.catalog,
                                 payments=world.payments, now=world.clock.now)

    assert outcome.endswith("2000 paid over the amount due refunded")
    assert world.payments.refunds == ["pi_checkout"]
    assert (_invoice(ends).status, _invoice(ends).amount_paid) == ("paid", 1000)


def test_a_payment_short_of_the_amount_due_is_refunded_and_settles_nothing(world: World, ends: PeriodEnds) -> None:
    invoice = _declined_renewal(world, ends)
    pay_link = {**world.payments.sessions[-1], "amount": 100}

    outcome = apply_stripe_event(checkout_completed(pay_link), table=world.table, catalog=world.catalog,
                                 payments=world.payments, now=world.clock.now)

    assert outcome.startswith("refunded") and world.payments.refunds == ["pi_checkout"]
    assert _invoice(ends).status == "open" and _invoice(ends).id == invoice.id
