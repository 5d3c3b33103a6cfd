"""usage.threshold_reached over HTTP: a tenant on the free plan (api_calls limited to 1000, soft)
reaches 80% and then 100% of it; each threshold is published once per period, whatever the
duplicates, repeated batches and concurrent batches, and only in the tenant's own audit log."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support import call, signup, table, wait_for
from wrapper.catalog.seed_data import seed_catalog
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import OUTBOX_SK_PREFIX, tenant_pk, threshold_sk, usage_pk

REACHED = "usage.threshold_reached"


@pytest.fixture(scope="module", autouse=True)
def seeded(cloud: Any) -> None:
    seed_catalog(table(cloud))


def _batch(size: int = 100) -> list[dict[str, Any]]:
    at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return [{"event_id": uuid.uuid4().hex, "name": "api_call", "timestamp": at, "properties": {}}
            for _ in range(size)]


def _send(cloud: Any, session: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    answer = call(cloud, "POST", "/v1/usage/events", session, body={"events": events})
    assert answer.status_code == 200, answer.text
    return [r["status"] for r in answer.json()["results"]]


def _published(cloud: Any, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's threshold events as written (outbox records), oldest first."""
    items, _ = table(cloud).query(tenant_pk(tenant_id), sk_prefix=OUTBOX_SK_PREFIX, limit=1000)
    events = [json.loads(str(i["envelope"])) for i in items if i.get("event_type") == REACHED]
    return sorted(events, key=lambda e: e["id"])


def _markers(cloud: Any, tenant_id: str) -> list[dict[str, Any]]:
    """The threshold markers in the tenant's usage partition (read whole, a page at a time)."""
    found: list[dict[str, Any]] = []
    start = None
    while True:
        items, start = table(cloud).query(usage_pk(TenantContext(tenant_id)), limit=1000, start_key=start,
                                          filter_equals={"record_type": "usage_threshold"})
        found.extend(items)
        if not start:
            return found


def _audited(cloud: Any, session: dict[str, Any], expected: int) -> list[dict[str, Any]]:
    def entries() -> list[dict[str, Any]]:
        items = call(cloud, "GET", "/v1/audit-log", session, limit=100, action=REACHED).json()["items"]
        found = [e for e in items if e["action"] == REACHED]
        return found if len(found) >= expected else []

    return wait_for(entries, message=f"{expected} threshold entries") if expected else []


def test_80_then_100_percent_are_published_once_each(cloud: Any) -> None:
    owner = signup(cloud, "Thresholds Inc")
    tenant_id = owner["tenant_id"]
    sent: list[list[dict[str, Any]]] = []
    for _ in range(7):
        sent.append(_batch())
        assert set(_send(cloud, owner, sent[-1])) == {"accepted"}
    assert _published(cloud, tenant_id) == []  # 700 of 1000: below 80%

    sent.append(_batch())
    assert set(_send(cloud, owner, sent[-1])) == {"accepted"}  # 800: exactly 80%
    (eighty,) = _published(cloud, tenant_id)
    assert eighty["tenant_id"] == tenant_id
    data = eighty["data"]
    assert {k: data[k] for k in ("meter", "feature", "threshold_percent", "limit", "value")} == {
        "meter": "api_calls", "feature": "api_calls", "threshold_percent": 80, "limit": 1000, "value": 800}
    assert data["period_start"] < data["period_end"] and data["actor"] == owner["user_id"] and data["request_id"]

    # The same batch again (a client retry) is all duplicates and publishes nothing new.
    assert set(_send(cloud, owner, sent[-1])) == {"duplicate"}
    assert set(_send(cloud, owner, sent[0][:50] + _batch(50))) == {"duplicate", "accepted"}  # 850
    assert len(_published(cloud, tenant_id)) == 1

    assert set(_send(cloud, owner, _batch())) == {"accepted"}  # 950
    big = _batch()
    assert set(_send(cloud, owner, big)) == {"accepted"}  # 1050: past 100%; soft, so still counted
    assert set(_send(cloud, owner, big)) == {"duplicate"}
    assert set(_send(cloud, owner, _batch())) == {"accepted"}  # 1150
    published = _published(cloud, tenant_id)
    assert [e["data"]["threshold_percent"] for e in published] == [80, 100]
    assert published[1]["data"]["value"] == 1050

    entries = _audited(cloud, owner, 2)
    assert sorted(e["target"] for e in entries) == ["api_calls", "api_calls"]
    assert len(_audited(cloud, owner, 2)) == 2  # and no more arrive
    period_start = datetime.fromisoformat(published[0]["data"]["period_start"])
    assert sorted(m["SK"] for m in _markers(cloud, tenant_id)) == sorted(
        threshold_sk("api_calls", period_start, percent) for percent in (80, 100))

    # Another tenant's usage and thresholds are its own: its batch publishes nothing, its audit log
    # holds none of these, and naming this tenant gets it nothing.
    other = signup(cloud, "Thresholds Other")
    assert set(_send(cloud, other, _batch())) == {"accepted"}
    assert _published(cloud, other["tenant_id"]) == []
    # Its sign-up reaches its audit log through the event pipeline: wait for that, then look.
    theirs = wait_for(lambda: call(cloud, "GET", "/v1/audit-log", other, limit=100).json()["items"],
                      message="the other tenant's audit entries")
    assert not [e for e in theirs if e["action"] == REACHED]
    stray = call(cloud, "GET", "/v1/audit-log", other, tenant=tenant_id, limit=100, action=REACHED)
    assert stray.status_code in (403, 404)
    assert len(_published(cloud, tenant_id)) == 2


def test_concurrent_batches_crossing_both_thresholds_publish_each_once(cloud: Any) -> None:
    owner = signup(cloud, "Thresholds Race")
    for _ in range(7):
        _send(cloud, owner, _batch())
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda batch: _send(cloud, owner, batch), [_batch() for _ in range(4)]))
    assert all(set(a) == {"accepted"} for a in answers)  # 1100
    assert sorted(e["data"]["threshold_percent"] for e in _published(cloud, owner["tenant_id"])) == [80, 100]
