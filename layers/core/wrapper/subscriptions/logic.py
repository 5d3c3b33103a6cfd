"""What a tenant's subscription does: subscribe, preview and change, cancel and resume, entitlements,
Checkout and the portal. Plain logic over the store, the catalog and the payments port (see the package
docstring for the rules chosen)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from ulid import ULID

from wrapper.catalog.models import Coupon, CouponDuration, Feature, FeatureKind, Plan, PlanKind, Price
from wrapper.catalog.store import Catalog
from wrapper.events.catalog import EventType
from wrapper.events.envelope import EventEnvelope, new_event
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound, Unavailable
from wrapper.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from wrapper.kernel.permissions import Permission
from wrapper.kernel.tenant import TenantContext
from wrapper.money.amounts import exact, minor_as_major, to_minor
from wrapper.money.periods import Anchor, Interval, Period, first_period, period_containing
from wrapper.money.pricing import PriceSpec, amount_for
from wrapper.money.proration import ChangeKind, Terms, preview_change
from wrapper.payments.collection import Collection, PaymentRequired
from wrapper.payments.port import Charge, Payments
from wrapper.store.table import Item, WriteRefused
from wrapper.subscriptions.models import (
    ENTITLED,
    Addon,
    CancelRequest,
    ChangeKindName,
    ChangePreview,
    ChangeRequest,
    CheckoutLink,
    CheckoutRequest,
    CouponState,
    EntitlementView,
    IntervalUnit,
    PortalLink,
    PreviewLine,
    ScheduledChange,
    SubscribeRequest,
    Subscription,
    SubscriptionChange,
)
from wrapper.subscriptions.store import SubscriptionStore, dumps

Clock = Callable[[], datetime]
PURPOSE_CHANGE = "subscription_change"  # paid on a Checkout page; the webhook applies the change
PURPOSE_CHARGE = "subscription_charge"  # charged off-session while the request waited; already applied


# -- pure rules ---------------------------------------------------------------------------------------------------

def period_amount(spec: PriceSpec | None, quantity: int) -> int:
    return amount_for(spec, quantity) if spec is not None else 0


def terms_of(lines: list[tuple[PriceSpec | None, int]], *, currency: str, interval: IntervalUnit,
             description: str) -> Terms:
    """What the base price and the add-ons cost together per period."""
    return Terms(sum(period_amount(spec, quantity) for spec, quantity in lines), currency, Interval(unit=interval),
                 description)


def discount_of(coupon: CouponState | None, subtotal: int, currency: str) -> int:
    """What a coupon takes off a positive amount due, in minor units: a percentage of it (rounded once,
    half away from zero) or a fixed amount in the same currency, never more than the amount itself."""
    if coupon is None or subtotal <= 0 or coupon.periods_left == 0:
        return 0
    if coupon.percent_off is not None:
        off = to_minor(minor_as_major(subtotal, currency) * exact(coupon.percent_off) / 100, currency)
    elif coupon.amount_off is not None and (coupon.currency or "").upper() == currency.upper():
        off = coupon.amount_off
    else:
        off = 0
    return min(off, subtotal)


def coupon_state(coupon: Coupon | None, *, code: str, currency: str, now: datetime) -> CouponState:
    """The coupon's terms for a new subscription, or InvalidInput saying why it cannot be used."""
    def refuse(why: str) -> InvalidInput:
        return InvalidInput(why, errors=[{"field": "coupon", "message": why}])

    if coupon is None or not coupon.active:
        raise refuse("No such active coupon.")
    if coupon.expires_at is not None and coupon.expires_at <= now:
        raise refuse("The coupon has expired.")
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise refuse("The coupon has been redeemed as often as it may be.")
    if coupon.amount_off is not None and (coupon.currency or "").upper() != currency.upper():
        raise refuse(f"The coupon is for {coupon.currency}, not {currency}.")
    periods = {CouponDuration.ONCE: 1, CouponDuration.REPEATING: coupon.duration_in_periods or 1,
               CouponDuration.FOREVER: None}[coupon.duration]
    return CouponState(code=coupon.code.upper(), percent_off=coupon.percent_off, amount_off=coupon.amount_off,
                       currency=coupon.currency.upper() if coupon.currency else None, periods_left=periods)


