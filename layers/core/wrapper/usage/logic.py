"""Pure rules of metering: what an event must look like, which meters it feeds with what value,
its shard, and how a period's values fold into one number."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from wrapper.catalog.models import Aggregation, Meter
from wrapper.kernel.timestamps import iso_z
from wrapper.money.periods import Anchor, Interval, Period, period_containing
from wrapper.usage.models import MAX_PROPERTIES, MAX_PROPERTIES_BYTES, UsageEvent

SHARDS = 8
MAX_AGE = timedelta(days=35)  # Stripe's window for late usage
MAX_AHEAD = timedelta(minutes=5)  # clock skew
EVENT_FIELDS = frozenset({"event_id", "name", "timestamp", "properties"})


class Rejected(Exception):
    """An event refused on its own; ``reason`` goes back to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def event_id_of(raw: Any) -> str | None:
    """The id to report a result under, even for an event rejected for its id's shape."""
    if isinstance(raw, dict) and isinstance(raw.get("event_id"), str):
        return str(raw["event_id"])[:128]
    return None


def parse_event(raw: Any, now: datetime) -> UsageEvent:
    if not isinstance(raw, dict):
        raise Rejected("an event is a JSON object")
    unknown = sorted(set(raw) - EVENT_FIELDS)
    if unknown:
        raise Rejected(f"unknown field: {', '.join(unknown)}")
    event_id = raw.get("event_id")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 128:
        raise Rejected("event_id: a string of 1 to 128 characters is required")
    name = raw.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        raise Rejected("name: a string of 1 to 64 characters is required")
    timestamp = raw.get("timestamp")
    if not isinstance(timestamp, str):
        raise Rejected("timestamp: an ISO 8601 string with a zone is required")
    try:
        at = datetime.fromisoformat(timestamp)
    except ValueError:
        raise Rejected("timestamp: not ISO 8601") from None
    if at.tzinfo is None:
        raise Rejected("timestamp: give its zone (Z or an offset)")
    at = at.astimezone(UTC)
    if at < now - MAX_AGE:
        raise Rejected("timestamp: older than 35 days")
    if at > now + MAX_AHEAD:
        raise Rejected("timestamp: more than 5 minutes in the future")
    properties = raw.get("properties", {})
    if not isinstance(properties, dict):
        raise Rejected("properties: a JSON object is required")
    if len(properties) > MAX_PROPERTIES:
        raise Rejected(f"properties: more than {MAX_PROPERTIES} keys")
    if len(canonical(properties).encode()) > MAX_PROPERTIES_BYTES:
        raise Rejected(f"properties: larger than {MAX_PROPERTIES_BYTES} bytes")
    return UsageEvent(event_id=event_id, name=name, timestamp=at, properties=exact(properties))


def exact(value: Any) -> Any:
    """JSON floats as Decimals (their shortest repr: 1.1 stays 1.1), so sums are exact and storable."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exact(v) for v in value]
    return value


def canonical(value: Any) -> str:
    """Stable JSON text; Decimals (JSON floats parsed by ``exact``) go back out as the same numbers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_number)


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def matching(meters: Iterable[Meter], event: UsageEvent) -> list[Meter]:
    """The active meters that listen to the event's name and whose filter its properties equal."""
    return [m for m in meters if m.active and m.event_name == event.name
            and all(_same(event.properties.get(k), v) for k, v in m.filter.items())]


def _same(found: Any, wanted: Any) -> bool:
    # True == 1 in Python; a filter on a boolean must not match the number 1.
    return isinstance(found, bool) == isinstance(wanted, bool) and found == wanted


