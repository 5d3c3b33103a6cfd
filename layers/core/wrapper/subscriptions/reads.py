"""Reading a tenant's subscription: the current one (put on the default plan on first access), its
history, entitlements, the preview of a change, and the terms and targets the changes are priced from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ulid import ULID

from wrapper.catalog.models import Plan, PlanKind, Price
from wrapper.catalog.store import Catalog
from wrapper.events.catalog import EventType
from wrapper.events.envelope import audit_fields, new_event
from wrapper.invoices.issuing import charge_invoice_id, draft
from wrapper.invoices.models import Invoice
from wrapper.invoices.store import InvoiceStore
from wrapper.kernel.actor import Actor
from wrapper.kernel.clock import Clock, now
from wrapper.kernel.errors import NotFound, Unavailable
from wrapper.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from wrapper.kernel.permissions import Permission
from wrapper.kernel.request_meta import NO_REQUEST
from wrapper.kernel.tenant import TenantContext
from wrapper.money.invoicing import PricedLine
from wrapper.money.periods import Anchor, Interval, Period, first_period, period_containing
from wrapper.money.pricing import PriceSpec
from wrapper.money.proration import ChangeKind, Terms, preview_change
from wrapper.payments.collection import Collection
from wrapper.payments.port import Payments
from wrapper.store.table import WriteRefused
from wrapper.subscriptions.models import (
    ENTITLED,
    Addon,
    ChangePreview,
    ChangeRequest,
    CouponState,
    EntitlementView,
    IntervalUnit,
    PreviewLine,
    ScheduledChange,
    Subscription,
)
from wrapper.subscriptions.rules import (
    Target,
    coupon_discount,
    describe_terms,
    fingerprint,
    kind_name,
    resolve_entitlements,
    terms_of,
    unprocessable,
)
from wrapper.subscriptions.store import SubscriptionStore


class SubscriptionReads:
    """A tenant's subscription as it is, and what a change to it would be."""

    def __init__(self, store: SubscriptionStore, catalog: Catalog, payments: Callable[[], Payments], *,
                 billing_page: str, clock: Clock | None = None, invoices: InvoiceStore | None = None) -> None:
        self.store = store
        self.catalog = catalog
        self.invoices = invoices or InvoiceStore(store.table)
        self.collection = Collection(store, payments, billing_page=billing_page)
        self.billing_page = billing_page
        self.clock = clock or now

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
        preview, _, _ = self._plan_change(subscription, self._target(subscription, request), now)
        return preview

    def terms(self, subscription: Subscription) -> Terms:
        """What the subscription costs per period before any coupon: its price and add-ons."""
        return self._terms(subscription)

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
                {**audit_fields("system", created.id, NO_REQUEST), "plan_code": created.plan_code,
                 "status": created.status, "default_plan": True})])
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
            (p for p in reversed(self.catalog.prices(plan.id)) if p.active and p.spec.meter is None), None)
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

    def _chosen_plan(self, code: str, field: str, kind: PlanKind = PlanKind.BASE) -> Plan:
        plan = self.catalog.plan_by_code(code)
        if plan is None or plan.status != "active" or not plan.public or plan.kind != kind:
            raise unprocessable(field, f"No such {'add-on' if kind == PlanKind.ADDON else 'plan'}: {code}.")
        return plan

    def _price(self, plan: Plan, currency: str, interval: IntervalUnit, *, field: str) -> Price | None:
        price = self.catalog.active_price(plan.id, currency=currency, interval_unit=interval)
        if price is None:
            if plan.is_default and not any(p.active and p.spec.meter is None for p in self.catalog.prices(plan.id)):
                return None  # a free plan may have no price at all
            raise unprocessable(field, f"{plan.code} has no {interval}ly price in {currency}.")
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
                        description=describe_terms(subscription.plan_code, subscription.interval, subscription.seats))

    def _target_terms(self, target: Target, currency: str) -> Terms:
        lines = [(target.price.spec if target.price else None, target.seats)]
        lines += [(price.spec if price else None, quantity) for _, price, quantity in target.addons]
        return terms_of(lines, currency=currency, interval=target.interval,
                        description=describe_terms(target.plan.code, target.interval, target.seats))

    def _per_period(self, subscription: Subscription) -> int:
        return self._terms(subscription).amount

    def _period(self, subscription: Subscription, now: datetime) -> Period:
        return period_containing(Anchor(subscription.anchor, subscription.timezone),
                                 Interval(unit=subscription.interval), now)

    def _plan_change(self, current: Subscription, target: Target,
                     now: datetime) -> tuple[ChangePreview, Subscription, Invoice | None]:
        """What a change bills now, the subscription it leaves (the current one when nothing changes), and the
        draft invoice of what it charges now (None when nothing is charged now)."""
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
            return preview, current if same else self._next_version(current, now, **applied), None
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
            preview = ChangePreview(kind=kind_name(kind), effective_at=period.end, lines=[], subtotal=0, discount=0,
                                    amount_due=0, currency=currency, period_start=later.start, period_end=later.end)
            scheduled = ScheduledChange(plan_id=target.plan.id, plan_code=target.plan.code,
                                        price_id=target.price.id if target.price else None,
                                        interval=target.interval, seats=target.seats,
                                        at=period.end)
            if current.scheduled_change == scheduled:
                return preview, current, None
            return preview, self._next_version(current, now, scheduled_change=scheduled), None
        invoice = self._charge_draft(current, [PricedLine("proration", line.description, line.amount)
                                               for line in change.lines],
                                     subscription_id=current.id, currency=currency, coupon=current.coupon,
                                     period=(change.period.start, change.period.end), now=now)
        preview = ChangePreview(kind=kind_name(kind), effective_at=change.effective_at, lines=lines,
                                subtotal=invoice.subtotal, discount=invoice.discount, tax=invoice.tax,
                                amount_due=invoice.amount_due, currency=currency,
                                period_start=change.period.start, period_end=change.period.end)
        if same and current.scheduled_change is None:
            return preview, current, None
        extra: dict[str, Any] = {}
        if kind == ChangeKind.INTERVAL_SWITCH:
            extra = {"anchor": now, "current_period_start": change.period.start,
                     "current_period_end": change.period.end}
        else:
            extra = {"current_period_start": period.start, "current_period_end": period.end}
        return preview, self._next_version(current, now, **applied, **extra), invoice

    def _charge_draft(self, current: Subscription, lines: list[PricedLine], *, subscription_id: str, currency: str,
                      coupon: CouponState | None, period: tuple[datetime, datetime], now: datetime) -> Invoice:
        """The draft invoice of a charge made now from ``current`` (a subscribe, an upgrade): its id from the
        version it changes and what it bills, so the same change drafts the same invoice."""
        key = f"{current.id}:v{current.version}:{fingerprint([(x.kind, x.description, x.amount) for x in lines])}"
        tenant = TenantContext(current.tenant_id)
        return draft(self.catalog, self.store.profile(tenant), charge_invoice_id(tenant.tenant_id, key, now), lines,
                     currency=currency, tenant_id=tenant.tenant_id, subscription_id=subscription_id, period=period,
                     at=now, discount=coupon_discount(coupon, currency))

    def _next_version(self, subscription: Subscription, now: datetime, **changes: Any) -> Subscription:
        return subscription.model_copy(update={**changes, "updated_at": now, "version": subscription.version + 1})

    def _coupon_max(self, coupon: CouponState | None) -> int | None:
        found = self.catalog.coupon(coupon.code) if coupon else None
        return found.max_redemptions if found else None

    def _coupon_exhausted(self, coupon: CouponState) -> bool:
        # Catalog.coupon reads the count each redemption raises (the item's top-level times_redeemed).
        found = self.catalog.coupon(coupon.code)
        return found is not None and found.max_redemptions is not None and found.times_redeemed >= found.max_redemptions