def resolve_entitlements(plan: Plan, addons: list[tuple[Plan, int]],
                         features: Mapping[str, Feature]) -> list[EntitlementView]:
    """The plan's entitlements plus the add-ons': limits add up (an add-on's once per unit bought, and
    an unlimited one wins), booleans OR, ``hard`` if any source is hard. ``source`` is ``plan`` when the
    plan grants the feature at all, else ``addon``."""
    merged: dict[str, EntitlementView] = {}
    sources = [(plan, 1, "plan")] + [(addon, quantity, "addon") for addon, quantity in addons]
    for granting, quantity, source in sources:
        for given in granting.entitlements:
            feature = features.get(given.feature)
            kind = feature.kind if feature else (FeatureKind.BOOLEAN if given.limit is None else FeatureKind.LIMIT)
            limit = None if given.limit is None else given.limit * quantity
            seen = merged.get(given.feature)
            if seen is None:
                merged[given.feature] = EntitlementView(feature=given.feature, kind=kind, enabled=given.enabled,
                                                        limit=limit, hard=given.hard, source=source,  # type: ignore[arg-type]
                                                        thresholds=given.thresholds, credit_rate=given.credit_rate)
                continue
            both = None if seen.limit is None or limit is None else seen.limit + limit
            # Thresholds and the credit rate are the plan's when it sets them, else the first add-on's.
            merged[given.feature] = seen.model_copy(update={
                "enabled": seen.enabled or given.enabled, "limit": both, "hard": seen.hard or given.hard,
                "thresholds": seen.thresholds if seen.thresholds is not None else given.thresholds,
                "credit_rate": seen.credit_rate if seen.credit_rate is not None else given.credit_rate})
    return [merged[code] for code in sorted(merged)]


def fingerprint(value: Any) -> str:
    return hashlib.sha256(dumps(value).encode()).hexdigest()[:24]


# -- the service --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """What the subscription is to become: plan, its price, interval, seats and add-on prices."""

    plan: Plan
    price: Price | None
    interval: IntervalUnit
    seats: int
    addons: list[tuple[Plan, Price | None, int]]

    def addon_records(self) -> list[Addon]:
        return [Addon(plan_id=p.id, plan_code=p.code, price_id=price.id if price else None, quantity=q)
                for p, price, q in self.addons]


def _unprocessable(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"field": field, "message": message}])


