"""The billing run's period-end work against an in-memory DynamoDB (moto) and a fake payment provider.

Worked examples (USD, minor units):
- pro 3000/month anchored 2024-01-01: the run for 2024-02-01 issues invoice INV-2024-000001 closing
  [Jan 1, Feb 1) with the fee of [Feb 1, Mar 1), charges its 3000 with the key ``invoice:<invoice id>`` and
  moves the due date to 2024-03-01.
- anchored 2024-01-31: the first period ends Feb 29 (leap year); the next one is [Feb 29, Mar 31), from
  the anchor, not Feb 29 + 1 month.
- biz 6000 with a downgrade to pro scheduled: at the period end the tenant is on pro and charged 3000.
- a 25 % coupon "once" paid the first period (2250); the renewal charges the full 3000.
- 500 off forever: every renewal charges 2500.
- the 14-day trial (2000/month) from 2024-01-01 ends 2024-01-15: the run for 2024-01-12 warns once, the
  run for 2024-01-15 charges 2000 for [Jan 15, Feb 15).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.unit import subscription_world
from tests.unit.fakes import FakePayments
from tests.unit.subscription_world import T0, World, on_plan
from wrapper.billing import run
from wrapper.billing.dal import DynamoDueSubscriptions
from wrapper.billing.renewal import PeriodEnds
from wrapper.billing.wiring import period_ends_for
from wrapper.invoices.models import Invoice
from wrapper.invoices.store import renewal_invoice_id
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.port import Charge, PaymentProviderUnavailable
from wrapper.settings import Settings
from wrapper.store.schema import BILLING_SK, SUBSCRIPTION_SK, due_pk, tenant_pk
from wrapper.subscriptions.models import CancelRequest, ChangeRequest, SubscribeRequest, Subscription

ACME = TenantContext("acme")
# The subscriptions' moto table, seeded catalog, fake clock and fake payments.
world = subscription_world.world


def _card(world: World, tenant: str = "acme") -> None:
    world.table.put({"PK": tenant_pk(tenant), "SK": BILLING_SK, "stripe_customer_id": f"cus_{tenant}",
                     "default_payment_method": "pm_card"})


def _current(world: World, tenant: str = "acme") -> Subscription:
    found = world.service.store.current(TenantContext(tenant))
    assert found is not None
    return found


def _invoices(world: World, tenant: str = "acme") -> list[Invoice]:
    return _ends(world).rating.invoices.page(TenantContext(tenant), limit=100, cursor=None).items


def _ends(world: World) -> PeriodEnds:
    return period_ends_for(Settings(), world.table, world.service)


@pytest.fixture
def ends(world: World) -> PeriodEnds:
    return _ends(world)


def test_a_renewal_charges_the_next_period_and_moves_the_due_date(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _card(world)
    result = ends.close_period(ACME, "sub_pro", date(2024, 2, 1))
    assert (result.status, result.amount, result.currency) == ("renewed", 3000, "USD")
    invoice_id = renewal_invoice_id("acme", "sub_pro", T0, datetime(2024, 2, 1, tzinfo=UTC))
    assert world.payments.charges == [{"amount": 3000, "currency": "USD", "method": "pm_card",
                                       "key": f"invoice:{invoice_id}"}]
    renewed = _current(world)
    assert (renewed.current_period_start, renewed.current_period_end, renewed.status) == (
        datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC), "active")
    item = world.table.get(ACME.pk, SUBSCRIPTION_SK)
    assert item and item["GSI1PK"] == due_pk(date(2024, 3, 1))
    [invoice] = _invoices(world)
    assert (invoice.id, invoice.number, invoice.status, invoice.amount_due, invoice.amount_paid,
            invoice.payment_id) == (
        invoice_id, "INV-2024-000001", "paid", 3000, 3000, "pi_1")
    assert (invoice.period_start, invoice.period_end) == (T0, datetime(2024, 2, 1, tzinfo=UTC))
    [fee] = invoice.lines
    assert (fee.kind, fee.amount, fee.period_start) == ("subscription", 3000, datetime(2024, 2, 1, tzinfo=UTC))
    assert [e["data"]["invoice_id"] for e in world.events("acme", "invoice.finalized")] == [invoice_id]
    assert len(world.events("acme", "invoice.paid")) == 1
    [paid] = world.events("acme", "payment.succeeded")
    assert paid["data"]["actor"] == "billing-run" and paid["data"]["amount"] == 3000
    assert paid["data"]["target"] == "sub_pro" and {"request_id", "source_ip"} <= set(paid["data"])


def test_running_the_same_day_again_changes_nothing(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _card(world)
    ends.close_period(ACME, "sub_pro", date(2024, 2, 1))
    before = _current(world)
    again = ends.close_period(ACME, "sub_pro", date(2024, 2, 1))
    assert again.status == "skipped" and "not due" in again.reason
    assert len(world.payments.charges) == 1 and _current(world) == before
    assert len(world.events("acme", "payment.succeeded")) == 1 and len(_invoices(world)) == 1


def test_nothing_happens_before_the_period_ends(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _card(world)
    assert ends.close_period(ACME, "sub_pro", date(2024, 1, 31)).status == "skipped"
    assert not world.payments.charges


def test_a_month_end_anchor_rolls_from_the_anchor(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=datetime(2024, 1, 31, tzinfo=UTC))
    _card(world)
    assert ends.close_period(ACME, "sub_pro", date(2024, 2, 29)).status == "renewed"
    renewed = _current(world)
    assert (renewed.current_period_start, renewed.current_period_end) == (
        datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC))


def test_a_scheduled_downgrade_applies_and_the_new_plan_is_charged(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "biz", "price_biz_m", anchor=T0)
    _card(world)
    world.clock.now = datetime(2024, 1, 20, tzinfo=UTC)
    world.service.change(world.actor(), ChangeRequest(plan_code="pro"))
    result = ends.close_period(ACME, "sub_biz", date(2024, 2, 1))
    assert (result.status, result.amount) == ("applied", 3000)
    applied = _current(world)
    assert (applied.plan_code, applied.price_id, applied.scheduled_change) == ("pro", "price_pro_m", None)
    assert applied.current_period_end == datetime(2024, 3, 1, tzinfo=UTC)
    assert [e["data"]["change"] for e in world.events("acme", "subscription.updated")].count("scheduled") == 1


def test_cancel_at_period_end_ends_it_without_a_charge(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _card(world)
    world.service.cancel(world.actor(), CancelRequest(at_period_end=True))
    result = ends.close_period(ACME, "sub_pro", date(2024, 2, 1))
    assert result.status == "canceled" and not world.payments.charges and not _invoices(world)
    now_on = _current(world)
    assert now_on.plan_code == "free" and now_on.current_period_start == datetime(2024, 2, 1, tzinfo=UTC)
    assert len(world.events("acme", "subscription.canceled")) == 1
    assert ends.close_period(ACME, "sub_pro", date(2024, 2, 1)).status == "skipped"


def test_a_declined_renewal_is_past_due_and_keeps_the_plan(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _card(world)
    world.payments.decline = True
    result = ends.close_period(ACME, "sub_pro", date(2024, 2, 1))
    assert (result.status, result.payment_id) == ("past_due", "pi_declined")
    late = _current(world)
    assert late.status == "past_due" and late.current_period_end == datetime(2024, 3, 1, tzinfo=UTC)
    [failed] = world.events("acme", "payment.failed")
    assert failed["data"]["reason"] == "Your card was declined." and failed["data"]["amount"] == 3000
    [unpaid] = _invoices(world)
    assert (unpaid.status, unpaid.amount_due, unpaid.amount_paid, unpaid.payment_error) == (
        "open", 3000, 0, "Your card was declined.")
    assert len(world.events("acme", "invoice.payment_failed")) == 1
    features = {e.feature: e for e in world.service.entitlements(world.actor())}
    assert features["projects"].limit == 50
    # The next period end tries again; a success brings it back to active.
    world.payments.decline = False
    assert ends.close_period(ACME, "sub_pro", date(2024, 3, 1)).status == "renewed"
    assert _current(world).status == "active"


def test_without_a_saved_card_the_renewal_is_past_due(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    result = ends.close_period(ACME, "sub_pro", date(2024, 2, 1))
    assert result.status == "past_due" and result.reason.endswith("no saved card")
    assert not world.payments.charges and len(world.events("acme", "payment.failed")) == 1


def test_a_free_plan_rolls_forward_without_a_charge(world: World, ends: PeriodEnds) -> None:
    free = world.service.current(world.actor())
    result = ends.close_period(ACME, free.id, free.current_period_end.date())
    assert (result.status, result.amount) == ("renewed", 0)
    assert not world.payments.charges and not _invoices(world)
    assert not world.events("acme", "subscription.updated")


def test_coupon_periods_count_down_at_renewal(world: World, ends: PeriodEnds) -> None:
    _card(world)
    subscribed = world.service.subscribe(world.actor(),
                                         SubscribeRequest(plan_code="pro", coupon="quarter")).subscription
    assert ends.close_period(ACME, subscribed.id, date(2024, 2, 1)).amount == 3000
    coupon = _current(world).coupon
    assert coupon and coupon.periods_left == 0


def test_a_forever_coupon_discounts_every_renewal(world: World, ends: PeriodEnds) -> None:
    _card(world)
    subscribed = world.service.subscribe(world.actor(),
                                         SubscribeRequest(plan_code="pro", coupon="ONLYONE")).subscription
    assert ends.close_period(ACME, subscribed.id, date(2024, 2, 1)).amount == 2500
    assert ends.close_period(ACME, subscribed.id, date(2024, 3, 1)).amount == 2500


def test_a_trial_is_warned_once_three_days_before_and_charged_at_its_end(world: World,
                                                                           ends: PeriodEnds) -> None:
    _card(world)
    trial = world.service.subscribe(world.actor(), SubscribeRequest(plan_code="trial")).subscription
    assert ends.warn_trial_ending(ACME, trial.id, date(2024, 1, 11)).status == "skipped"
    assert ends.warn_trial_ending(ACME, trial.id, date(2024, 1, 12)).status == "notified"
    assert ends.warn_trial_ending(ACME, trial.id, date(2024, 1, 12)).status == "skipped"
    [warned] = world.events("acme", "trial.ending")
    assert warned["data"]["trial_end"] == "2024-01-15T00:00:00+00:00"
    assert ends.close_period(ACME, trial.id, date(2024, 1, 14)).status == "skipped"
    result = ends.close_period(ACME, trial.id, date(2024, 1, 15))
    assert (result.status, result.amount) == ("renewed", 2000)
    paying = _current(world)
    assert (paying.status, paying.current_period_start, paying.current_period_end) == (
        "active", datetime(2024, 1, 15, tzinfo=UTC), datetime(2024, 2, 15, tzinfo=UTC))
    assert [e["data"]["change"] for e in world.events("acme", "subscription.updated")] == ["trial_ended"]


class _RacingPayments(FakePayments):
    """The first charge lets another run close the same period before the first one writes."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.raced = False

    def charge(self, customer_id: str, amount_minor: int, currency: str, *, payment_method: str | None,
               description: str, metadata: Mapping[str, str], idempotency_key: str) -> Charge:
        answer = super().charge(customer_id, amount_minor, currency, payment_method=payment_method,
                                description=description, metadata=metadata, idempotency_key=idempotency_key)
        if not self.raced:
            self.raced = True
            _ends(self.world).close_period(ACME, "sub_pro", date(2024, 2, 1))
        return answer


