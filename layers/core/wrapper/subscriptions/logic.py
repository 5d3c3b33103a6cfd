"""Changing a tenant's subscription: subscribe, change, cancel and resume, scheduled changes, Checkout and
the portal, and collecting what they cost. Reads are ``subscriptions.reads``, the rules that need no I/O
``subscriptions.rules`` (see the package docstring for the rules chosen)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ulid import ULID

from wrapper.catalog.models import PlanKind
from wrapper.events.catalog import EventType
from wrapper.events.envelope import EventEnvelope, audit_fields, new_event
from wrapper.invoices.issuing import issue, issued_events, paid
from wrapper.invoices.models import Invoice
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import Conflict
from wrapper.kernel.permissions import Permission
from wrapper.kernel.request_meta import NO_REQUEST
from wrapper.kernel.tenant import TenantContext
from wrapper.money.periods import Anchor, Interval, first_period, period_containing
from wrapper.payments.collection import PaymentRequired
from wrapper.payments.port import Charge
from wrapper.store.table import Item, WriteRefused
from wrapper.subscriptions.models import (
    ENTITLED,
    CancelRequest,
    ChangePreview,
    ChangeRequest,
    CheckoutLink,
    CheckoutRequest,
    CouponState,
    PortalLink,
    PreviewLine,
    ScheduledChange,
    SubscribeRequest,
    Subscription,
    SubscriptionChange,
)
from wrapper.subscriptions.reads import SubscriptionReads
from wrapper.subscriptions.rules import Target, coupon_state, fee_lines, fingerprint, unprocessable
from wrapper.subscriptions.store import dumps

PURPOSE_CHANGE = "subscription_change"  # paid on a Checkout page; the webhook applies the change
PURPOSE_CHARGE = "subscription_charge"  # charged off-session while the request waited; already applied


class Subscriptions(SubscriptionReads):
    """Changes to a tenant's subscription, and the payments they take."""

    def subscribe(self, actor: Actor, request: SubscribeRequest) -> SubscriptionChange:
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
                raise unprocessable("coupon", "This tenant has already used the coupon.")
            if self._coupon_exhausted(coupon):
                raise unprocessable("coupon", "The coupon has been redeemed as often as it may be.")
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
        invoice = None if trial_end else self._charge_draft(
            current, fee_lines(started, self.catalog.price), subscription_id=started.id, currency=currency,
            coupon=coupon, period=(period_start, period_end), now=now)
        preview = ChangePreview(kind="trial" if trial_end else "subscribe", effective_at=now,
                                lines=[] if trial_end else [PreviewLine(description=terms.description,
                                                                        amount=terms.amount)],
                                **self._amounts(invoice), currency=currency, period_start=period_start,
                                period_end=period_end)
        ended = current.model_copy(update={"status": "canceled", "canceled_at": now, "updated_at": now})
        audit = audit_fields(actor.user_id, started.id, actor.request_meta)
        event_data = {**audit, "plan_code": plan.code, "replaces": current.id, "status": status,
                      "coupon": coupon.code if coupon else None}
        coupon_ops = self._coupon_ops(tenant, coupon)
        pending = {"kind": "subscribe", "ended": ended.model_dump_json(), "coupon": coupon.code if coupon else None,
                   "coupon_max": self._coupon_max(coupon), "event_type": EventType.SUBSCRIPTION_CREATED.value,
                   "event_data": dumps(event_data)}
        # The event is made (and its data checked) before any money moves.
        events = [new_event(EventType.SUBSCRIPTION_CREATED, tenant.tenant_id, event_data)]
        charge = self._collect(actor, current, started, preview, pending, audit, invoice) \
            if preview.amount_due > 0 else None
        if charge:
            events.append(self._paid_event(tenant, charge.id, preview, audit))
        try:
            self._write_or_refund([*self.store.save_ops(started, expected_version=current.version),
                                   *self.store.ended_ops(ended), *coupon_ops], events, charge,
                                  self._billed(invoice, charge), audit)
        except Conflict:
            if coupon and self._coupon_exhausted(coupon):
                raise unprocessable("coupon", "The coupon has been redeemed as often as it may be.") from None
            raise
        return SubscriptionChange(subscription=started, preview=preview, payment_id=charge.id if charge else None)

    def change(self, actor: Actor, request: ChangeRequest) -> SubscriptionChange:
        actor.require(Permission.BILLING_WRITE)
        now = self.clock()
        current = self._current(actor.tenant, now)
        preview, changed, invoice = self._plan_change(current, self._target(current, request), now)
        if changed == current:
            return SubscriptionChange(subscription=current, preview=preview)
        audit = audit_fields(actor.user_id, current.id, actor.request_meta)
        event_data = {**audit, "change": preview.kind, "plan_code": changed.plan_code, "seats": changed.seats,
                      "interval": changed.interval,
                      "scheduled_at": changed.scheduled_change.at.isoformat() if changed.scheduled_change else None}
        pending = {"kind": "change", "event_type": EventType.SUBSCRIPTION_UPDATED.value,
                   "event_data": dumps(event_data)}
        # The event is made (and its data checked) before any money moves.
        events = [new_event(EventType.SUBSCRIPTION_UPDATED, actor.tenant.tenant_id, event_data)]
        charge = self._collect(actor, current, changed, preview, pending, audit, invoice) \
            if preview.amount_due > 0 else None
        if charge:
            events.append(self._paid_event(actor.tenant, charge.id, preview, audit))
        self._write_or_refund(self.store.save_ops(changed, expected_version=current.version), events, charge,
                              self._billed(invoice, charge), audit)
        return SubscriptionChange(subscription=changed, preview=preview, payment_id=charge.id if charge else None)

    def cancel(self, actor: Actor, request: CancelRequest) -> Subscription:
        actor.require(Permission.BILLING_WRITE)
        now = self.clock()
        current = self._current(actor.tenant, now)
        if self._is_default(current):
            raise Conflict("The tenant is on the default plan: there is nothing to cancel.")
        audit = audit_fields(actor.user_id, current.id, actor.request_meta)
        if request.at_period_end:
            if current.cancel_at_period_end:
                return current
            changed = self._next_version(current, now, cancel_at_period_end=True, scheduled_change=None)
            self._write(self.store.save_ops(changed, expected_version=current.version), [new_event(
                EventType.SUBSCRIPTION_UPDATED, actor.tenant.tenant_id,
                {**audit, "change": "cancel_at_period_end", "at": current.current_period_end.isoformat()})])
            return changed
        return self._end(current, now, audit)

    def resume(self, actor: Actor) -> Subscription:
        actor.require(Permission.BILLING_WRITE)
        now = self.clock()
        current = self._current(actor.tenant, now)
        if not current.cancel_at_period_end:
            raise Conflict("The subscription is not set to cancel: there is nothing to resume.")
        changed = self._next_version(current, now, cancel_at_period_end=False)
        self._write(self.store.save_ops(changed, expected_version=current.version), [new_event(
            EventType.SUBSCRIPTION_UPDATED, actor.tenant.tenant_id,
            {**audit_fields(actor.user_id, current.id, actor.request_meta), "change": "resumed"})])
        return changed

    def apply_scheduled_changes(self, tenant: TenantContext, now: datetime) -> Subscription | None:
        """At or after the period end: end a subscription set to cancel (the tenant goes back to the default
        plan), or apply its scheduled change. The billing run calls it; nothing happens before the end."""
        current = self.store.current(tenant)
        if current is None or now < current.current_period_end:
            return current
        audit = audit_fields("billing-run", current.id, NO_REQUEST)
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

    def end_now(self, current: Subscription, audit: dict[str, Any], now: datetime) -> Subscription:
        """End ``current`` at ``now`` (dunning gave up on it): the tenant is back on the default plan."""
        return self._end(current, now, audit)

    def with_scheduled_change(self, current: Subscription, change: ScheduledChange, now: datetime) -> Subscription:
        """``current`` on the terms of its scheduled change, in the period containing ``now`` (not written)."""
        anchor = change.at if change.interval != current.interval else current.anchor
        period = period_containing(Anchor(anchor, current.timezone), Interval(unit=change.interval), now)
        return self._next_version(
            current, now, plan_id=change.plan_id, plan_code=change.plan_code, price_id=change.price_id,
            interval=change.interval, seats=change.seats, anchor=anchor, current_period_start=period.start,
            current_period_end=period.end, scheduled_change=None,
            addons=self._addons_for(current.addons, current.currency, change.interval))

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

    def _end(self, current: Subscription, now: datetime, audit: dict[str, Any], *,
             at: datetime | None = None) -> Subscription:
        """End ``current`` now (no refund for unused time) and put the tenant on the default plan."""
        fallback, operations, events = self.end_ops(current, now, audit, at=at)
        self._write(operations, events)
        return fallback

    def end_ops(self, current: Subscription, now: datetime, audit: dict[str, Any], *,
                at: datetime | None = None) -> tuple[Subscription, list[dict[str, Any]], list[EventEnvelope]]:
        """Ending ``current`` at ``now``, to write in one transaction (with an invoice, say): the default plan's
        subscription that follows, the writes, and ``subscription.canceled``."""
        stamp = at or now
        ended = current.model_copy(update={"status": "canceled", "canceled_at": now, "updated_at": stamp,
                                           "cancel_at_period_end": False})
        fallback = self._default_subscription(TenantContext(current.tenant_id), now,
                                              version=current.version + 1, timezone=current.timezone)
        fallback = fallback.model_copy(update={"updated_at": stamp})
        operations = [*self.store.save_ops(fallback, expected_version=current.version), *self.store.ended_ops(ended)]
        events = [new_event(EventType.SUBSCRIPTION_CANCELED, current.tenant_id,
                            {**audit, "plan_code": current.plan_code, "canceled_at": now.isoformat(),
                             "now_on": fallback.plan_code})]
        return fallback, operations, events

    def _coupon_ops(self, tenant: TenantContext, coupon: CouponState | None) -> list[dict[str, Any]]:
        return self.store.redeem_coupon_ops(tenant, coupon.code, self._coupon_max(coupon)) if coupon else []

    def _collect(self, actor: Actor, before: Subscription, after: Subscription, preview: ChangePreview,
                 pending: dict[str, Any], audit: dict[str, Any], invoice: Invoice | None) -> Charge:
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
                      "invoice": invoice.model_dump_json() if invoice else None,
                      **{k: v for k, v in pending.items() if v is not None}}
        item = {k: v for k, v in item.items() if v is not None}
        events: list[EventEnvelope] = []
        if payment_id or method:
            events.append(new_event(EventType.PAYMENT_FAILED, tenant.tenant_id, {
                **audit, "payment_id": payment_id, "amount": preview.amount_due, "currency": preview.currency,
                "reason": declined, "checkout_session_id": session.id}))
        try:
            self.store.write([self.store.checkout_op(tenant, session.id, item, self.clock().timestamp())], events)
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
                         charge: Charge | None, invoice: Invoice | None = None,
                         audit: dict[str, Any] | None = None) -> None:
        """Write the change (with the invoice of its charge, numbered); if it lost a race after the money
        moved, give the money back."""
        try:
            if invoice is None:
                self._write(operations, events)
            else:
                try:
                    issue(invoice, self.invoices, self.store.write, operations, at=self.clock(),
                          events=lambda numbered: [*events, *issued_events(numbered, audit or {})])
                except WriteRefused:
                    raise Conflict("The subscription changed meanwhile; read it again and retry.") from None
        except Conflict:
            if charge is not None:
                self.collection.refund(charge)
            raise

    @staticmethod
    def _amounts(invoice: Invoice | None) -> dict[str, int]:
        """A preview's amounts: its invoice's, or nothing due."""
        if invoice is None:
            return {"subtotal": 0, "discount": 0, "tax": 0, "amount_due": 0}
        return {"subtotal": invoice.subtotal, "discount": invoice.discount, "tax": invoice.tax,
                "amount_due": invoice.amount_due}

    @staticmethod
    def _billed(invoice: Invoice | None, charge: Charge | None) -> Invoice | None:
        """The invoice of a charge made now, paid by it; None when nothing was charged."""
        return paid(invoice, charge.id) if invoice is not None and charge is not None else None
