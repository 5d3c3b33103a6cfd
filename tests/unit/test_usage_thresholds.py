"""Usage thresholds: which shares of a limit a value crosses, and that a threshold's marker and its
event are written together, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from localcloud.dynamodb import patch_transactions
from tests.unit.builders import wrapper_table
from wrapper.events.catalog import EventType
from wrapper.events.envelope import new_event
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import OUTBOX_SK_PREFIX, threshold_sk, usage_pk
from wrapper.usage.logic import DEFAULT_THRESHOLDS, thresholds_crossed, thresholds_reached
from wrapper.usage.store import UsageStore

D = Decimal
START = datetime(2026, 3, 1, tzinfo=UTC)
TENANT = TenantContext(tenant_id="01J" + "0" * 23)


def test_the_defaults_are_80_and_100_percent() -> None:
    assert DEFAULT_THRESHOLDS == (80, 100)


@pytest.mark.parametrize(("before", "after", "crossed"), [
    (D(0), D(799), []),
    (D(799), D(800), [80]),  # exactly at the threshold counts
    (D(800), D(801), []),  # already past before: not crossed again
    (D(800), D(999), []),
    (D(999), D(1000), [100]),
    (D(1000), D(5000), []),
    (D(0), D(1000), [80, 100]),  # one big event crosses both
    (D(10), D(20000), [80, 100]),
    (D("799.99"), D("800.00"), [80]),
])
def test_a_threshold_is_crossed_when_before_is_below_and_after_reaches_it(before: Decimal, after: Decimal,
                                                                          crossed: list[int]) -> None:
    assert thresholds_crossed(1000, before, after) == crossed


def test_no_limit_or_a_zero_limit_has_no_thresholds() -> None:
    assert thresholds_crossed(None, D(0), D(10**9)) == []
    assert thresholds_reached(None, D(10**9)) == []
    assert thresholds_reached(0, D(5)) == []


def test_reached_lists_every_threshold_at_or_below_the_value_smallest_first() -> None:
    assert thresholds_reached(10, D(7)) == []
    assert thresholds_reached(10, D(8)) == [80]
    assert thresholds_reached(10, D(12), [100, 80, 80]) == [80, 100]
    assert thresholds_reached(3, D("2.4")) == [80]  # 80% of 3 is 2.4 exactly, no float rounding


@pytest.fixture
def store() -> Iterator[UsageStore]:
    patch_transactions()
    with mock_aws():
        yield UsageStore(wrapper_table(boto3.client("dynamodb", region_name="us-east-1")), outbox_ttl_days=7)


def _event(percent: int) -> object:
    return new_event(EventType.USAGE_THRESHOLD_REACHED, TENANT.tenant_id,
                     {"meter": "api_calls", "feature": "api_calls", "threshold_percent": percent, "limit": 100,
                      "value": percent, "period_start": "2026-01-01T00:00:00Z", "period_end": "2026-02-01T00:00:00Z"})


def test_a_thresholds_marker_and_event_are_written_once(store: UsageStore) -> None:
    assert store.mark_threshold(TENANT, "api_calls", START, 80, _event(80)) is True  # type: ignore[arg-type]
    # A second evaluation (a retry, a concurrent batch) finds the marker: no second event.
    assert store.mark_threshold(TENANT, "api_calls", START, 80, _event(80)) is False  # type: ignore[arg-type]
    assert store.mark_threshold(TENANT, "api_calls", START, 100, _event(100)) is True  # type: ignore[arg-type]
    # The tenant's usage partition holds the two markers and nothing else.
    markers, _ = store.table.query(usage_pk(TENANT), limit=10)
    assert [m["SK"] for m in markers] == [threshold_sk("api_calls", START, 100), threshold_sk("api_calls", START, 80)]
    outbox, _ = store.table.query(TENANT.pk, sk_prefix=OUTBOX_SK_PREFIX, limit=10)
    assert sorted(json.loads(str(o["envelope"]))["data"]["threshold_percent"] for o in outbox) == [80, 100]
    assert {str(m["event_id"]) for m in markers} == {json.loads(str(o["envelope"]))["id"] for o in outbox}