def measure(meter: Meter, event: UsageEvent) -> Decimal | str | None:
    """What the event adds to the meter: 1 for count, the property's number, or (unique_count) its
    canonical text; None when the event lacks the property (the meter does not count it: an
    ``api_call`` without ``user_id`` is still a call). A property of the wrong type is rejected."""
    if meter.aggregation == Aggregation.COUNT:
        return Decimal(1)
    assert meter.property is not None
    value = event.properties.get(meter.property)
    if value is None:
        return None
    if meter.aggregation == Aggregation.UNIQUE_COUNT:
        if isinstance(value, dict | list):
            raise Rejected(f"properties.{meter.property}: a string or number is required by meter {meter.code}")
        return canonical(value)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise Rejected(f"properties.{meter.property}: a number is required by meter {meter.code}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise Rejected(f"properties.{meter.property}: a finite number is required")
    return Decimal(value)


def shard_of(event_id: str) -> int:
    return int.from_bytes(hashlib.sha256(event_id.encode()).digest()[:4], "big") % SHARDS


def latest_key(at: datetime, event_id: str) -> str:
    """Orders events for ``latest``: by timestamp, then event id (two events at one instant)."""
    return f"{iso_z(at, timespec='microseconds')}#{event_id}"


def day_of(at: datetime) -> date:
    return at.astimezone(UTC).date()


def period_for(anchor: datetime, timezone: str, interval: str, current: tuple[datetime, datetime],
               at: datetime) -> tuple[datetime, datetime]:
    """The billing period ``at`` falls in: the current one, or one counted from the subscription's
    anchor by whole intervals. An event from before the anchor (sent before the tenant's first
    access made its subscription, or under a plan since replaced) counts in the subscription's
    first period: no later period may lose it, and no period before the anchor is this
    subscription's to bill."""
    start, end = current
    if start <= at < end:
        return current
    step = Interval(unit=interval)  # type: ignore[arg-type]
    period: Period = period_containing(Anchor(anchor, timezone), step, max(at, anchor))
    return period.start, period.end


def fold(meter: Meter, measured: Sequence[tuple[str, Decimal | str]]) -> Decimal:
    """A period's value from its events' measures (``(latest_key, measure)`` pairs): what the
    aggregate must equal."""
    if not measured:
        return Decimal(0)
    if meter.aggregation in (Aggregation.COUNT, Aggregation.SUM):
        return sum((Decimal(v) for _, v in measured), Decimal(0))
    if meter.aggregation == Aggregation.MAX:
        return max(Decimal(v) for _, v in measured)
    if meter.aggregation == Aggregation.UNIQUE_COUNT:
        return Decimal(len({v for _, v in measured}))
    return Decimal(max(measured, key=lambda pair: pair[0])[1])


def combine(meter: Meter, shards: Sequence[dict[str, Any]]) -> Decimal:
    """One value from a period's (or a day's) shard items."""
    values = [s for s in shards if s.get("v") is not None]
    if not values:
        return Decimal(0)
    if meter.aggregation == Aggregation.MAX:
        return max(Decimal(s["v"]) for s in values)
    if meter.aggregation == Aggregation.LATEST:
        return Decimal(max(values, key=lambda s: str(s.get("at", "")))["v"])
    return sum((Decimal(s["v"]) for s in values), Decimal(0))


# Per-plan thresholds need a field on the catalog's Entitlement (a follow-up); until then every
# limited metered feature warns at these shares of its limit.
DEFAULT_THRESHOLDS = (80, 100)


def thresholds_reached(limit: int | Decimal | None, value: Decimal,
                       percents: Sequence[int] = DEFAULT_THRESHOLDS) -> list[int]:
    """The percents of ``limit`` that ``value`` has reached (``t <= value``), smallest first.
    No limit (or a zero one, of which no share is meaningful) has no thresholds."""
    if limit is None or limit <= 0:
        return []
    return [p for p in sorted(set(percents)) if value * 100 >= Decimal(limit) * p]


def thresholds_crossed(limit: int | Decimal | None, before: Decimal, after: Decimal,
                       percents: Sequence[int] = DEFAULT_THRESHOLDS) -> list[int]:
    """The percents crossed going from ``before`` to ``after`` (``before < t <= after``)."""
    earlier = set(thresholds_reached(limit, before, percents))
    return [p for p in thresholds_reached(limit, after, percents) if p not in earlier]
