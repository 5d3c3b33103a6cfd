"""What the usage API does: ingest a batch, read usage by day and for the period, check an
entitlement; plus ``recompute`` / ``verify`` for operators and tests. Plain logic over the store,
a catalog snapshot and the tenant's subscription."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from wrapper.catalog.models import Aggregation, Feature, FeatureKind, Meter, Plan
from wrapper.catalog.view import CatalogView, Snapshot
from wrapper.credits.service import Credits
from wrapper.events.catalog import EventType
from wrapper.events.envelope import audit_fields, new_event
from wrapper.kernel.actor import Actor
from wrapper.kernel.clock import Clock, now
from wrapper.kernel.errors import InvalidInput, NotFound, PermissionDenied, Unavailable
from wrapper.kernel.numbers import as_number
from wrapper.kernel.permissions import Permission
from wrapper.kernel.tenant import TenantContext
from wrapper.kernel.timestamps import iso_z
from wrapper.store.schema import stamp
from wrapper.store.table import StoreBusy, WriteRefused, retryable
from wrapper.subscriptions.models import ENTITLED, EntitlementView, Subscription
from wrapper.subscriptions.rules import resolve_entitlements
from wrapper.usage.logic import (
    DEFAULT_THRESHOLDS,
    Rejected,
    combine,
    day_of,
    event_id_of,
    fold,
    latest_key,
    matching,
    measure,
    parse_event,
    period_for,
    thresholds_reached,
)
from wrapper.usage.models import (
    DailyUsage,
    DailyValue,
    EntitlementCheck,
    EventResult,
    IngestResult,
    SummaryItem,
    UsageEvent,
    UsageSummary,
)
from wrapper.usage.store import UsageStore

LIMIT_REACHED = "limit_reached"
KNOWN_MARKERS = 10_000  # thresholds this container knows are published; forgotten (and re-checked) past it
MAX_DAYS = 366
Period = tuple[datetime, datetime]


@dataclass
class HardLimit:
    limit: int
    used: Decimal


class Usage:
    def __init__(self, store: UsageStore, catalog: CatalogView,
                 subscription_of: Callable[[TenantContext], Subscription], *, clock: Clock | None = None,
                 credits: Credits | None = None) -> None:
        self.store = store
        self.catalog = catalog
        self.subscription_of = subscription_of
        self.credits = credits
        self.clock = clock or now
        # Markers this container put or found: a tenant past a threshold does not pay a cancelled
        # transaction for it on every batch, only once per cold start.
        self._published: set[tuple[str, str, str, int]] = set()

    # -- ingestion ---------------------------------------------------------------------------------------
    def ingest(self, actor: Actor, events: list[Any]) -> IngestResult:
        """Each event on its own: accepted, duplicate or rejected with a reason, in the order sent.
        Refusing the batch as a whole (403) happens only when every event hit a hard limit: then
        the caller learns it from the status, as from any hard limit; otherwise the good events count."""
        actor.require(Permission.USAGE_WRITE)
        now = self.clock()
        subscription = self.subscription_of(actor.tenant)
        snapshot = self._snapshot_knowing(subscription)
        current = self._period(subscription, now)
        plan = self._plan(subscription, snapshot)
        views = self._entitlements(subscription, snapshot)  # once per batch: limits, rates, thresholds
        limits = self._hard_limits(actor.tenant, views, snapshot, current)
        rates = self._credit_rates(views, snapshot)
        charges = (self.credits.charges(actor.tenant, plan.credit_overdraft if plan else Decimal(0))
                   if rates and self.credits else None)
        results: list[EventResult] = []
        touched: dict[tuple[str, datetime], tuple[Meter, Period]] = {}
        for raw in events:
            event_id = event_id_of(raw)
            try:
                event = parse_event(raw, now)
                meters = matching(snapshot.meters.values(), event)
                if not meters:
                    # A meter created since the snapshot was taken must not wait for it to expire.
                    snapshot = self.catalog.snapshot(older_than=1.0)
                    meters = matching(snapshot.meters.values(), event)
                if not meters:
                    raise Rejected(f"unknown name: no meter counts events named {event.name!r}")
                measured = [(m, v) for m in meters if (v := measure(m, event)) is not None]
                if not measured:
                    raise Rejected("properties: lacks " + ", ".join(sorted({str(m.property) for m in meters})))
                period = self._period(subscription, event.timestamp)
                if period == current and any(
                        m.code in limits and limits[m.code].used >= limits[m.code].limit for m, _ in measured):
                    raise Rejected(LIMIT_REACHED)
                priced = [(m, Decimal(v) * rates[m.code]) for m, v in measured
                          if m.code in rates and m.aggregation in (Aggregation.COUNT, Aggregation.SUM)]
                cost = sum((c for _, c in priced), Decimal(0))
                charge = (charges.charge(cost, event.event_id, ",".join(m.code for m, _ in priced))
                          if charges is not None and cost > 0 else None)
                recorded = self.store.record(actor.tenant, event, measured, period[0], now.timestamp(),
                                             snapshot.meters, charge)
            except Rejected as refused:
                results.append(EventResult(event_id=event_id, status="rejected", reason=refused.reason))
                continue
            except Unavailable:
                results.append(EventResult(event_id=event_id, status="rejected",
                                           reason="temporarily unavailable: send it again"))
                continue
            except (WriteRefused, StoreBusy) as exc:
                if not retryable(exc):
                    raise
                # Nothing was written: the caller sends it again (same event_id, so never twice).
                results.append(EventResult(event_id=event_id, status="rejected",
                                           reason="temporarily unavailable: send it again"))
                continue
            if recorded and period == current:
                _count_in(limits, measured)
            # A duplicate too: it may be the retry of a request that failed before its thresholds.
            for meter, _ in measured:
                touched.setdefault((meter.code, period[0]), (meter, period))
            results.append(EventResult(event_id=event.event_id, status="accepted" if recorded else "duplicate"))
        if all(r.reason == LIMIT_REACHED for r in results):
            raise PermissionDenied("A hard usage limit of your plan is reached: no event of the batch was counted.",
                                   errors=[{"field": f"events.{n}", "message": LIMIT_REACHED}
                                           for n in range(len(results))])
        self._publish_thresholds(actor, views, snapshot, list(touched.values()))
        return IngestResult(results=results)

    def _publish_thresholds(self, actor: Actor, views: list[EntitlementView], snapshot: Snapshot,
                            touched: list[tuple[Meter, Period]]) -> None:
        """``usage.threshold_reached`` once per (tenant, meter, period, threshold), read after the
        aggregate writes: every threshold the period's value has reached and whose marker is absent
        (not just those this batch crossed, so two concurrent batches that each see the crossing,
        or a retry after a crash here, still publish it once: the marker's condition decides)."""
        limited = self._limited_features(views, snapshot)
        for meter, (start, end) in touched:
            if meter.code not in limited:
                continue
            feature, limit, percents = limited[meter.code]
            tenant_id = actor.tenant.tenant_id
            unknown = [p for p in percents if (tenant_id, meter.code, stamp(start), p) not in self._published]
            if not unknown:
                continue
            value = self._value(actor.tenant, meter, start)
            for percent in thresholds_reached(limit, value, unknown):
                key = (tenant_id, meter.code, stamp(start), percent)
                event = new_event(EventType.USAGE_THRESHOLD_REACHED, tenant_id, {
                    "meter": meter.code, "feature": feature, "threshold_percent": percent, "limit": limit,
                    "value": as_number(value), "period_start": _iso(start), "period_end": _iso(end),
                    **audit_fields(actor.user_id, meter.code, actor.request_meta)})
                try:
                    self.store.mark_threshold(actor.tenant, meter.code, start, percent, event)
                except (WriteRefused, StoreBusy) as exc:
                    if not retryable(exc):
                        raise
                    continue  # the events are counted; the next batch of this meter publishes it
                if len(self._published) >= KNOWN_MARKERS:
                    self._published.clear()
                self._published.add(key)

    @staticmethod
    def _limited_features(views: list[EntitlementView],
                          snapshot: Snapshot) -> dict[str, tuple[str, int, tuple[int, ...]]]:
        """Per meter, the granted feature that limits it, its limit and its thresholds (the plan's,
        or 80 and 100); the feature named as the meter speaks for a meter several limited features
        count (one marker per meter and threshold)."""
        found: dict[str, tuple[str, int, tuple[int, ...]]] = {}
        for view in sorted(views, key=lambda v: v.feature):
            feature = snapshot.features.get(view.feature)
            if view.limit is None or feature is None or feature.kind != FeatureKind.METERED or not feature.meter:
                continue
            if feature.meter not in found or feature.code == feature.meter:
                percents = tuple(view.thresholds) if view.thresholds else DEFAULT_THRESHOLDS
                found[feature.meter] = (feature.code, view.limit, percents)
        return found

    def _hard_limits(self, tenant: TenantContext, views: list[EntitlementView], snapshot: Snapshot,
                     period: Period) -> dict[str, HardLimit]:
        limits: dict[str, HardLimit] = {}
        for view in views:
            feature = snapshot.features.get(view.feature)
            if view.hard and view.limit is not None and feature is not None and feature.meter:
                meter = snapshot.meters.get(feature.meter)
                if meter is not None:
                    limits[meter.code] = HardLimit(view.limit, self._value(tenant, meter, period[0]))
        return limits

    # -- reads -------------------------------------------------------------------------------------------
    def daily(self, actor: Actor, meter_code: str, first: date | None, last: date | None) -> DailyUsage:
        actor.require(Permission.USAGE_READ)
        meter = self._meter(meter_code)
        today = day_of(self.clock())
        last = last or today
        first = first or last - timedelta(days=29)
        if first > last:
            raise InvalidInput("from is after to.", errors=[{"field": "from", "message": "after to"}])
        if (last - first).days >= MAX_DAYS:
            raise InvalidInput(f"At most {MAX_DAYS} days at once.", errors=[{"field": "from", "message": "too early"}])
        by_day: dict[date, list[dict[str, Any]]] = {}
        for item in self.store.day_shards(actor.tenant, meter.code, first, last):
            by_day.setdefault(date.fromisoformat(str(item["SK"]).split("#")[2]), []).append(item)
        return DailyUsage(meter=meter.code, items=[DailyValue(date=day, value=as_number(combine(meter, shards)))
                                                   for day, shards in sorted(by_day.items())])

    def summary(self, actor: Actor) -> UsageSummary:
        actor.require(Permission.USAGE_READ)
        subscription = self.subscription_of(actor.tenant)
        snapshot = self._snapshot_knowing(subscription)
        start, end = self._period(subscription, self.clock())
        granted = {v.feature: v for v in self._entitlements(subscription, snapshot)}
        # Several features may count one meter: the one the tenant's plan grants speaks for it.
        metered = sorted((f for f in snapshot.features.values() if f.kind == FeatureKind.METERED and f.meter),
                         key=lambda f: (f.code not in granted, f.code != f.meter, f.code))
        feature_of: dict[str, Feature] = {}
        for candidate in metered:
            feature_of.setdefault(str(candidate.meter), candidate)
        items = []
        for meter in sorted(snapshot.meters.values(), key=lambda m: m.code):
            value = self._value(actor.tenant, meter, start)
            feature = feature_of.get(meter.code)
            view = granted.get(feature.code) if feature else None
            limit = view.limit if view else None
            items.append(SummaryItem(meter=meter.code, feature=feature.code if feature else None,
                                     value=as_number(value), limit=limit,
                                     share=float(value / limit) if limit else None,
                                     period_start=start, period_end=end))
        return UsageSummary(items=items)

    def check(self, actor: Actor, feature_code: str) -> EntitlementCheck:
        """Two reads at most: the subscription (one GetItem) and the meter's shards (one Query)."""
        actor.require(Permission.USAGE_READ)
        subscription = self.subscription_of(actor.tenant)
        snapshot = self._snapshot_knowing(subscription)
        if feature_code not in snapshot.features:
            snapshot = self.catalog.snapshot(older_than=1.0)  # a feature made since the snapshot was taken
        feature = snapshot.features.get(feature_code)
        if feature is None:
            raise NotFound("No such feature.")
        view = next((v for v in self._entitlements(subscription, snapshot) if v.feature == feature.code), None)
        if view is None:
            return EntitlementCheck(feature=feature.code, allowed=False, limit=0, used=None, remaining=0, hard=False)
        if feature.kind != FeatureKind.METERED or not feature.meter or feature.meter not in snapshot.meters:
            return EntitlementCheck(feature=feature.code, allowed=view.enabled, limit=view.limit, used=None,
                                    remaining=None if view.limit is None else view.limit, hard=view.hard)
        used = self._value(actor.tenant, snapshot.meters[feature.meter], self._period(subscription, self.clock())[0])
        remaining = None if view.limit is None else max(Decimal(0), view.limit - used)
        allowed = view.enabled and (view.limit is None or used < view.limit)
        return EntitlementCheck(feature=feature.code, allowed=allowed, limit=view.limit, used=as_number(used),
                                remaining=None if remaining is None else as_number(remaining), hard=view.hard)

    # -- recomputation -----------------------------------------------------------------------------------
    def recompute(self, tenant: TenantContext, meter: Meter, period_start: datetime) -> Decimal:
        """The meter's value for a period, folded again from the raw events (which know their period)."""
        return recompute(self.store.events(tenant), meter, period_start)

    def verify(self, tenant: TenantContext, meter: Meter, period_start: datetime) -> tuple[Decimal, Decimal]:
        """(aggregate, recomputed): equal when counting was exact."""
        return self._value(tenant, meter, period_start), self.recompute(tenant, meter, period_start)

    def overdraft(self, tenant: TenantContext) -> Decimal:
        """How far below zero the tenant's plan lets its credit wallet go."""
        try:
            subscription = self.subscription_of(tenant)
        except NotFound:
            # No subscription, and no default plan to start one on: no plan allows an overdraft, and the
            # wallet (grants given before any plan existed) is still readable.
            return Decimal(0)
        plan = self._plan(subscription, self._snapshot_knowing(subscription))
        return plan.credit_overdraft if plan else Decimal(0)

    def current_period(self, tenant: TenantContext) -> Period:
        return self._period(self.subscription_of(tenant), self.clock())

    # -- internals ---------------------------------------------------------------------------------------
    def _value(self, tenant: TenantContext, meter: Meter, period_start: datetime) -> Decimal:
        return combine(meter, self.store.period_shards(tenant, meter.code, period_start))

    def _meter(self, code: str) -> Meter:
        meter = self.catalog.snapshot().meters.get(code) or self.catalog.snapshot(older_than=1.0).meters.get(code)
        if meter is None:
            raise InvalidInput("No such meter.", errors=[{"field": "meter", "message": f"no meter {code}"}])
        return meter

    @staticmethod
    def _period(subscription: Subscription, at: datetime) -> Period:
        return period_for(subscription.anchor, subscription.timezone, subscription.interval,
                          (subscription.current_period_start, subscription.current_period_end), at)

    def _snapshot_knowing(self, subscription: Subscription) -> Snapshot:
        """The catalog snapshot, taken again when it lacks the subscription's plan or add-ons: a tenant
        on a plan made since must not be held to the default plan until the snapshot expires."""
        snapshot = self.catalog.snapshot()
        wanted = [subscription.plan_id, *(addon.plan_id for addon in subscription.addons)]
        if any(plan_id and plan_id not in snapshot.plans for plan_id in wanted):
            snapshot = self.catalog.snapshot(older_than=0.0)
        return snapshot

    @staticmethod
    def _plan(subscription: Subscription, snapshot: Snapshot) -> Plan | None:
        """The plan the tenant is entitled by: its own while entitled, else the default plan."""
        entitled = subscription.status in ENTITLED
        return (snapshot.plans.get(subscription.plan_id) if entitled else None) or snapshot.default_plan()

    def _entitlements(self, subscription: Subscription, snapshot: Snapshot) -> list[EntitlementView]:
        plan = self._plan(subscription, snapshot)
        if plan is None:
            return []
        entitled = subscription.status in ENTITLED
        addons = [(p, a.quantity) for a in subscription.addons
                  if entitled and (p := snapshot.plans.get(a.plan_id)) is not None]
        return resolve_entitlements(plan, addons, snapshot.features)

    @staticmethod
    def _credit_rates(views: list[EntitlementView], snapshot: Snapshot) -> dict[str, Decimal]:
        """Per meter, the credits one unit consumes, where the plan prices a metered feature in credits."""
        rates: dict[str, Decimal] = {}
        for view in views:
            feature = snapshot.features.get(view.feature)
            if view.credit_rate and view.enabled and feature is not None and feature.meter:
                rates.setdefault(feature.meter, view.credit_rate)
        return rates


def recompute(events: Iterable[dict[str, Any]], meter: Meter, period_start: datetime) -> Decimal:
    """A meter's value for a period, folded again from a tenant's raw event items (``UsageStore.events``;
    each knows the period it was counted in): what the aggregates hold, when counting was exact."""
    measured: list[tuple[str, Decimal | str]] = []
    for item in events:
        if item.get("period") != stamp(period_start) or meter.code not in (item.get("meters") or []):
            continue
        event = _event_of(item)
        value = measure(meter, event)
        if value is not None:
            measured.append((latest_key(event.timestamp, event.event_id), value))
    return fold(meter, measured)


def _count_in(limits: dict[str, HardLimit], measured: list[tuple[Meter, Decimal | str]]) -> None:
    """What an accepted event adds to the batch's view of its hard-limited meters."""
    for meter, value in measured:
        limit = limits.get(meter.code)
        if limit is None:
            continue
        if meter.aggregation in (Aggregation.COUNT, Aggregation.SUM):
            limit.used += Decimal(value)
        elif meter.aggregation == Aggregation.MAX:
            limit.used = max(limit.used, Decimal(value))
        elif meter.aggregation == Aggregation.LATEST:
            limit.used = Decimal(value)
        # unique_count: whether the value is new is known to the store only; the next batch reads it.


def _event_of(item: dict[str, Any]) -> UsageEvent:
    import json

    return UsageEvent(event_id=str(item["event_id"]), name=str(item["name"]),
                      timestamp=datetime.fromisoformat(str(item["ts"]).replace("Z", "+00:00")),
                      properties=json.loads(str(item["properties"]), parse_float=Decimal))


def _iso(at: datetime) -> str:
    return iso_z(at, timespec="auto")
