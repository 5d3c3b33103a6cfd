"""The credit wallet: spending order, overdraft, expiry and grants as arithmetic (with the ledger
always explaining the balance), then against moto: a grant once per reference, concurrent writers,
and usage events charged exactly once through the usage store."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from localcloud.dynamodb import patch_transactions
from tests.unit.builders import wrapper_table
from wrapper.catalog.models import Aggregation, Meter
from wrapper.credits.logic import ZERO, GrantState, WalletState, add_grant, consume, expire, spending_order
from wrapper.credits.service import Credits
from wrapper.credits.store import WalletStore
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import PermissionDenied
from wrapper.kernel.permissions import Permission
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import OUTBOX_SK_PREFIX
from wrapper.usage.models import UsageEvent
from wrapper.usage.store import UsageStore

D = Decimal
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
TENANT = TenantContext(tenant_id="01J" + "1" * 23)
OTHER = TenantContext(tenant_id="01J" + "2" * 23)


def _grant(gid: str, amount: int | str, *, priority: int = 50, expires: datetime | None = None,
           created: datetime = NOW) -> GrantState:
    return GrantState(id=gid, amount=D(amount), remaining=D(amount), priority=priority, expires_at=expires,
                      created_at=created, source="operator")


def _with(*grants: GrantState) -> WalletState:
    state = WalletState()
    for grant in grants:
        state, _ = add_grant(state, grant, NOW)
    return state


# -- arithmetic ----------------------------------------------------------------------------------------------------

def test_grants_are_spent_by_priority_then_earliest_expiry_then_age() -> None:
    later = NOW + timedelta(days=30)
    grants = [_grant("no-expiry", 10), _grant("late", 10, expires=later + timedelta(days=1)),
              _grant("soon", 10, expires=later), _grant("first", 10, priority=1),
              _grant("older-no-expiry", 10, created=NOW - timedelta(days=1))]
    assert [g.id for g in spending_order(grants)] == ["first", "soon", "late", "older-no-expiry", "no-expiry"]


def test_consumption_takes_grants_in_order_and_says_what_it_took_from_each() -> None:
    state = _with(_grant("a", 5, priority=1), _grant("b", 10, priority=2))
    after, moves = consume(state, D(7), ZERO, NOW, event_id="e1", meter="api_calls")
    assert [(g.id, g.remaining) for g in after.grants] == [("b", D(8))]
    assert [(m.kind, m.amount, m.balance_after, m.spent) for m in moves] == [
        ("consumption", D(-7), D(8), {"a": D(5), "b": D(2)})]


def test_without_overdraft_the_balance_stops_at_zero_and_the_rest_is_not_taken() -> None:
    after, moves = consume(_with(_grant("a", 3)), D(10), ZERO, NOW, event_id="e1")
    assert after.balance == 0 and [m.amount for m in moves] == [D(-3)]
    after, moves = consume(after, D(1), ZERO, NOW, event_id="e2")
    assert after.balance == 0 and moves == []  # nothing to take: no entry


def test_an_overdraft_lets_the_balance_go_that_far_below_zero_and_a_grant_repays_it_first() -> None:
    state, _ = consume(_with(_grant("a", 3)), D(10), D(5), NOW, event_id="e1")
    assert (state.balance, state.debt) == (D(-5), D(5))
    state, moves = consume(state, D(1), D(5), NOW, event_id="e2")
    assert state.balance == D(-5) and moves == []
    state, moves = add_grant(state, _grant("b", 8), NOW)
    assert (state.balance, state.debt, [(g.id, g.remaining) for g in state.grants]) == (D(3), ZERO, [("b", D(3))])
    assert [(m.kind, m.amount, m.balance_after) for m in moves] == [("grant", D(8), D(3))]


def test_an_expired_grant_leaves_with_an_expiry_entry_before_anything_else_moves() -> None:
    state = _with(_grant("old", 4, expires=NOW + timedelta(hours=1)), _grant("new", 6))
    later = NOW + timedelta(hours=2)
    after, moves = consume(state, D(1), ZERO, later, event_id="e1")
    assert [(m.kind, m.amount, m.balance_after) for m in moves] == [("expiry", D(-4), D(6)),
                                                                    ("consumption", D(-1), D(5))]
    assert [g.id for g in after.grants] == ["new"]
    assert expire(after, later)[1] == []  # once


def test_costs_are_kept_to_six_decimals_rounding_half_to_even() -> None:
    after, moves = consume(_with(_grant("a", 1)), D("0.0000025"), ZERO, NOW, event_id="e1")
    assert moves[0].amount == D("-0.000002") and after.balance == D("0.999998")


operations = st.lists(st.one_of(
    st.tuples(st.just("grant"), st.integers(1, 500), st.integers(0, 3), st.none() | st.integers(1, 48)),
    st.tuples(st.just("consume"), st.decimals(0, 300, places=3), st.just(0), st.none()),
    st.tuples(st.just("wait"), st.integers(1, 24), st.just(0), st.none())), max_size=40)


@settings(max_examples=200, deadline=None)
@given(ops=operations, overdraft=st.sampled_from([ZERO, D(25)]))
def test_the_balance_always_equals_the_sum_of_the_ledger_and_stays_above_the_overdraft(
        ops: list[tuple[str, Any, int, int | None]], overdraft: Decimal) -> None:
    state, ledger, now = WalletState(), ZERO, NOW
    for n, (kind, amount, priority, hours) in enumerate(ops):
        if kind == "grant":
            expires = now + timedelta(hours=hours) if hours else None
            state, moves = add_grant(state, _grant(f"g{n}", amount, priority=priority, expires=expires,
                                                   created=now), now)
        elif kind == "consume":
            state, moves = consume(state, amount, overdraft, now, event_id=f"e{n}")
        else:
            now += timedelta(hours=amount)
            continue
        for move in moves:
            ledger += move.amount
            assert move.balance_after == ledger
        assert state.balance == ledger
        assert state.balance >= -overdraft
        assert all(g.remaining > 0 for g in state.grants)
        assert state.debt == 0 or not state.grants  # a debt is repaid before a grant keeps credits


# -- against moto --------------------------------------------------------------------------------------------------

@pytest.fixture
def credits() -> Iterator[Credits]:
    patch_transactions()
    with mock_aws():
        table = wrapper_table(boto3.client("dynamodb", region_name="us-east-1"))
        yield Credits(WalletStore(table), clock=lambda: NOW)


def _reader(tenant: TenantContext = TENANT) -> Actor:
    return Actor(tenant=tenant, user_id="u", permissions=frozenset({Permission.BILLING_READ}))


def test_a_grant_for_the_same_reference_happens_once(credits: Credits) -> None:
    first = credits.grant(TENANT, 100, source="purchase", reference="pi_123", by="u")
    again = credits.grant(TENANT, 100, source="purchase", reference="pi_123", by="u")
    assert first.id == again.id and first.remaining == again.remaining == D(100)
    wallet = credits.wallet(_reader())
    assert wallet.balance == D(100) and [g.id for g in wallet.grants] == [first.id]
    assert [e.kind for e in credits.ledger(_reader(), None, None).items] == ["grant"]


def test_grants_racing_on_one_wallet_all_land_and_the_ledger_adds_up(credits: Credits) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda n: credits.grant(TENANT, 10 + n, source="operator", reference=f"r{n}", by="op"),
                      range(12)))
    assert credits.wallet(_reader()).balance == sum(D(10 + n) for n in range(12))
    assert credits.store.ledger_total(TENANT) == credits.wallet(_reader()).balance


def test_reading_a_wallet_with_an_expired_grant_writes_its_expiry_once(credits: Credits) -> None:
    credits.grant(TENANT, 40, source="operator", reference="short", by="op", expires_at=NOW + timedelta(days=1))
    credits.grant(TENANT, 60, source="operator", reference="long", by="op")
    credits.clock = lambda: NOW + timedelta(days=2)
    assert credits.wallet(_reader()).balance == D(60)
    assert credits.wallet(_reader()).balance == D(60)
    kinds = [(e.kind, e.amount) for e in credits.ledger(_reader(), None, None).items]
    assert kinds == [("expiry", D(-40)), ("grant", D(60)), ("grant", D(40))]  # newest first


def test_the_wallet_needs_billing_read_and_is_the_callers_tenants_only(credits: Credits) -> None:
    credits.grant(TENANT, 5, source="operator", reference="mine", by="op")
    with pytest.raises(PermissionDenied):
        credits.wallet(Actor(tenant=TENANT, user_id="u", permissions=frozenset({Permission.USAGE_READ})))
    assert credits.wallet(_reader(OTHER)).balance == 0
    assert credits.ledger(_reader(OTHER), None, None).items == []


API_CALLS = Meter(code="api_calls", event_name="api_call", aggregation=Aggregation.COUNT)


def _record(store: UsageStore, credits: Credits, event_id: str, *, charges: Any = None) -> bool:
    event = UsageEvent(event_id=event_id, name="api_call", timestamp=NOW, properties={})
    charges = charges or credits.charges(TENANT, D(0))
    return store.record(TENANT, event, [(API_CALLS, D(1))], NOW.replace(day=1), NOW.timestamp(),
                        {"api_calls": API_CALLS}, charges.charge(D("2.5"), event_id, "api_calls"))


def test_a_usage_event_is_charged_in_its_own_transaction_once_even_when_sent_again(credits: Credits) -> None:
    store = UsageStore(credits.store.table)
    credits.grant(TENANT, 10, source="operator", reference="g", by="op")
    assert _record(store, credits, "e1") is True
    assert _record(store, credits, "e1") is False  # a duplicate: counted once, charged once
    assert credits.wallet(_reader()).balance == D("7.5")
    entries = credits.ledger(_reader(), None, None).items
    assert (entries[0].kind, entries[0].event_id, entries[0].amount) == ("consumption", "e1", D("-2.5"))


def test_a_crash_after_the_event_committed_does_not_charge_twice_on_retry(credits: Credits) -> None:
    def crash(point: str) -> None:
        if point == "event_committed":
            raise RuntimeError("the function died here")

    credits.grant(TENANT, 10, source="operator", reference="g", by="op")
    with pytest.raises(RuntimeError):
        _record(UsageStore(credits.store.table, faults=crash), credits, "e1")
    assert _record(UsageStore(credits.store.table), credits, "e1") is False
    assert credits.wallet(_reader()).balance == D("7.5")


def test_concurrent_batches_with_stale_wallets_charge_every_event_exactly_once(credits: Credits) -> None:
    store = UsageStore(credits.store.table)
    credits.grant(TENANT, 1000, source="operator", reference="g", by="op")

    def batch(n: int) -> None:
        charges = credits.charges(TENANT, D(0))  # each batch holds its own (soon stale) view
        for k in range(10):
            _record(store, credits, f"b{n}e{k}", charges=charges)
            _record(store, credits, f"b{(n + 1) % 4}e{k}", charges=charges)  # another batch's duplicate

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(batch, range(4)))
    assert credits.wallet(_reader()).balance == D(1000) - 40 * D("2.5")
    assert credits.store.ledger_total(TENANT) == credits.wallet(_reader()).balance


# -- the usage service's view of the catalog ---------------------------------------------------------------------

def test_a_plan_made_after_the_catalog_snapshot_is_read_at_once_not_the_default_plans(credits: Credits) -> None:
    from wrapper.catalog.admin import CatalogAdmin
    from wrapper.catalog.models import Entitlement
    from wrapper.catalog.requests import NewPlan
    from wrapper.catalog.seed_data import seed_catalog
    from wrapper.catalog.store import Catalog
    from wrapper.catalog.view import CatalogView
    from wrapper.subscriptions.models import Subscription
    from wrapper.usage.service import Usage

    table = credits.store.table
    seed_catalog(table)
    view = CatalogView(Catalog(table))
    view.snapshot()  # taken now; the plan below is made after it
    plan = CatalogAdmin(table, outbox_ttl_days=1).create_plan(NewPlan(
        code="late", name="Late", credit_overdraft=D(7),
        entitlements=[Entitlement(feature="api_calls", limit=5, hard=True, credit_rate=D(2))]), by="op")
    subscription = Subscription(id="s", tenant_id=TENANT.tenant_id, plan_id=plan.id, plan_code=plan.code,
                                price_id=None, interval="month", currency="USD", seats=1, status="active",
                                anchor=NOW, timezone="UTC", current_period_start=NOW,
                                current_period_end=NOW + timedelta(days=30), created_at=NOW, updated_at=NOW)
    usage = Usage(UsageStore(table), view, lambda tenant: subscription, clock=lambda: NOW, credits=credits)
    actor = Actor(tenant=TENANT, user_id="u", permissions=frozenset({Permission.USAGE_READ, Permission.USAGE_WRITE}))
    assert (usage.check(actor, "api_calls").limit, usage.overdraft(TENANT)) == (5, D(7))
    credits.grant(TENANT, 3, source="operator", reference="g", by="op")
    events = [{"event_id": f"e{n}", "name": "api_call", "timestamp": NOW.isoformat(), "properties": {}}
              for n in range(2)]
    assert [r.status for r in usage.ingest(actor, events).results] == ["accepted", "accepted"]
    assert credits.wallet(_reader()).balance == D(-1)  # 2 calls x 2 credits from 3, one below zero


def test_a_wallet_reads_without_an_overdraft_when_there_is_no_plan_to_subscribe_to(credits: Credits) -> None:
    from wrapper.catalog.store import Catalog
    from wrapper.catalog.view import CatalogView
    from wrapper.kernel.errors import NotFound
    from wrapper.usage.service import Usage

    def no_subscription(tenant: TenantContext) -> Any:
        raise NotFound("The tenant has no subscription and the catalog has no default plan to start one on.")

    usage = Usage(UsageStore(credits.store.table), CatalogView(Catalog(credits.store.table)), no_subscription,
                  clock=lambda: NOW, credits=credits)
    credits.grant(TENANT, 5, source="operator", reference="early", by="op")
    reader = Credits(credits.store, overdraft_of=usage.overdraft, clock=lambda: NOW)
    wallet = reader.wallet(_reader())
    assert (wallet.balance, wallet.overdraft_limit) == (D(5), D(0))


def _depletions(credits: Credits) -> list[dict[str, Any]]:
    import json

    items, _ = credits.store.table.query(TENANT.pk, sk_prefix=OUTBOX_SK_PREFIX, limit=100)
    return [json.loads(str(i["envelope"]))["data"] for i in items if i.get("event_type") == "credits.depleted"]


def test_the_wallet_running_dry_is_published_once_each_time(credits: Credits) -> None:
    store = UsageStore(credits.store.table)
    credits.grant(TENANT, 5, source="operator", reference="g1", by="op")
    for n in range(4):  # 2.5 credits each: 5 -> 2.5 -> 0 (published) -> 0 -> 0
        _record(store, credits, f"e{n}")
    _record(store, credits, "e2")  # a duplicate of the event that emptied it
    assert [(d["event_id"], d["balance"]) for d in _depletions(credits)] == [("e1", 0.0)]
    credits.grant(TENANT, 1, source="operator", reference="g2", by="op")
    _record(store, credits, "e9")  # takes the 1 credit left: dry again
    assert sorted(d["event_id"] for d in _depletions(credits)) == ["e1", "e9"]
