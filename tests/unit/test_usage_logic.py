"""The pure rules of metering: event validation, meter matching and measuring, shards, periods,
and that sharded aggregates combine to what a recomputation folds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wrapper.catalog.models import Meter
from wrapper.kernel.numbers import as_number
from wrapper.usage.logic import (
    SHARDS,
    Rejected,
    combine,
    fold,
    latest_key,
    matching,
    measure,
    parse_event,
    period_for,
    shard_of,
)
from wrapper.usage.models import UsageEvent

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def _raw(**changes: Any) -> dict[str, Any]:
    return {"event_id": "e1", "name": "api_call", "timestamp": "2026-03-15T11:59:00Z", "properties": {}, **changes}


def test_a_valid_event_is_parsed_in_utc_with_exact_numbers() -> None:
    event = parse_event(_raw(timestamp="2026-03-15T13:00:00+02:00", properties={"gb": 1.1}), NOW)
    assert event.timestamp == datetime(2026, 3, 15, 11, 0, tzinfo=UTC)
    assert event.properties == {"gb": Decimal("1.1")}


@pytest.mark.parametrize(("raw", "reason"), [
    ("x", "JSON object"),
    (_raw(event_id=None), "event_id"),
    (_raw(event_id=""), "event_id"),
    (_raw(event_id="x" * 129), "event_id"),
    (_raw(name=3), "name"),
    (_raw(timestamp=1), "timestamp"),
    (_raw(timestamp="2026-03-15T11:59:00"), "zone"),
    (_raw(timestamp="2026-02-08T11:59:00Z"), "35 days"),
    (_raw(timestamp="2026-03-15T12:05:01Z"), "future"),
    (_raw(properties=[1]), "object"),
    (_raw(properties={f"k{n}": n for n in range(51)}), "50 keys"),
    (_raw(properties={"x": "y" * 4100}), "bytes"),
    ({**_raw(), "extra": 1}, "unknown field"),
])
def test_a_bad_event_is_rejected_with_a_reason(raw: Any, reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        parse_event(raw, NOW)


def test_the_window_edges_are_accepted() -> None:
    parse_event(_raw(timestamp=(NOW - timedelta(days=35)).isoformat()), NOW)
    parse_event(_raw(timestamp=(NOW + timedelta(minutes=5)).isoformat()), NOW)


def _meter(**fields: Any) -> Meter:
    return Meter.model_validate({"code": "m", "event_name": "api_call", "aggregation": "count", **fields})


def _event(**properties: Any) -> UsageEvent:
    return UsageEvent(event_id="e", name="api_call", timestamp=NOW, properties=properties)


def test_meters_match_by_name_filter_and_activity() -> None:
    meters = [_meter(code="a"), _meter(code="b", filter={"region": "eu"}), _meter(code="c", active=False),
              _meter(code="d", event_name="other"), _meter(code="e", filter={"spot": True})]
    assert [m.code for m in matching(meters, _event(region="eu", spot=1))] == ["a", "b"]
    assert [m.code for m in matching(meters, _event(spot=True))] == ["a", "e"]


def test_a_meter_needs_a_property_unless_it_counts() -> None:
    with pytest.raises(ValueError, match="needs a property"):
        _meter(aggregation="sum")
    with pytest.raises(ValueError, match="no property"):
        _meter(property="x")


def test_measuring_takes_numbers_and_skips_a_missing_property() -> None:
    sums = _meter(aggregation="sum", property="n")
    assert measure(sums, _event(n=Decimal("2.5"))) == Decimal("2.5")
    assert measure(sums, _event()) is None
    for bad in ("3", True, [1]):
        with pytest.raises(Rejected, match="a number"):
            measure(sums, _event(n=bad))
    assert measure(_meter(aggregation="unique_count", property="u"), _event(u="x")) == '"x"'
    assert measure(_meter(), _event()) == 1


def test_shards_are_stable_and_spread() -> None:
    assert shard_of("abc") == shard_of("abc")
    assert {shard_of(f"e{n}") for n in range(200)} == set(range(SHARDS))


def test_an_event_counts_in_the_period_its_timestamp_falls_in() -> None:
    anchor = datetime(2026, 1, 31, tzinfo=UTC)
    current = (datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 4, 30, tzinfo=UTC))
    assert period_for(anchor, "UTC", "month", current, datetime(2026, 4, 1, tzinfo=UTC)) == current
    assert period_for(anchor, "UTC", "month", current, datetime(2026, 3, 1, tzinfo=UTC)) == (
        datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    # before the anchor: the subscription's first period
    assert period_for(anchor, "UTC", "month", current, datetime(2026, 1, 20, tzinfo=UTC))[0] == anchor


measures = st.lists(st.tuples(st.text(min_size=1, max_size=6), st.integers(0, 10**6)), min_size=1, max_size=60)


@pytest.mark.parametrize("aggregation", ["count", "sum", "max", "latest", "unique_count"])
@given(events=measures)
def test_sharded_aggregates_combine_to_the_recomputed_value(aggregation: str, events: list[tuple[str, int]]) -> None:
    meter = _meter(aggregation=aggregation, property=None if aggregation == "count" else "n")
    distinct = dict(events)  # one value per event id, as dedupe keeps
    measured = []
    shards: dict[int, dict[str, Any]] = {}
    seen: set[str] = set()
    for event_id, value in distinct.items():
        key = latest_key(NOW + timedelta(seconds=value % 7), event_id)
        given_value: Decimal | str = Decimal(1) if aggregation == "count" else (
            str(value % 5) if aggregation == "unique_count" else Decimal(value))
        measured.append((key, given_value))
        shard = shards.setdefault(shard_of(event_id), {})
        if aggregation in ("count", "sum"):
            shard["v"] = shard.get("v", 0) + given_value
        elif aggregation == "max":
            shard["v"] = max(shard.get("v", given_value), given_value)
        elif aggregation == "latest":
            if key > shard.get("at", ""):
                shard.update(v=given_value, at=key)
        elif given_value not in seen:
            seen.add(str(given_value))
            shard["v"] = shard.get("v", 0) + 1
    assert combine(meter, list(shards.values())) == fold(meter, measured)


def test_values_go_out_as_json_numbers() -> None:
    assert as_number(Decimal("3")) == 3 and isinstance(as_number(Decimal("3")), int)
    assert as_number(Decimal("2.5")) == 2.5
