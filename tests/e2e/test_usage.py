"""Usage metering over HTTP against the local cloud: idempotent ingestion with per-event results,
exact aggregates for every aggregation (equal to a recomputation from the raw events), duplicates
in a batch and weeks later, fault injection between the writes, usage reads and entitlement checks,
hard limits, roles, API key scopes, other tenants and bad input."""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.support import answered, call, join, refused, signup, table
from wrapper.catalog.seed_data import seed_catalog
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import LEDGER_PREFIX, USAGE_EVENT_PREFIX, credits_pk, usage_event_sk, usage_pk

PROBLEM = "application/problem+json"
METERS = ("api_calls", "tokens", "peak_seats", "active_users", "storage_gb")


@pytest.fixture(scope="module", autouse=True)
def seeded(cloud: Any) -> None:
    seed_catalog(table(cloud))


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(at: datetime | None = None) -> str:
    return (at or _now()).isoformat().replace("+00:00", "Z")


def _event(name: str = "api_call", event_id: str | None = None, **properties: Any) -> dict[str, Any]:
    return {"event_id": event_id or uuid.uuid4().hex, "name": name, "timestamp": _ts(), "properties": properties}


def _post(cloud: Any, session: dict[str, Any] | None, events: Any, *, headers: dict[str, str] | None = None,
          tenant: str | None = None) -> requests.Response:
    return call(cloud, "POST", "/v1/usage/events", session, body={"events": events}, headers=headers, tenant=tenant)