def test_a_run_that_loses_the_race_writes_nothing_more(world: World, ends: PeriodEnds) -> None:
    racing = _RacingPayments(world)
    world.service.collection.payments = lambda: racing
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _card(world)
    result = ends.close_period(ACME, "sub_pro", date(2024, 2, 1))
    assert result.status == "skipped"
    # Both charged under one key: the provider answers the second with the first payment.
    assert {c["key"] for c in racing.charges} == {
        f"invoice:{renewal_invoice_id('acme', 'sub_pro', T0, datetime(2024, 2, 1, tzinfo=UTC))}"}
    assert len(_invoices(world)) == 1 and len(world.events("acme", "payment.succeeded")) == 1
    assert _current(world).current_period_end == datetime(2024, 3, 1, tzinfo=UTC)


def test_a_provider_outage_writes_nothing_and_a_rerun_retries(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _card(world)
    healthy = world.service.collection.payments

    def down() -> Any:
        raise PaymentProviderUnavailable("stripe is down")

    world.service.collection.payments = down
    assert ends.close_period(ACME, "sub_pro", date(2024, 2, 1)).status == "error"
    assert _current(world).current_period_end == datetime(2024, 2, 1, tzinfo=UTC)
    world.service.collection.payments = healthy
    assert ends.close_period(ACME, "sub_pro", date(2024, 2, 1)).status == "renewed"


def test_a_replaced_subscription_is_skipped(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    assert ends.close_period(ACME, "sub_other", date(2024, 2, 1)).status == "skipped"
    assert ends.close_period(TenantContext("nobody"), "sub_pro", date(2024, 2, 1)).status == "skipped"


def test_plan_lists_the_due_day_and_the_trials_ending_three_days_later(world: World) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    world.service.subscribe(world.actor("globex"), SubscribeRequest(plan_code="trial"))
    due = DynamoDueSubscriptions(world.table)
    planned = run.plan(run.RunInput(run_date=date(2024, 1, 12)), due)
    assert [(s["tenant_id"], s["step"]) for s in planned["subscriptions"]] == [("globex", "trial_ending")]
    planned = run.plan(run.RunInput(run_date=date(2024, 2, 1)), due)
    assert [(s["tenant_id"], s["subscription_id"], s["step"]) for s in planned["subscriptions"]] == [
        ("acme", "sub_pro", "period_end")]


def test_bill_answers_what_it_did(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _card(world)
    answer = run.bill({"tenant_id": "acme", "subscription_id": "sub_pro", "step": "period_end"},
                      run.RunInput(run_date=date(2024, 2, 1)), ends)
    assert answer["step"] == "period_end" and answer["status"] == "renewed" and answer["amount"] == 3000
    assert answer["period_end"] == "2024-03-01T00:00:00Z"
    with pytest.raises(ValueError):
        run.bill({"subscription_id": "sub_pro"}, run.RunInput(run_date=date(2024, 2, 1)), ends)


def test_a_cancel_that_loses_the_race_is_read_again(world: World, ends: PeriodEnds,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    world.service.cancel(world.actor(), CancelRequest(at_period_end=True))
    end = world.service.end_ops
    raced: list[bool] = []

    def other_run_first(current: Subscription, now: datetime, audit: dict[str, Any]) -> Any:
        if not raced:
            raced.append(True)
            _ends(world).close_period(ACME, "sub_pro", date(2024, 2, 1))
        return end(current, now, audit)

    monkeypatch.setattr(world.service, "end_ops", other_run_first)
    result = ends.close_period(ACME, "sub_pro", date(2024, 2, 1))
    assert result.status == "skipped" and result.reason.startswith("replaced by")
    assert len(world.events("acme", "subscription.canceled")) == 1