class Subscriptions:
    def __init__(self, store: SubscriptionStore, catalog: Catalog, payments: Callable[[], Payments], *,
                 billing_page: str, clock: Clock | None = None) -> None:
        self.store = store
        self.catalog = catalog
        self.collection = Collection(store, payments, billing_page=billing_page)
        self.billing_page = billing_page
        self.clock = clock or (lambda: datetime.now(UTC))

    # -- reads ---------------------------------------------------------------------------------------------------

    def current(self, actor: Actor) -> Subscription:
        actor.require(Permission.BILLING_READ)
        return self._current(actor.tenant, self.clock())

    def current_of(self, tenant: TenantContext) -> Subscription:
        """The tenant's current subscription for the platform's own use (usage periods, limits): no
        permission asked, as a usage:write API key lacks billing:read and is not shown billing data."""
        return self._current(tenant, self.clock())

    def history(self, actor: Actor, *, limit: int | None, cursor: str | None) -> Page[Subscription]:
        actor.require(Permission.BILLING_READ)
        self._current(actor.tenant, self.clock())
        items, last = self.store.history(actor.tenant, limit=clamp_limit(limit),
                                         start_key=decode_cursor(cursor, partition_key=actor.tenant.pk))
        return Page[Subscription](items=items, next_cursor=encode_cursor(last))

    def entitlements(self, actor: Actor) -> list[EntitlementView]:
        actor.require(Permission.USAGE_READ)
        subscription = self._current(actor.tenant, self.clock())
        plan = self.catalog.plan(subscription.plan_id) if subscription.status in ENTITLED else None
        plan = plan or self._default_plan()
        addons = [(p, a.quantity) for a in subscription.addons
                  if subscription.status in ENTITLED and (p := self.catalog.plan(a.plan_id)) is not None]
        return resolve_entitlements(plan, addons, {f.code: f for f in self.catalog.features()})

    def preview(self, actor: Actor, request: ChangeRequest) -> ChangePreview:
        actor.require(Permission.BILLING_READ)
        now = self.clock()
        subscription = self._current(actor.tenant, now)
        preview, _ = self._plan_change(subscription, self._target(subscription, request), now)
        return preview

    # -- changes -------------------------------------------------------------------------------------------------

    def subscribe(self, actor: Actor, request: SubscribeRequest, *, request_id: str | None,
                  source_ip: str | None) -> SubscriptionChange:
        actor.require(Permission.BILLING_WRITE)
        now = self.clock()
        tenant = actor.tenant
        current = self._current(tenant, now)
        if current.status in ENTITLED and self._per_period(current) > 0:
            raise Conflict(f"The tenant already pays for {current.plan_code}; change it with "
                           "PATCH /v1/subscriptions/current.")
        currency = request.currency.upper()
        plan = self._chosen_plan(request.plan_code, "plan_code")
        price = self._price(plan, currency, request.interval, field="plan_code")
        addons = [(p, self._price(p, currency, request.interval, field="addons"), a.quantity)
                  for a in request.addons for p in [self._chosen_plan(a.plan_code, "addons", PlanKind.ADDON)]]
        coupon = None
        if request.coupon:
            coupon = coupon_state(self.catalog.coupon(request.coupon), code=request.coupon, currency=currency,
                                  now=now)
            if self.store.coupon_used(tenant, coupon.code):
                raise _unprocessable("coupon", "This tenant has already used the coupon.")
            if self._coupon_exhausted(coupon):
                raise _unprocessable("coupon", "The coupon has been redeemed as often as it may be.")
        timezone = current.timezone
        if plan.trial_days:
            trial_end = now + timedelta(days=plan.trial_days)
            anchor, status, period_start, period_end = trial_end, "trialing", now, trial_end
        else:
            trial_end = None
            period = first_period(Anchor(now, timezone), Interval(unit=request.interval))
            anchor, status, period_start, period_end = now, "active", period.start, period.end
        started = Subscription(
            id=str(ULID()), tenant_id=tenant.tenant_id, plan_id=plan.id, plan_code=plan.code,
            price_id=price.id if price else None, interval=request.interval, currency=currency, seats=request.seats,
            status=status, anchor=anchor, timezone=timezone,  # type: ignore[arg-type]
            current_period_start=period_start, current_period_end=period_end, trial_end=trial_end, coupon=coupon,
            addons=Target(plan, price, request.interval, request.seats, addons).addon_records(), created_at=now,
            updated_at=now, version=current.version + 1)
        terms = self._terms(started)
        subtotal = 0 if trial_end else terms.amount
        discount = discount_of(coupon, subtotal, currency)
        preview = ChangePreview(kind="trial" if trial_end else "subscribe", effective_at=now,
                                lines=[] if trial_end else [PreviewLine(description=terms.description,
                                                                        amount=terms.amount)],
                                subtotal=subtotal, discount=discount, amount_due=max(0, subtotal - discount),
                                currency=currency, period_start=period_start, period_end=period_end)
        ended = current.model_copy(update={"status": "canceled", "canceled_at": now, "updated_at": now})
        audit = {"actor": actor.user_id, "target": started.id, "request_id": request_id, "source_ip": source_ip}
        event_data = {**audit, "plan_code": plan.code, "replaces": current.id, "status": status,
                      "coupon": coupon.code if coupon else None}
        coupon_ops = self._coupon_ops(tenant, coupon)
        pending = {"kind": "subscribe", "ended": ended.model_dump_json(), "coupon": coupon.code if coupon else None,
                   "coupon_max": self._coupon_max(coupon), "event_type": EventType.SUBSCRIPTION_CREATED.value,
                   "event_data": dumps(event_data)}
        charge = self._collect(actor, current, started, preview, pending, audit) if preview.amount_due > 0 else None
        events = [new_event(EventType.SUBSCRIPTION_CREATED, tenant.tenant_id, event_data)]
        if charge:
            events.append(self._paid_event(tenant, charge.id, preview, audit))
        try:
            self._write_or_refund([*self.store.save_ops(started, expected_version=current.version),
                                   *self.store.ended_ops(ended), *coupon_ops], events, charge)
        except Conflict:
            if coupon and self._coupon_exhausted(coupon):
                raise _unprocessable("coupon", "The coupon has been redeemed as often as it may be.") from None
            raise
        return SubscriptionChange(subscription=started, preview=preview, payment_id=charge.id if charge else None)

    def change(self, actor: Actor, request: ChangeRequest, *, request_id: str | None,
               source_ip: str | None) -> SubscriptionChange:
        actor.require(Permission.BILLING_WRITE)
        now = self.clock()
        current = self._current(actor.tenant, now)
        preview, changed = self._plan_change(current, self._target(current, request), now)
        if changed == current:
            return SubscriptionChange(subscription=current, preview=preview)
        audit = {"actor": actor.user_id, "target": current.id, "request_id": request_id, "source_ip": source_ip}
        event_data = {**audit, "change": preview.kind, "plan_code": changed.plan_code, "seats": changed.seats,
                      "interval": changed.interval,
                      "scheduled_at": changed.scheduled_change.at.isoformat() if changed.scheduled_change else None}
        pending = {"kind": "change", "event_type": EventType.SUBSCRIPTION_UPDATED.value,
                   "event_data": dumps(event_data)}
        charge = self._collect(actor, current, changed, preview, pending, audit) if preview.amount_due > 0 else None
        events = [new_event(EventType.SUBSCRIPTION_UPDATED, actor.tenant.tenant_id, event_data)]
        if charge:
            events.append(self._paid_event(actor.tenant, charge.id, preview, audit))
        self._write_or_refund(self.store.save_ops(changed, expected_version=current.version), events, charge)
        return SubscriptionChange(subscription=changed, preview=preview, payment_id=charge.id if charge else None)

    def cancel(self, actor: Actor, request: CancelRequest, *, request_id: str | None,
               source_ip: str | None) -> Subscription:
        actor.require(Permission.BILLING_WRITE)
        now = self.clock()
        current = self._current(actor.tenant, now)
        if self._is_default(current):
            raise Conflict("The tenant is on the default plan: there is nothing to cancel.")
        audit = {"actor": actor.user_id, "target": current.id, "request_id": request_id, "source_ip": source_ip}
        if request.at_period_end:
            if current.cancel_at_period_end:
                return current
            changed = self._next_version(current, now, cancel_at_period_end=True, scheduled_change=None)
            self._write(self.store.save_ops(changed, expected_version=current.version), [new_event(
                EventType.SUBSCRIPTION_UPDATED, actor.tenant.tenant_id,
                {**audit, "change": "cancel_at_period_end", "at": current.current_period_end.isoformat()})])
            return changed
        return self._end(current, now, audit)

    def resume(self, actor: Actor, *, request_id: str | None, source_ip: str | None) -> Subscription:
        actor.require(Permission.BILLING_WRITE)
        now = self.clock()
        current = self._current(actor.tenant, now)
        if not current.cancel_at_period_end:
            raise Conflict("The subscription is not set to cancel: there is nothing to resume.")
        changed = self._next_version(current, now, cancel_at_period_end=False)
        self._write(self.store.save_ops(changed, expected_version=current.version), [new_event(
            EventType.SUBSCRIPTION_UPDATED, actor.tenant.tenant_id,
            {"actor": actor.user_id, "target": current.id, "request_id": request_id, "source_ip": source_ip,
             "change": "resumed"})])
        return changed

    def apply_scheduled_changes(self, tenant: TenantContext, now: datetime) -> Subscription | None:
        """At or after the period end: end a subscription set to cancel (the tenant goes back to the default
        plan), or apply its scheduled change. The billing run calls it; nothing happens before the end."""
        current = self.store.current(tenant)
        if current is None or now < current.current_period_end:
            return current
        audit = {"actor": "billing-run", "target": current.id, "request_id": None, "source_ip": None}
        if current.cancel_at_period_end:
            return self._end(current, current.current_period_end, audit, at=now)
        change = current.scheduled_change
        if change is None or now < change.at:
            return current
        changed = self.with_scheduled_change(current, change, now)
        self._write(self.store.save_ops(changed, expected_version=current.version), [new_event(
            EventType.SUBSCRIPTION_UPDATED, tenant.tenant_id,
            {**audit, "change": "scheduled", "plan_code": change.plan_code, "seats": change.seats,
             "interval": change.interval})])
        return changed

    def end_at_period_end(self, current: Subscription, audit: dict[str, Any]) -> Subscription:
        """End ``current`` at its period end (the billing run): the default plan's period starts there."""
        return self._end(current, current.current_period_end, audit)

    def terms(self, subscription: Subscription) -> Terms:
        """What the subscription costs per period before any coupon: its price and add-ons."""
        return self._terms(subscription)

    def with_scheduled_change(self, current: Subscription, change: ScheduledChange, now: datetime) -> Subscription:
        """``current`` on the terms of its scheduled change, in the period containing ``now`` (not written)."""
        anchor = change.at if change.interval != current.interval else current.anchor
        period = period_containing(Anchor(anchor, current.timezone), Interval(unit=change.interval), now)
        return self._next_version(
            current, now, plan_id=change.plan_id, plan_code=change.plan_code, price_id=change.price_id,
            interval=change.interval, seats=change.seats, anchor=anchor, current_period_start=period.start,
            current_period_end=period.end, scheduled_change=None,
            addons=self._addons_for(current.addons, current.currency, change.interval))

    # -- Checkout and the portal -----------------------------------------------------------------------------

    def checkout(self, actor: Actor, request: CheckoutRequest) -> CheckoutLink:
        actor.require(Permission.BILLING_WRITE)
        customer = self.collection.customer(actor.tenant, actor.user_id)
        currency = self._current(actor.tenant, self.clock()).currency
        session = self.collection.call(lambda p: p.checkout_session(
            customer, request.mode, None, currency, "Save a card for your subscription",
            f"{self.billing_page}?checkout=success", f"{self.billing_page}?checkout=canceled",
            {"tenant_id": actor.tenant.tenant_id, "purpose": "setup"}, idempotency_key=f"setup:{ULID()}"))
        return CheckoutLink(id=session.id, url=session.url)

    def portal(self, actor: Actor) -> PortalLink:
        actor.require(Permission.BILLING_WRITE)
        customer = self.collection.customer(actor.tenant, actor.user_id)
        return PortalLink(url=self.collection.call(lambda p: p.portal_session(customer, self.billing_page)))

    # -- internals -----------------------------------------------------------------------------------------------

    def _current(self, tenant: TenantContext, now: datetime) -> Subscription:
        """The current subscription; a tenant without one is put on the default plan (once: the write is
        conditional, and a concurrent first access reads the winner's)."""
        found = self.store.current(tenant)
        if found is not None:
            return found
        created = self._default_subscription(tenant, now, version=1, timezone=None)
        try:
            self.store.write(self.store.save_ops(created, expected_version=None), [new_event(
                EventType.SUBSCRIPTION_CREATED, tenant.tenant_id,
                {"actor": "system", "target": created.id, "request_id": None, "source_ip": None,
                 "plan_code": created.plan_code, "status": created.status, "default_plan": True})])
        except WriteRefused:
            again = self.store.current(tenant)
            if again is None:
                raise
            return again
        return created

    def _default_plan(self) -> Plan:
        plan = self.catalog.default_plan()
        if plan is None:
            # Not a server fault: the operator has not seeded a catalog yet.
            raise NotFound("The tenant has no subscription and the catalog has no default plan to start one on.")
        return plan

    def _default_subscription(self, tenant: TenantContext, now: datetime, *, version: int,
                              timezone: str | None) -> Subscription:
        plan = self._default_plan()
        price = self.catalog.active_price(plan.id, currency="USD", interval_unit="month") or next(
            (p for p in reversed(self.catalog.prices(plan.id)) if p.active), None)
        interval: IntervalUnit = price.interval.unit if price else "month"
        zone = timezone or str(self.store.profile(tenant).get("timezone") or "UTC")
        period = first_period(Anchor(now, zone), Interval(unit=interval))
        return Subscription(id=str(ULID()), tenant_id=tenant.tenant_id, plan_id=plan.id, plan_code=plan.code,
                            price_id=price.id if price else None, interval=interval,
                            currency=price.spec.currency if price else "USD", seats=1, status="active", anchor=now,
                            timezone=zone, current_period_start=period.start, current_period_end=period.end,
                            created_at=now, updated_at=now, version=version)

    def _is_default(self, subscription: Subscription) -> bool:
        plan = self.catalog.plan(subscription.plan_id)
        return plan is not None and plan.is_default

    def _end(self, current: Subscription, now: datetime, audit: dict[str, Any], *,
             at: datetime | None = None) -> Subscription:
        """End ``current`` now (no refund for unused time) and put the tenant on the default plan."""
        stamp = at or now
        ended = current.model_copy(update={"status": "canceled", "canceled_at": now, "updated_at": stamp,
                                           "cancel_at_period_end": False})
        fallback = self._default_subscription(TenantContext(current.tenant_id), now,
                                              version=current.version + 1, timezone=current.timezone)
        fallback = fallback.model_copy(update={"updated_at": stamp})
        self._write([*self.store.save_ops(fallback, expected_version=current.version),
                     *self.store.ended_ops(ended)],
                    [new_event(EventType.SUBSCRIPTION_CANCELED, current.tenant_id,
                               {**audit, "plan_code": current.plan_code, "canceled_at": now.isoformat(),
                                "now_on": fallback.plan_code})])
        return fallback

    def _chosen_plan(self, code: str, field: str, kind: PlanKind = PlanKind.BASE) -> Plan:
        plan = self.catalog.plan_by_code(code)
        if plan is None or plan.status != "active" or not plan.public or plan.kind != kind:
            raise _unprocessable(field, f"No such {'add-on' if kind == PlanKind.ADDON else 'plan'}: {code}.")
        return plan

    def _price(self, plan: Plan, currency: str, interval: IntervalUnit, *, field: str) -> Price | None:
        price = self.catalog.active_price(plan.id, currency=currency, interval_unit=interval)
        if price is None:
            if plan.is_default and not any(p.active for p in self.catalog.prices(plan.id)):
                return None  # a free plan may have no price at all
            raise _unprocessable(field, f"{plan.code} has no {interval}ly price in {currency}.")
        return price

    def _addons_for(self, addons: list[Addon], currency: str, interval: IntervalUnit) -> list[Addon]:
        kept = []
        for addon in addons:
            plan = self.catalog.plan(addon.plan_id)
            if plan is None:
                continue
            price = self.catalog.active_price(plan.id, currency=currency, interval_unit=interval)
            kept.append(addon.model_copy(update={"price_id": price.id if price else None}))
        return kept

    def _target(self, current: Subscription, request: ChangeRequest) -> Target:
        if request.plan_code and request.plan_code != current.plan_code:
            plan = self._chosen_plan(request.plan_code, "plan_code")
        else:
            found = self.catalog.plan(current.plan_id)
            if found is None:
                raise Unavailable("The subscription's plan is missing from the catalog.")
            plan = found
        interval = request.interval or current.interval
        seats = request.seats or current.seats
        if plan.id == current.plan_id and interval == current.interval:
            # An existing subscription keeps the price version it was sold until migrated.
            price = self.catalog.price(plan.id, current.price_id) if current.price_id else None
        else:
            price = self._price(plan, current.currency, interval, field="interval" if request.interval else "plan_code")
        addons: list[tuple[Plan, Price | None, int]] = []
        for addon in current.addons:
            addon_plan = self.catalog.plan(addon.plan_id)
            if addon_plan is None:
                continue
            if interval == current.interval:
                addon_price = self.catalog.price(addon.plan_id, addon.price_id) if addon.price_id else None
            else:
                addon_price = self._price(addon_plan, current.currency, interval, field="interval")
            addons.append((addon_plan, addon_price, addon.quantity))
        return Target(plan, price, interval, seats, addons)

    def _spec(self, plan_id: str, price_id: str | None) -> PriceSpec | None:
        price = self.catalog.price(plan_id, price_id) if price_id else None
        return price.spec if price else None

    def _terms(self, subscription: Subscription) -> Terms:
        lines = [(self._spec(subscription.plan_id, subscription.price_id), subscription.seats)]
        lines += [(self._spec(a.plan_id, a.price_id), a.quantity) for a in subscription.addons]
        return terms_of(lines, currency=subscription.currency, interval=subscription.interval,
                        description=_describe(subscription.plan_code, subscription.interval, subscription.seats))

    def _target_terms(self, target: Target, currency: str) -> Terms:
        lines = [(target.price.spec if target.price else None, target.seats)]
        lines += [(price.spec if price else None, quantity) for _, price, quantity in target.addons]
        return terms_of(lines, currency=currency, interval=target.interval,
                        description=_describe(target.plan.code, target.interval, target.seats))

    def _per_period(self, subscription: Subscription) -> int:
        return self._terms(subscription).amount

    def _period(self, subscription: Subscription, now: datetime) -> Period:
        return period_containing(Anchor(subscription.anchor, subscription.timezone),
                                 Interval(unit=subscription.interval), now)

    def _plan_change(self, current: Subscription, target: Target, now: datetime) -> tuple[ChangePreview, Subscription]:
        """What a change bills now and the subscription it leaves (the current one when nothing changes)."""
        applied = {"plan_id": target.plan.id, "plan_code": target.plan.code,
                   "price_id": target.price.id if target.price else None, "interval": target.interval,
                   "seats": target.seats, "addons": target.addon_records(), "scheduled_change": None}
        same = all(getattr(current, k) == v for k, v in applied.items())
        currency = current.currency
        if current.status == "trialing" or now < current.anchor:
            # Nothing is billed during a trial: the change applies at once, and the trial runs on.
            preview = ChangePreview(kind="trial", effective_at=now, lines=[], subtotal=0, discount=0, amount_due=0,
                                    currency=currency, period_start=current.current_period_start,
                                    period_end=current.current_period_end)
            return preview, current if same else self._next_version(current, now, **applied)
        period = self._period(current, now)
        old, new = self._terms(current), self._target_terms(target, currency)
        change = preview_change(period, now, old, new)
        lines = [PreviewLine(description=line.description, amount=line.amount) for line in change.lines]
        subtotal = change.amount_due
        kind = change.kind
        scheduled_switch = kind == ChangeKind.INTERVAL_SWITCH and subtotal < 0
        if kind == ChangeKind.DOWNGRADE or scheduled_switch:
            later = change.period if not scheduled_switch else first_period(
                Anchor(period.end, current.timezone), Interval(unit=target.interval))
            preview = ChangePreview(kind=_kind_name(kind), effective_at=period.end, lines=[], subtotal=0, discount=0,
                                    amount_due=0, currency=currency, period_start=later.start, period_end=later.end)
            scheduled = ScheduledChange(plan_id=target.plan.id, plan_code=target.plan.code,
                                        price_id=target.price.id if target.price else None,
                                        interval=target.interval, seats=target.seats,
                                        at=period.end)
            if current.scheduled_change == scheduled:
                return preview, current
            return preview, self._next_version(current, now, scheduled_change=scheduled)
        discount = discount_of(current.coupon, subtotal, currency)
        preview = ChangePreview(kind=_kind_name(kind), effective_at=change.effective_at, lines=lines, subtotal=subtotal,
                                discount=discount, amount_due=max(0, subtotal - discount), currency=currency,
                                period_start=change.period.start, period_end=change.period.end)
        if same and current.scheduled_change is None:
            return preview, current
        extra: dict[str, Any] = {}
        if kind == ChangeKind.INTERVAL_SWITCH:
            extra = {"anchor": now, "current_period_start": change.period.start,
                     "current_period_end": change.period.end}
        else:
            extra = {"current_period_start": period.start, "current_period_end": period.end}
        return preview, self._next_version(current, now, **applied, **extra)

    def _next_version(self, subscription: Subscription, now: datetime, **changes: Any) -> Subscription:
        return subscription.model_copy(update={**changes, "updated_at": now, "version": subscription.version + 1})

    def _coupon_max(self, coupon: CouponState | None) -> int | None:
        found = self.catalog.coupon(coupon.code) if coupon else None
        return found.max_redemptions if found else None

    def _coupon_exhausted(self, coupon: CouponState) -> bool:
        # Catalog.coupon reads the count each redemption raises (the item's top-level times_redeemed).
        found = self.catalog.coupon(coupon.code)
        return found is not None and found.max_redemptions is not None and found.times_redeemed >= found.max_redemptions

    def _coupon_ops(self, tenant: TenantContext, coupon: CouponState | None) -> list[dict[str, Any]]:
        return self.store.redeem_coupon_ops(tenant, coupon.code, self._coupon_max(coupon)) if coupon else []

    def _collect(self, actor: Actor, before: Subscription, after: Subscription, preview: ChangePreview,
                 pending: dict[str, Any], audit: dict[str, Any]) -> Charge:
        """Charge the amount due on the saved card, or raise PaymentRequired with a Checkout page for it
        (the change waits in a CHECKOUT item until the webhook reports the payment)."""
        tenant = actor.tenant
        operation = fingerprint({"target": after.model_dump(mode="json", exclude={"updated_at", "created_at"}),
                                 "amount": preview.amount_due})
        key = f"{before.id}:v{before.version}:{operation}"
        description = f"{after.plan_code}: {preview.kind}"
        attempt = self.collection.charge_saved_card(
            tenant, actor.user_id, preview.amount_due, preview.currency, description=description, key=key,
            metadata={"tenant_id": tenant.tenant_id, "purpose": PURPOSE_CHARGE, "subscription_id": before.id})
        if attempt.charge is not None:
            return attempt.charge
        declined, payment_id, method = attempt.declined, attempt.payment_id, attempt.method
        ref = str(ULID())
        session = self.collection.payment_page(
            attempt.customer, preview.amount_due, preview.currency, description=description, key=key,
            metadata={"tenant_id": tenant.tenant_id, "purpose": PURPOSE_CHANGE, "checkout_ref": ref,
                      "subscription_id": before.id})
        item: Item = {"ref": ref, "expected_version": before.version, "target": after.model_dump_json(),
                      "amount": preview.amount_due, "currency": preview.currency, "preview": preview.model_dump_json(),
                      **{k: v for k, v in pending.items() if v is not None}}
        events: list[EventEnvelope] = []
        if payment_id or method:
            events.append(new_event(EventType.PAYMENT_FAILED, tenant.tenant_id, {
                **audit, "payment_id": payment_id, "amount": preview.amount_due, "currency": preview.currency,
                "reason": declined, "checkout_session_id": session.id}))
        try:
            self.store.write([self.store.checkout_op(tenant, session.id, item, time.time())], events)
        except WriteRefused:
            raise Conflict("This payment was already made; read the subscription again.") from None
        raise PaymentRequired(f"The saved card could not pay {preview.amount_due} {preview.currency} "
                              f"({declined}): pay on the Checkout page and the change applies.",
                              checkout_url=session.url, checkout_session_id=session.id,
                              amount_due=preview.amount_due, currency=preview.currency)

    def _paid_event(self, tenant: TenantContext, payment_id: str, preview: ChangePreview,
                    audit: dict[str, Any]) -> EventEnvelope:
        return new_event(EventType.PAYMENT_SUCCEEDED, tenant.tenant_id, {
            **audit, "payment_id": payment_id, "amount": preview.amount_due, "currency": preview.currency,
            "reason": preview.kind})

    def _write(self, operations: list[dict[str, Any]], events: list[EventEnvelope]) -> None:
        try:
            self.store.write(operations, events)
        except WriteRefused:
            raise Conflict("The subscription changed meanwhile; read it again and retry.") from None

    def _write_or_refund(self, operations: list[dict[str, Any]], events: list[EventEnvelope],
                         charge: Charge | None) -> None:
        """Write the change; if it lost a race after the money moved, give the money back."""
        try:
            self._write(operations, events)
        except Conflict:
            if charge is not None:
                self.collection.refund(charge)
            raise



def _describe(plan_code: str, interval: str, seats: int) -> str:
    return f"{plan_code} ({interval}ly, {seats} seat{'s' if seats != 1 else ''})"


def _kind_name(kind: ChangeKind) -> ChangeKindName:
    return cast(ChangeKindName, kind.value)