def _summary(cloud: Any, session: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {i["meter"]: i for i in answered(call(cloud, "GET", "/v1/usage/summary", session, **kw))["items"]}


def _usage_items(cloud: Any, tenant_id: str) -> list[dict[str, Any]]:
    items, _ = table(cloud).query(usage_pk(TenantContext(tenant_id)), limit=1000)
    return items


def _service(cloud: Any, **kw: Any) -> Any:
    """The usage service in-process against the local cloud's table (fault injection, recompute)."""
    from wrapper.catalog.store import Catalog
    from wrapper.catalog.view import CatalogView
    from wrapper.subscriptions.logic import Subscriptions
    from wrapper.subscriptions.store import SubscriptionStore
    from wrapper.usage.service import Usage
    from wrapper.usage.store import UsageStore

    items = table(cloud)
    subs = Subscriptions(SubscriptionStore(items, outbox_ttl_days=7), Catalog(items), lambda: None,  # type: ignore[arg-type,return-value]
                         billing_page="")
    return Usage(UsageStore(items, faults=kw.get("faults")), CatalogView(Catalog(items)),
                 kw.get("subscription_of") or (subs.current_of))


def _actor(tenant_id: str, *permissions: str) -> Any:
    from wrapper.kernel.actor import Actor
    from wrapper.kernel.permissions import Permission

    return Actor(tenant=TenantContext(tenant_id=tenant_id), user_id="test",
                 permissions=frozenset(Permission(p) for p in permissions or ("usage:write", "usage:read")))


def _verify_all(cloud: Any, tenant_id: str) -> dict[str, Decimal]:
    service = _service(cloud)
    tenant = TenantContext(tenant_id=tenant_id)
    start, _ = service.current_period(tenant)
    values = {}
    for code, meter in service.catalog.snapshot().meters.items():
        if code in METERS:
            aggregate, recomputed = service.verify(tenant, meter, start)
            assert aggregate == recomputed, (code, aggregate, recomputed)
            values[code] = aggregate
    return values


# -- happy path -------------------------------------------------------------------------------------------------

def test_a_batch_is_answered_per_event_and_counted_by_every_aggregation(cloud: Any) -> None:
    owner = signup(cloud, "Usage happy")
    events = [_event(user_id="u1"), _event(user_id="u2"), _event(user_id="u1"),
              _event("completion", tokens=120), _event("completion", tokens=Decimal("0.5").__float__()),
              _event("seats_snapshot", seats=4), _event("seats_snapshot", seats=9), _event("seats_snapshot", seats=2),
              {**_event("storage_snapshot", gb=3), "timestamp": _ts(_now() - timedelta(minutes=2))},
              {**_event("storage_snapshot", gb=7), "timestamp": _ts(_now() - timedelta(minutes=1))},
              {**_event("storage_snapshot", gb=5), "timestamp": _ts(_now() - timedelta(minutes=3))}]
    results = answered(_post(cloud, owner, events))["results"]
    assert [r["event_id"] for r in results] == [e["event_id"] for e in events]
    assert {r["status"] for r in results} == {"accepted"}
    summary = _summary(cloud, owner)
    assert summary["api_calls"]["value"] == 3 and summary["api_calls"]["feature"] == "api_calls"
    assert summary["api_calls"]["limit"] == 1000 and summary["api_calls"]["share"] == 0.003
    assert summary["active_users"]["value"] == 2
    assert summary["tokens"]["value"] == 120.5
    assert summary["peak_seats"]["value"] == 9
    assert summary["storage_gb"]["value"] == 7  # the latest by timestamp, not the last sent
    assert _verify_all(cloud, owner["tenant_id"])["api_calls"] == 3
    day = answered(call(cloud, "GET", "/v1/usage", owner, meter="api_calls", granularity="day"))
    assert day["items"] == [{"date": _now().date().isoformat(), "value": 3}]
    check = answered(call(cloud, "GET", "/v1/entitlements/api_calls", owner))
    assert check == {"feature": "api_calls", "allowed": True, "limit": 1000, "used": 3, "remaining": 997,
                     "hard": False}


def test_an_api_key_with_usage_write_records_usage_for_its_own_tenant(cloud: Any) -> None:
    owner = signup(cloud, "Usage key")
    key = answered(call(cloud, "POST", "/v1/api-keys", owner, body={"name": "ingest", "scopes": ["usage:write"]}), 201)
    answer = _post(cloud, None, [_event()], headers={"X-Api-Key": key["key"]})
    assert answered(answer)["results"][0]["status"] == "accepted"
    assert _summary(cloud, owner)["api_calls"]["value"] == 1


# -- idempotency ------------------------------------------------------------------------------------------------

def test_a_duplicate_in_the_same_batch_and_in_a_later_one_is_counted_once(cloud: Any) -> None:
    owner = signup(cloud, "Usage dupes")
    first = _event("completion", tokens=10)
    results = answered(_post(cloud, owner, [first, first, _event("completion", tokens=1)]))["results"]
    assert [r["status"] for r in results] == ["accepted", "duplicate", "accepted"]
    again = answered(_post(cloud, owner, [{**first, "properties": {"tokens": 999}}]))["results"]
    assert again == [{"event_id": first["event_id"], "status": "duplicate", "reason": None}]
    assert _summary(cloud, owner)["tokens"]["value"] == 11


def test_an_event_sent_weeks_ago_is_still_a_duplicate(cloud: Any) -> None:
    owner = signup(cloud, "Usage weeks")
    old = {**_event(), "timestamp": _ts(_now() - timedelta(days=34))}
    assert answered(_post(cloud, owner, [old]))["results"][0]["status"] == "accepted"
    # Three weeks later the client replays its backlog: the event is still known (raw events live 40 days).
    service = _service(cloud)
    later = _now() + timedelta(days=21)
    service.clock = lambda: later
    replay = service.ingest(_actor(owner["tenant_id"]), [{**old, "timestamp": _ts(later - timedelta(days=30))}])
    assert replay.results[0].status == "duplicate"
    stored = table(cloud).get(usage_pk(TenantContext(owner["tenant_id"])), usage_event_sk(old["event_id"]))
    assert stored is not None and stored["expires_at"] > (_now() + timedelta(days=39)).timestamp()


def _mixed_events(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Every aggregation's events, with repeated user ids and out-of-order snapshots."""
    made = []
    for n in range(count):
        kind = n % 5
        if kind == 0:
            made.append(_event(user_id=f"u{rng.randrange(40)}"))
        elif kind == 1:
            made.append(_event("completion", tokens=rng.randrange(1, 500)))
        elif kind == 2:
            made.append(_event("seats_snapshot", seats=rng.randrange(1, 100)))
        elif kind == 3:
            made.append({**_event("storage_snapshot", gb=rng.randrange(1, 50)),
                         "timestamp": _ts(_now() - timedelta(seconds=rng.randrange(1, 3000)))})
        else:
            made.append(_event(user_id=f"v{rng.randrange(400)}"))
    return made


def _expected(unique: list[dict[str, Any]]) -> dict[str, Any]:
    calls = [e for e in unique if e["name"] == "api_call"]
    return {
        "api_calls": len(calls),
        "active_users": len({e["properties"]["user_id"] for e in calls}),
        "tokens": sum(e["properties"]["tokens"] for e in unique if e["name"] == "completion"),
        "peak_seats": max(e["properties"]["seats"] for e in unique if e["name"] == "seats_snapshot"),
        "storage_gb": max((e for e in unique if e["name"] == "storage_snapshot"),
                          key=lambda e: (e["timestamp"], e["event_id"]))["properties"]["gb"],
    }


# 1,000 events in the suite; `make volume` runs the 10,000 (about 4 minutes here, as CI does
# after the suite). Either way: 10% duplicates, shuffled, in batches of 100 from 4 clients at once,
# through the API front, with crashes.
HTTP_EVENTS = int(os.environ.get("USAGE_HTTP_EVENTS", "1000"))
BATCH = 100
CRASH_EVERY = 200  # every 200th write transaction of the usage function loses its answer


class LostAnswer(Exception):
    """The usage function dies after DynamoDB committed a write and before it heard back."""


@pytest.mark.timeout(1800)
def test_a_volume_of_events_with_duplicates_and_crashes_gives_exact_values_and_credits(cloud: Any) -> None:
    from wrapper.credits.logic import credits as rounded

    owner = signup(cloud, "Usage volume")
    assert answered(call(cloud, "POST", "/v1/subscriptions", owner, body={"plan_code": "payg"}), 201)
    _grant_credits(cloud, owner["tenant_id"], 1_000)  # less than 10,000 events use: the overdraft (100) ends it
    rng = random.Random(5)
    unique = _mixed_events(HTTP_EVENTS, rng)
    sent = unique + rng.sample(unique, HTTP_EVENTS // 10)
    rng.shuffle(sent)
    batches = [sent[n:n + BATCH] for n in range(0, len(sent), BATCH)]
    writes = {"n": 0, "crashes": 0}
    lock = threading.Lock()

    def crash_now_and_then(operation: str) -> None:
        if operation != "TransactWriteItems":
            return
        with lock:
            writes["n"] += 1
            if writes["n"] % CRASH_EVERY:
                return
            writes["crashes"] += 1
        raise LostAnswer(operation)

    def send(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # A client retries a batch whose answer was an error (5xx), as it must: same event ids.
        for _ in range(20):
            answer = requests.post(f"{cloud.api_url}/v1/usage/events", json={"events": batch}, timeout=180,
                                   headers={"Authorization": f"Bearer {owner['access_token']}"})
            if answer.status_code < 500:
                results: list[dict[str, Any]] = answered(answer)["results"]
                return results
        raise AssertionError("a batch failed 20 times")

    cloud.runtime.faults["UsageFunction"] = crash_now_and_then
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(send, batches))
    finally:
        cloud.runtime.faults.pop("UsageFunction", None)
    assert writes["crashes"] >= HTTP_EVENTS // CRASH_EVERY  # the faults did happen, many times
    statuses = [r["status"] for results in answers for r in results]
    # An event written before a crash is answered `duplicate` by the retry: none is lost or refused.
    assert len(statuses) == len(sent) and set(statuses) <= {"accepted", "duplicate"}
    stored = [i for i in _usage_items_all(cloud, owner["tenant_id"]) if str(i["SK"]).startswith(USAGE_EVENT_PREFIX)]
    assert len(stored) == HTTP_EVENTS and not any(i.get("pending") for i in stored)
    expected = _expected(unique)
    summary = _summary(cloud, owner)
    assert {m: summary[m]["value"] for m in METERS} == expected
    assert _verify_all(cloud, owner["tenant_id"]) == {m: Decimal(v) for m, v in expected.items()}
    # payg spends 0.01 credit per API call and 0.002 per token, from 1,000 credits down to -100.
    wallet = answered(call(cloud, "GET", "/v1/credits", owner))
    cost = rounded(Decimal("0.01") * expected["api_calls"] + Decimal("0.002") * expected["tokens"])
    assert Decimal(str(wallet["balance"])) == max(1_000 - cost, Decimal(-100))
    # The ledger is read in pages of 1,000 from the table (over HTTP it is 100 a page: minutes here).
    entries = _ledger_items(cloud, owner["tenant_id"])
    assert sum(Decimal(e["amount"]) for e in entries) == Decimal(str(wallet["balance"]))
    spent = [e for e in entries if e["kind"] == "consumption"]
    assert len({e["event_id"] for e in spent}) == len(spent)  # no event charged twice


def _usage_items_all(cloud: Any, tenant_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    start = None
    while True:
        items, start = table(cloud).query(usage_pk(TenantContext(tenant_id)), limit=1000, start_key=start)
        found.extend(items)
        if not start:
            return found


def _grant_credits(cloud: Any, tenant_id: str, amount: int) -> None:
    from wrapper.credits.service import Credits
    from wrapper.credits.store import WalletStore

    Credits(WalletStore(table(cloud))).grant(TenantContext(tenant_id), amount, source="operator",
                                             reference=None, by="test")


def _ledger_items(cloud: Any, tenant_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    start = None
    while True:
        items, start = table(cloud).query(credits_pk(TenantContext(tenant_id)), sk_prefix=LEDGER_PREFIX, limit=1000,
                                          start_key=start)
        found.extend(items)
        if not start:
            return found


# -- fault injection --------------------------------------------------------------------------------------------

class Crash(Exception):
    pass


def _crash_once(point: str) -> Any:
    state = {"armed": True}

    def fault(reached: str) -> None:
        if reached == point and state["armed"]:
            state["armed"] = False
            raise Crash(point)

    return fault


@pytest.mark.parametrize("point", ["event_committed", "follow_up_done"])
def test_a_crash_half_way_is_completed_by_the_retry_and_nothing_counts_twice(cloud: Any, point: str) -> None:
    owner = signup(cloud, f"Usage crash {point}")
    service = _service(cloud, faults=_crash_once(point))
    actor = _actor(owner["tenant_id"])
    batch = [_event(user_id="x"), _event("seats_snapshot", seats=5), _event("storage_snapshot", gb=2),
             _event("completion", tokens=3)]
    with pytest.raises(Crash):
        service.ingest(actor, batch)  # the first event committed; the answer is lost
    retried = service.ingest(actor, batch)
    assert [r.status for r in retried.results] == ["duplicate", "accepted", "accepted", "accepted"]
    assert not any(i.get("pending") for i in _usage_items(cloud, owner["tenant_id"]))
    values = _verify_all(cloud, owner["tenant_id"])
    assert (values["api_calls"], values["active_users"], values["peak_seats"], values["storage_gb"],
            values["tokens"]) == (1, 1, 5, 2, 3)


# -- hard limits ------------------------------------------------------------------------------------------------

def test_a_hard_limit_rejects_further_events_and_a_batch_refused_whole_is_403(cloud: Any) -> None:
    from wrapper.identity.operators import grant_operator
    from wrapper.subscriptions.models import Subscription

    owner, operator = signup(cloud, "Usage hard"), signup(cloud, "Usage hard operator")
    grant_operator(table(cloud), operator["user_id"])
    plan = answered(call(cloud, "POST", "/v1/admin/plans", operator, body={
        "code": f"hard{uuid.uuid4().hex[:8]}", "name": "Hard",
        "entitlements": [{"feature": "api_calls", "limit": 2, "hard": True}]}), 201)
    now = _now()
    subscription = Subscription(id="s", tenant_id=owner["tenant_id"], plan_id=plan["id"], plan_code=plan["code"],
                                price_id=None, interval="month", currency="USD", seats=1, status="active",
                                anchor=now - timedelta(days=3), timezone="UTC",
                                current_period_start=now - timedelta(days=3),
                                current_period_end=now + timedelta(days=27), created_at=now, updated_at=now)
    service = _service(cloud, subscription_of=lambda tenant: subscription)
    actor = _actor(owner["tenant_id"])
    first = service.ingest(actor, [_event(user_id="a"), _event(user_id="b"), _event(user_id="c"),
                                   _event("completion", tokens=1)])
    assert [(r.status, r.reason) for r in first.results] == [
        ("accepted", None), ("accepted", None), ("rejected", "limit_reached"), ("accepted", None)]
    from wrapper.kernel.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        service.ingest(actor, [_event(user_id="d")])
    check = service.check(actor, "api_calls")
    assert (check.allowed, check.used, check.remaining, check.hard) == (False, 2, 0, True)


# -- bad events and bad input -----------------------------------------------------------------------------------

def test_bad_events_are_rejected_one_by_one_and_the_rest_kept(cloud: Any) -> None:
    owner = signup(cloud, "Usage bad events")
    good = _event()
    bad = [
        {"name": "api_call", "timestamp": _ts()},
        {"event_id": 7, "name": "api_call", "timestamp": _ts()},
        {"event_id": "x" * 129, "name": "api_call", "timestamp": _ts()},
        {**_event(), "timestamp": "yesterday"},
        {**_event(), "timestamp": "2026-01-01T00:00:00"},
        {**_event(), "timestamp": _ts(_now() - timedelta(days=36))},
        {**_event(), "timestamp": _ts(_now() + timedelta(minutes=6))},
        _event("no_meter_listens"),
        {**_event(), "properties": {f"k{n}": n for n in range(51)}},
        {**_event(), "properties": {"blob": "x" * 5000}},
        {**_event(), "properties": []},
        {**_event(), "extra": 1},
        _event("completion", tokens="many"),
        _event("completion", tokens=True),
        "not an object",
    ]
    results = answered(_post(cloud, owner, [*bad, good]))["results"]
    assert [r["status"] for r in results] == ["rejected"] * len(bad) + ["accepted"]
    assert all(r["reason"] for r in results[:-1])
    assert "unknown name" in results[7]["reason"] and "35 days" in results[5]["reason"]
    assert _summary(cloud, owner)["api_calls"]["value"] == 1
    assert len([i for i in _usage_items(cloud, owner["tenant_id"]) if str(i["SK"]).startswith(USAGE_EVENT_PREFIX)]) == 1


@pytest.mark.parametrize("body", [
    {}, {"events": []}, {"events": "x"}, {"events": [_event()] * 101}, {"events": [_event()], "extra": 1}, [1],
    "not json",
])
def test_a_bad_envelope_is_4xx_problem_json_and_writes_nothing(cloud: Any, body: Any) -> None:
    owner = signup(cloud, "Usage bad body")
    answer = call(cloud, "POST", "/v1/usage/events", owner, body=body)
    assert 400 <= answer.status_code < 500 and answer.headers["Content-Type"] == PROBLEM, answer.text
    assert _usage_items(cloud, owner["tenant_id"]) == []


def test_a_body_over_256_kb_is_413(cloud: Any) -> None:
    owner = signup(cloud, "Usage big")
    events = [{**_event(), "properties": {"pad": "x" * 3000}} for _ in range(100)]
    refused(call(cloud, "POST", "/v1/usage/events", owner, body=json.dumps({"events": events})), 413)
    assert _usage_items(cloud, owner["tenant_id"]) == []


@pytest.mark.parametrize("params", [{}, {"meter": "nope"}, {"meter": "api_calls", "from": "x"},
                                    {"meter": "api_calls", "granularity": "hour"},
                                    {"meter": "api_calls", "from": "2026-02-01", "to": "2026-01-01"}])
def test_bad_usage_queries_are_problem_json(cloud: Any, params: dict[str, str]) -> None:
    owner = signup(cloud, "Usage bad query")
    answer = call(cloud, "GET", "/v1/usage", owner, **params)
    assert answer.status_code in (400, 422) and answer.headers["Content-Type"] == PROBLEM, answer.text


def test_an_unknown_feature_is_404(cloud: Any) -> None:
    owner = signup(cloud, "Usage no feature")
    refused(call(cloud, "GET", "/v1/entitlements/nope_nope", owner), 404)
    refused(call(cloud, "GET", "/v1/entitlements/Bad%20Code", owner), 422)


# -- roles, scopes and other tenants ----------------------------------------------------------------------------

def test_a_viewer_and_a_read_only_key_cannot_record_usage_but_can_read_it(cloud: Any) -> None:
    owner = signup(cloud, "Usage roles")
    viewer = signup(cloud, "Viewer's own")
    join(cloud, owner["tenant_id"], viewer["user_id"], "viewer")
    refused(_post(cloud, viewer, [_event()], tenant=owner["tenant_id"]), 403)
    key = answered(call(cloud, "POST", "/v1/api-keys", owner, body={"name": "ro", "scopes": ["read"]}), 201)
    refused(_post(cloud, None, [_event()], headers={"X-Api-Key": key["key"]}), 403)
    assert _usage_items(cloud, owner["tenant_id"]) == []
    assert answered(call(cloud, "GET", "/v1/usage/summary", viewer, tenant=owner["tenant_id"]))["items"]
    ingest_only = answered(call(cloud, "POST", "/v1/api-keys", owner,
                                body={"name": "w", "scopes": ["usage:write"]}), 201)
    refused(call(cloud, "GET", "/v1/usage/summary", None, headers={"X-Api-Key": ingest_only["key"]}), 403)


def test_another_tenant_never_counts_into_or_reads_this_tenants_usage(cloud: Any) -> None:
    a, b = signup(cloud, "Usage A"), signup(cloud, "Usage B")
    shared_id = uuid.uuid4().hex
    answered(_post(cloud, a, [_event(event_id=shared_id), _event()]))
    b_key = answered(call(cloud, "POST", "/v1/api-keys", b, body={"name": "b", "scopes": ["usage:write", "read"]}), 201)
    # B names A's tenant: refused, with its token or its key.
    refused(_post(cloud, b, [_event()], tenant=a["tenant_id"]), 403)
    refused(_post(cloud, None, [_event()], headers={"X-Api-Key": b_key["key"], "X-Tenant-Id": a["tenant_id"]}), 403)
    refused(call(cloud, "GET", "/v1/usage/summary", b, tenant=a["tenant_id"]), 403)
    refused(call(cloud, "GET", "/v1/entitlements/api_calls", b, tenant=a["tenant_id"]), 403)
    refused(call(cloud, "GET", "/v1/usage", b, tenant=a["tenant_id"], meter="api_calls"), 403)
    # B reuses A's event id in its own tenant: a new event of B's, not a duplicate of A's.
    mine = answered(_post(cloud, None, [_event(event_id=shared_id)], headers={"X-Api-Key": b_key["key"]}))["results"]
    assert mine[0]["status"] == "accepted"
    assert _summary(cloud, a)["api_calls"]["value"] == 2
    assert _summary(cloud, b)["api_calls"]["value"] == 1
    assert answered(call(cloud, "GET", "/v1/entitlements/api_calls", b))["used"] == 1


def test_an_entitlement_check_costs_two_reads_once_the_catalog_is_cached(cloud: Any) -> None:
    from collections import Counter

    from wrapper.subscriptions.store import SubscriptionStore

    owner = signup(cloud, "Usage two reads")
    answered(_post(cloud, owner, [_event()]))
    service = _service(cloud)
    actor = _actor(owner["tenant_id"])
    service.check(actor, "api_calls")  # cold start: reads the catalog once
    calls: Counter[str] = Counter()
    client = service.store.table.client

    class Counted:
        def __getattr__(self, name: str) -> Any:
            calls[name] += 1
            return getattr(client, name)

    service.store.table.client = Counted()
    # The subscription exists (the POST made it): reading it is one GetItem, through the same client.
    subscriptions = SubscriptionStore(service.store.table, outbox_ttl_days=7)
    service.subscription_of = subscriptions.current
    check = service.check(actor, "api_calls")
    assert check.used == 1 and sum(calls.values()) == 2, calls


def test_the_same_batch_sent_concurrently_is_accepted_once(cloud: Any) -> None:
    owner = signup(cloud, "Usage race")
    batch = [_event(user_id="r1"), _event("seats_snapshot", seats=3), _event("completion", tokens=4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: answered(_post(cloud, owner, batch))["results"], range(4)))
    for n in range(len(batch)):
        assert sorted(a[n]["status"] for a in answers) == ["accepted", "duplicate", "duplicate", "duplicate"]
    values = _verify_all(cloud, owner["tenant_id"])
    assert (values["api_calls"], values["active_users"], values["peak_seats"], values["tokens"]) == (1, 1, 3, 4)
