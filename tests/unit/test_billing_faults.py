"""Faults in a period end's invoice and charge (issue #11): a Stripe 500 on the charge, a crash after the charge
but before its record, a crash after the record is written, and a crash between a dunning retry's charge and
its settlement each end with exactly one invoice and at most one payment at the provider.

The order that makes this hold (``wrapper.billing.renewal``): the invoice's id is fixed by what it bills, the
charge's idempotency key is that id, and the invoice is written in the same transaction as the subscription's
next period, after the charge. A crash anywhere leaves either nothing written (the rerun charges again under
the same key, which the provider answers with the first payment) or everything written (the rerun finds the
period closed). The billing run's state machine retries a failed task and reports it if it keeps failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.unit import subscription_world
from tests.unit.fakes import FakePayments
from tests.unit.subscription_world import T0, World, on_plan
from wrapper.billing.renewal import PeriodEnds
from wrapper.billing.wiring import period_ends_for
from wrapper.invoices.models import Invoice
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.port import Charge, PaymentProviderUnavailable
from wrapper.settings import Settings
from wrapper.store.schema import BILLING_SK, tenant_pk

ACME = TenantContext("acme")
FEB_1 = date(2024, 2, 1)
world = subscription_world.world


class Crash(Exception):
    """The function dies here (a timeout, an out-of-memory kill): nothing after it runs."""


@pytest.fixture
def ends(world: World) -> PeriodEnds:
    world.table.put({"PK": tenant_pk("acme"), "SK": BILLING_SK, "stripe_customer_id": "cus_acme",
                     "default_payment_method": "pm_card"})
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    return period_ends_for(Settings(), world.table, world.service)


def _invoices(ends: PeriodEnds) -> list[Invoice]:
    return ends.rating.invoices.page(ACME, limit=10, cursor=None).items


class _FailingOnce(FakePayments):
    """Stripe answers the first charge with a 500 (the adapter's PaymentProviderUnavailable), then recovers."""

    failed = False

    def charge(self, customer_id: str, amount_minor: int, currency: str, *, payment_method: str | None,
               description: str, metadata: Mapping[str, str], idempotency_key: str) -> Charge:
        if not self.failed:
            self.failed = True
            raise PaymentProviderUnavailable("Stripe answered 500")
        return super().charge(customer_id, amount_minor, currency, payment_method=payment_method,
                              description=description, metadata=metadata, idempotency_key=idempotency_key)


def test_a_stripe_500_on_the_charge_writes_nothing_and_the_rerun_invoices_and_charges_once(
        world: World, ends: PeriodEnds) -> None:
    flaky = _FailingOnce()
    world.service.collection.payments = lambda: flaky

    assert ends.close_period(ACME, "sub_pro", FEB_1).status == "error"
    assert _invoices(ends) == [] and flaky.charges == []

    assert ends.close_period(ACME, "sub_pro", FEB_1).status == "renewed"
    [invoice] = _invoices(ends)
    assert (invoice.status, [c["amount"] for c in flaky.charges]) == ("paid", [3000])


def test_a_crash_after_the_charge_before_its_record_charges_once_and_invoices_once(
        world: World, ends: PeriodEnds, monkeypatch: pytest.MonkeyPatch) -> None:
    write = ends.store.write

    def crash_before_writing(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(ends.store, "write", write)  # the next attempt (the state machine's retry) runs whole
        raise Crash

    monkeypatch.setattr(ends.store, "write", crash_before_writing)
    with pytest.raises(Crash):
        ends.close_period(ACME, "sub_pro", FEB_1)
    assert _invoices(ends) == [] and len(world.payments.charges) == 1

    assert ends.close_period(ACME, "sub_pro", FEB_1).status == "renewed"

    [invoice] = _invoices(ends)
    first, again = world.payments.charges
    assert first["key"] == again["key"] == f"invoice:{invoice.id}"  # the provider answered the first payment
    assert invoice.payment_id == world.payments.payment_of_key[first["key"]]


def test_a_crash_after_the_invoice_is_written_leaves_it_and_the_rerun_does_nothing(
        world: World, ends: PeriodEnds, monkeypatch: pytest.MonkeyPatch) -> None:
    write = ends.store.write

    def crash_after_writing(*args: Any, **kwargs: Any) -> None:
        write(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(ends.store, "write", crash_after_writing)
    with pytest.raises(Crash):
        ends.close_period(ACME, "sub_pro", FEB_1)
    monkeypatch.setattr(ends.store, "write", write)

    assert ends.close_period(ACME, "sub_pro", FEB_1).status == "skipped"
    assert len(_invoices(ends)) == 1 and len(world.payments.charges) == 1


def test_a_crash_between_a_dunning_retry_and_its_settlement_pays_once(
        world: World, ends: PeriodEnds, monkeypatch: pytest.MonkeyPatch) -> None:
    world.payments.decline = True
    assert ends.close_period(ACME, "sub_pro", FEB_1).status == "past_due"
    world.payments.decline = False
    [open_invoice] = _invoices(ends)
    dunning = ends.dunning
    assert dunning is not None
    settle = dunning.settlement.settle

    def crash_before_settling(*args: Any, **kwargs: Any) -> str:
        monkeypatch.setattr(dunning.settlement, "settle", settle)
        raise Crash

    monkeypatch.setattr(dunning.settlement, "settle", crash_before_settling)
    world.clock.now = datetime(2024, 2, 4, 2, tzinfo=UTC)
    with pytest.raises(Crash):
        ends.collect(ACME, open_invoice.id, date(2024, 2, 4))

    assert ends.collect(ACME, open_invoice.id, date(2024, 2, 4))["status"] == "collected"

    [paid] = _invoices(ends)
    first, again = world.payments.charges
    assert first["key"] == again["key"] and paid.payment_id == world.payments.payment_of_key[first["key"]]
    assert paid.status == "paid" and world.service.current(world.actor()).status == "active"
