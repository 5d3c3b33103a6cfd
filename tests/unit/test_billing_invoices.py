"""Invoices from the billing run, against moto and the fake payment provider.

Worked example (USD, minor units): pro costs 3000 a month in advance, and a graduated usage price on the
``tokens`` meter gives the first 1000 tokens of a period free and charges 0.5 a token after. acme (in France,
TVA 20% exclusive) uses 3001 tokens in [Jan 1, Feb 1). The run for Feb 1 issues one invoice:

| line | quantity | amount | tax |
|---|---|---|---|
| pro fee for [Feb 1, Mar 1) | 1 | 3000 | 600 |
| tokens for [Jan 1, Feb 1): 2001 x 0.5 = 1000.5 | 3001 | 1001 | 200 (200.2) |

subtotal 4001, tax 800, total 4801, paid on the saved card.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.unit import subscription_world
from tests.unit.subscription_world import T0, World, on_plan
from wrapper.billing.renewal import PeriodEnds
from wrapper.billing.wiring import period_ends_for
from wrapper.catalog.models import Aggregation, Meter, Price, TaxRate
from wrapper.catalog.store import item_of
from wrapper.invoices.models import Invoice
from wrapper.kernel.tenant import TenantContext
from wrapper.money.periods import MONTHLY
from wrapper.money.pricing import PriceSpec
from wrapper.settings import Settings
from wrapper.store.schema import BILLING_SK, PROFILE_SK, meter_sk, price_sk, tax_rate_sk, tenant_pk
from wrapper.subscriptions.models import CancelRequest
from wrapper.tenancy.profile import Address, BillingDetails
from wrapper.usage.logic import measure
from wrapper.usage.models import UsageEvent
from wrapper.usage.store import UsageStore

ACME = TenantContext("acme")
FEB_1 = datetime(2024, 2, 1, tzinfo=UTC)
TOKENS = Meter(code="tokens", name="Tokens", event_name="llm.call", aggregation=Aggregation.SUM, property="tokens")
world = subscription_world.world


@pytest.fixture
def ends(world: World) -> PeriodEnds:
    table = world.table
    table.put(item_of(TOKENS, meter_sk("tokens"), "meter"))
    spec = PriceSpec.model_validate({"model": "graduated", "currency": "USD", "meter": "tokens", "tiers": [
        {"up_to": 1000, "unit_amount": "0"}, {"up_to": None, "unit_amount": "0.5"}]})
    usage_price = Price(id="price_pro_tokens", plan_id="plan_pro", version=2, interval=MONTHLY, spec=spec,
                        created_at=T0)
    table.put(item_of(usage_price, price_sk("plan_pro", usage_price.id), "price"))
    table.put(item_of(TaxRate(id="txr_fr", name="TVA", percentage=Decimal(20), country="FR"),
                      tax_rate_sk("txr_fr"), "tax_rate"))
    return period_ends_for(Settings(), table, world.service)


def _customer(world: World, tenant: str, country: str | None) -> None:
    details = BillingDetails(legal_name=f"{tenant} SAS", address=Address(country=country) if country else None)
    world.table.put({"PK": tenant_pk(tenant), "SK": PROFILE_SK, "billing_details": details.model_dump_json()})
    world.table.put({"PK": tenant_pk(tenant), "SK": BILLING_SK, "stripe_customer_id": f"cus_{tenant}",
                     "default_payment_method": "pm_card"})


def _use(world: World, tenant: str, tokens: int, at: datetime, n: int = 1) -> None:
    event = UsageEvent(event_id=f"{tenant}-{n}", name="llm.call", timestamp=at, properties={"tokens": tokens})
    value = measure(TOKENS, event)
    assert value is not None
    UsageStore(world.table).record(TenantContext(tenant), event, [(TOKENS, value)], T0, at.timestamp(),
                                   {"tokens": TOKENS})


def _invoices(ends: PeriodEnds, tenant: str = "acme") -> list[Invoice]:
    return ends.rating.invoices.page(TenantContext(tenant), limit=100, cursor=None).items


def test_the_run_invoices_the_ending_periods_usage_and_the_next_fee_taxed_for_the_country(
        world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _customer(world, "acme", "FR")
    _use(world, "acme", 1000, datetime(2024, 1, 10, tzinfo=UTC), 1)
    _use(world, "acme", 2001, datetime(2024, 1, 31, 23, tzinfo=UTC), 2)

    result = ends.close_period(ACME, "sub_pro", date(2024, 2, 1))

    [invoice] = _invoices(ends)
    assert (result.status, result.amount, result.invoice_id) == ("renewed", 4801, invoice.id)
    assert [(line.kind, line.meter, line.quantity, line.amount, line.tax_amount) for line in invoice.lines] == [
        ("subscription", None, 1, 3000, 600), ("usage", "tokens", 3001, 1001, 200)]
    assert (invoice.lines[0].period_start, invoice.lines[1].period_start) == (FEB_1, T0)
    assert (invoice.subtotal, invoice.discount, invoice.tax, invoice.total, invoice.amount_due) == (
        4001, 0, 800, 4801, 4801)
    assert (invoice.number, invoice.status, invoice.amount_paid, invoice.issued_at) == (
        "INV-2024-000001", "paid", 4801, FEB_1)
    [tax] = invoice.taxes
    assert (tax.rate_id, tax.taxable_amount, tax.amount) == ("txr_fr", 4001, 800)
    assert invoice.customer and invoice.customer.legal_name == "acme SAS"
    assert world.payments.charges[0]["amount"] == 4801


def test_without_a_billing_address_no_tax_applies(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _customer(world, "acme", None)
    ends.close_period(ACME, "sub_pro", date(2024, 2, 1))
    [invoice] = _invoices(ends)
    assert (invoice.tax, invoice.taxes, invoice.total) == (0, [], 3000)
    assert [line.quantity for line in invoice.lines] == [1, 0]  # the usage line, at the first tier's 0


def test_numbers_run_without_gaps_across_tenants_and_a_lost_race_takes_the_next(
        world: World, ends: PeriodEnds, monkeypatch: pytest.MonkeyPatch) -> None:
    for tenant in ("acme", "globex", "initech"):
        on_plan(world, "pro", "price_pro_m", anchor=T0, tenant=tenant)
        _customer(world, tenant, "FR")
    ends.close_period(ACME, "sub_pro", date(2024, 2, 1))
    # Another run numbers globex's invoice between initech's read of the counter and its write.
    store = ends.rating.invoices
    take = store.next_number
    raced: list[bool] = []

    def another_run_first(at: datetime) -> tuple[str, dict[str, Any]]:
        taken = take(at)
        if not raced:
            raced.append(True)
            ends.close_period(TenantContext("globex"), "sub_pro", date(2024, 2, 1))
        return taken

    monkeypatch.setattr(store, "next_number", another_run_first)
    assert ends.close_period(TenantContext("initech"), "sub_pro", date(2024, 2, 1)).status == "renewed"

    numbers = {t: [i.number for i in _invoices(ends, t)] for t in ("acme", "globex", "initech")}
    assert numbers == {"acme": ["INV-2024-000001"], "globex": ["INV-2024-000002"], "initech": ["INV-2024-000003"]}
    # The lost write charged again under the same key: the provider answers it with the first payment.
    assert len({c["key"] for c in world.payments.charges}) == 3


def test_a_period_end_that_never_gets_a_number_is_an_error_result_not_a_failed_run(
        world: World, ends: PeriodEnds, monkeypatch: pytest.MonkeyPatch) -> None:
    # Under the Map's concurrency every number globex reads can be taken first; past the attempts, the task
    # answers an error for that subscription (raising would fail the Map, and the whole run with it).
    for tenant in ("acme", "globex"):
        on_plan(world, "pro", "price_pro_m", anchor=T0, tenant=tenant)
        _customer(world, tenant, "FR")
    store = ends.rating.invoices
    stale = store.next_number(FEB_1)  # the first number, taken by acme below
    assert ends.close_period(ACME, "sub_pro", date(2024, 2, 1)).status == "renewed"
    monkeypatch.setattr(store, "next_number", lambda at: stale)

    result = ends.close_period(TenantContext("globex"), "sub_pro", date(2024, 2, 1))

    assert (result.status, result.invoice_id) == ("error", None)
    assert "nothing was written" in result.reason
    assert _invoices(ends, "globex") == []
    assert world.service.store.current(TenantContext("globex")).current_period_end == FEB_1
    # Running the day again numbers it, and its charge is answered by the same key.
    monkeypatch.undo()
    assert ends.close_period(TenantContext("globex"), "sub_pro", date(2024, 2, 1)).status == "renewed"
    assert [i.number for i in _invoices(ends, "globex")] == ["INV-2024-000002"]
    assert len({c["key"] for c in world.payments.charges}) == 2


def test_a_month_end_anchor_in_a_non_utc_zone_bills_its_local_periods(world: World, ends: PeriodEnds) -> None:
    # Jan 31 00:00 in New York is 05:00 UTC; the next period ends Mar 31 00:00 EDT (04:00 UTC, after DST).
    on_plan(world, "pro", "price_pro_m", anchor=datetime(2024, 1, 31, 5, tzinfo=UTC), timezone="America/New_York")
    _customer(world, "acme", None)
    ends.close_period(ACME, "sub_pro", date(2024, 2, 29))
    [invoice] = _invoices(ends)
    assert (invoice.period_start, invoice.period_end) == (datetime(2024, 1, 31, 5, tzinfo=UTC),
                                                          datetime(2024, 2, 29, 5, tzinfo=UTC))
    [fee, _] = invoice.lines
    assert (fee.period_start, fee.period_end) == (datetime(2024, 2, 29, 5, tzinfo=UTC),
                                                  datetime(2024, 3, 31, 4, tzinfo=UTC))
    assert invoice.number == "INV-2024-000001"


def test_a_deleted_tenants_subscription_ends_at_its_period_end_with_its_usage_invoiced_once(
        world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _customer(world, "acme", None)
    _use(world, "acme", 3001, datetime(2024, 1, 20, tzinfo=UTC))
    profile = world.table.get(tenant_pk("acme"), PROFILE_SK)
    world.table.put({**(profile or {}), "status": "deleted"})

    result = ends.close_period(ACME, "sub_pro", date(2024, 2, 1))

    assert result.status == "canceled" and "deleted" in result.reason
    [final] = _invoices(ends)
    assert [(line.kind, line.amount) for line in final.lines] == [("usage", 1001)]  # no fee for a next period
    assert (final.status, final.amount_paid) == ("paid", 1001)
    assert [c["amount"] for c in world.payments.charges] == [1001]
    now_on = world.service.store.current(ACME)
    assert now_on is not None and now_on.plan_code == "free"
    assert ends.close_period(ACME, "sub_pro", date(2024, 2, 1)).status == "skipped"
    assert len(_invoices(ends)) == 1 and len(world.payments.charges) == 1


def test_a_deleted_tenant_without_usage_is_never_charged_again(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "biz", "price_biz_m", anchor=T0)
    _customer(world, "acme", None)
    profile = world.table.get(tenant_pk("acme"), PROFILE_SK)
    world.table.put({**(profile or {}), "status": "deleted"})

    assert ends.close_period(ACME, "sub_biz", date(2024, 2, 1)).status == "canceled"
    assert not world.payments.charges and _invoices(ends) == []


def test_a_subscription_canceled_at_its_period_end_has_its_last_usage_invoiced(world: World, ends: PeriodEnds) -> None:
    on_plan(world, "pro", "price_pro_m", anchor=T0)
    _customer(world, "acme", None)
    _use(world, "acme", 1500, datetime(2024, 1, 20, tzinfo=UTC))
    world.service.cancel(world.actor(), CancelRequest(at_period_end=True))

    assert ends.close_period(ACME, "sub_pro", date(2024, 2, 1)).status == "canceled"
    [final] = _invoices(ends)
    assert [(line.kind, line.quantity, line.amount) for line in final.lines] == [("usage", 1500, 250)]
