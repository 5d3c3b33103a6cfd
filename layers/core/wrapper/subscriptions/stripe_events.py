"""Stripe events → their effects on Wrapper's subscription and billing record.

Contract of :func:`apply_stripe_event` (the webhook queue consumer calls it, one event at a time):

- ``event`` is the Stripe event as JSON (``id``, ``type``, ``created``, ``data.object``, optionally
  ``data.previous_attributes``), signature already checked. ``payments`` is the Payments port (some
  effects ask Stripe for the customer's current default card), ``now`` the consumer's clock.
- Answers a short outcome for the log: ``applied: …``, ``recorded: …``, ``duplicate: …``,
  ``ignored: …`` or ``refunded: …``. It raises only on infrastructure failures (DynamoDB, Stripe
  unreachable), so the queue retries those; a malformed or foreign event is ``ignored``, never raised.
- Idempotent by itself: every write carries a ``STRIPEEVT#<event id>`` marker put in the same
  transaction (refused when present), pending Checkout changes apply only while ``pending``, and billing
  record updates from events are conditioned on the event's ``created`` being no older than the last one
  applied, so a replay or an older event changes nothing.
- The tenant is the one Wrapper recorded for the object's Stripe customer; the object's
  ``metadata.tenant_id`` is used only when there is no customer, and a disagreement between the two
  ignores the event (one tenant's Stripe objects never reach another tenant).

Effects: ``checkout.session.completed`` (setup: store the default card; payment: apply the pending
change, with ``subscription.created/updated`` + ``payment.succeeded``), ``setup_intent.succeeded`` and
``customer.updated`` (default card), ``payment_intent.succeeded`` (a Checkout payment: as above; an
off-session charge was applied with its request: recorded), ``payment_intent.payment_failed`` /
``requires_action`` (``payment.failed``; a failed renewal, ``metadata.purpose = renewal``, puts an
active subscription past_due), ``payment_method.attached`` / ``detached`` (keep the default card right),
``charge.refunded`` and ``charge.dispute.created`` (recorded on the billing record and logged: no event
type fits them). Anything else: ``ignored``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import Any

from wrapper.catalog.store import Catalog
from wrapper.credits.service import Credits
from wrapper.credits.store import WalletStore
from wrapper.credits.topups import PURPOSE_TOP_UP, grant_paid_checkout
from wrapper.events.catalog import EventType
from wrapper.events.envelope import EventEnvelope, audit_fields, new_event
from wrapper.invoices.issuing import issue, issued_events, paid
from wrapper.invoices.models import Invoice
from wrapper.invoices.store import DEFAULT_NUMBER_PREFIX, InvoiceStore
from wrapper.kernel.request_meta import RequestMeta
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.port import Payments
from wrapper.store.table import Item, Table, WriteRefused
from wrapper.subscriptions.logic import PURPOSE_CHANGE
from wrapper.subscriptions.models import Subscription
from wrapper.subscriptions.settlement import PURPOSE_INVOICE_PAYMENT, SETTLEABLE, Settlement
from wrapper.subscriptions.store import SubscriptionStore


def _id_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


class _Applier:
    def __init__(self, event: dict[str, Any], store: SubscriptionStore, catalog: Catalog, payments: Payments,
                 now: datetime, invoice_number_prefix: str) -> None:
        self.event = event
        self.invoice_number_prefix = invoice_number_prefix
        self.event_id = str(event.get("id") or "")
        # Stripe's webhook is the request here: its event id is what an audit entry is traced back by.
        self._request_meta = RequestMeta(request_id=self.event_id)
        self.created = int(event.get("created") or 0)
        data = event.get("data") or {}
        self.object: dict[str, Any] = data.get("object") or {}
        self.previous: dict[str, Any] = data.get("previous_attributes") or {}
        self.store = store
        self.catalog = catalog
        self.payments = payments
        self.now = now

    # -- routing -------------------------------------------------------------------------------------------------

    def apply(self) -> str:
        kind = str(self.event.get("type") or "")
        handler = self._handlers().get(kind)
        if handler is None:
            return f"ignored: {kind or 'no type'}"
        if not self.event_id:
            return "ignored: no event id"
        tenant = self._tenant()
        if tenant is None:
            return "ignored: no tenant for this object"
        if self.store.event_applied(tenant, self.event_id):
            return "duplicate: already applied"
        return handler(tenant)

    def _handlers(self) -> dict[str, Callable[[TenantContext], str]]:
        return {
            "checkout.session.completed": self._checkout_completed,
            "setup_intent.succeeded": lambda t: self._default_card(t, _id_of(self.object.get("payment_method"))),
            "customer.updated": lambda t: self._default_card(
                t, _id_of((self.object.get("invoice_settings") or {}).get("default_payment_method"))),
            "payment_intent.succeeded": self._payment_succeeded,
            "payment_intent.payment_failed": self._payment_failed,
            "payment_intent.requires_action": self._payment_failed,
            "payment_method.attached": self._card_attached,
            "payment_method.detached": self._card_detached,
            "charge.refunded": self._refunded,
            "charge.dispute.created": self._disputed,
        }

    def _customer(self) -> str | None:
        if self.object.get("object") == "customer":
            return _id_of(self.object.get("id"))
        return _id_of(self.object.get("customer")) or _id_of(self.previous.get("customer"))

    def _tenant(self) -> TenantContext | None:
        customer = self._customer()
        recorded = self.store.tenant_of_customer(customer) if customer else None
        claimed = (self.object.get("metadata") or {}).get("tenant_id")
        if customer and recorded is None:
            return None
        if recorded and claimed and recorded != claimed:
            return None
        tenant_id = recorded or claimed
        try:
            return TenantContext(str(tenant_id), principal="stripe", role="system") if tenant_id else None
        except ValueError:
            return None

    # -- effects -------------------------------------------------------------------------------------------------

    def _checkout_completed(self, tenant: TenantContext) -> str:
        session = self.object
        if session.get("mode") == "setup":
            customer = _id_of(session.get("customer"))
            return self._default_card(tenant, self.payments.default_payment_method(customer) if customer else None)
        if session.get("payment_status") != "paid":
            return "ignored: checkout session not paid"
        if (session.get("metadata") or {}).get("purpose") == PURPOSE_INVOICE_PAYMENT:
            return self._invoice_paid(tenant, session.get("metadata") or {}, _id_of(session.get("payment_intent")))
        if (session.get("metadata") or {}).get("purpose") == PURPOSE_TOP_UP:
            return grant_paid_checkout(Credits(WalletStore(self.store.table)), self._invoices(), tenant, session)
        pending = self.store.checkout(tenant, str(session.get("id")))
        if pending is None:
            return "ignored: no pending change for this session"
        return self._apply_pending(tenant, pending, _id_of(session.get("payment_intent")))

    def _payment_succeeded(self, tenant: TenantContext) -> str:
        metadata = self.object.get("metadata") or {}
        if metadata.get("purpose") == PURPOSE_INVOICE_PAYMENT:
            return self._invoice_paid(tenant, metadata, _id_of(self.object.get("id")))
        if metadata.get("purpose") != PURPOSE_CHANGE or not metadata.get("checkout_ref"):
            return "recorded: payment applied with its request"
        pending = self.store.checkout_by_ref(tenant, str(metadata["checkout_ref"]))
        if pending is None:
            return "ignored: no pending change for this payment"
        return self._apply_pending(tenant, pending, _id_of(self.object.get("id")))

    def _invoice_paid(self, tenant: TenantContext, metadata: dict[str, Any], payment_id: str | None) -> str:
        """A payment made for an invoice (its pay link, or a charge): the invoice is settled once, whichever of
        the session's and the payment's events comes first."""
        invoice_id = str(metadata.get("invoice_id") or "")
        if not invoice_id:
            return "ignored: an invoice payment without its invoice"
        invoices = self._invoices()
        due = invoices.get(tenant, invoice_id)
        collected = self._collected()
        if payment_id and due is not None and due.status in SETTLEABLE and collected is not None and (
                collected < due.amount_due or self._currency() not in (None, due.currency)):
            self.payments.refund(payment_id, None, idempotency_key=f"refund:{payment_id}")
            return f"refunded: {payment_id} paid {collected}, {due.amount_due} {due.currency} was due"
        outcome = Settlement(self.store, invoices).settle(
            tenant, invoice_id, payment_id, at=self.now, audit=audit_fields("stripe", invoice_id, self._request_meta),
            extra_operations=[self.store.stripe_event_op(tenant, self.event_id, "applied", self.now.timestamp())])
        if outcome.startswith("applied") and payment_id and due is not None and collected is not None \
                and collected > due.amount_due:
            # A pay link older than a credit note: the invoice is paid, what it no longer asked for goes back.
            self.payments.refund(payment_id, collected - due.amount_due, idempotency_key=f"refund:{payment_id}:excess")
            return f"{outcome}; {collected - due.amount_due} paid over the amount due refunded"
        invoice = invoices.get(tenant, invoice_id) if payment_id and not outcome.startswith("applied") else None
        if payment_id and invoice and invoice.status in ("paid", "void") and invoice.payment_id != payment_id:
            # Paid twice (an older pay link after a retry or POST /pay), or paid after a void: give it back.
            self.payments.refund(payment_id, None, idempotency_key=f"refund:{payment_id}")
            return f"refunded: {payment_id}, the invoice was already {invoice.status}"
        return outcome

    def _collected(self) -> int | None:
        """What the payment in this event took, in minor units (a Checkout session's total, a payment's amount)."""
        found = self.object.get("amount_total") if self.object.get("object") == "checkout.session" else \
            self.object.get("amount_received", self.object.get("amount"))
        return found if isinstance(found, int) and not isinstance(found, bool) else None

    def _currency(self) -> str | None:
        currency = self.object.get("currency")
        return str(currency).upper() if currency else None

    def _apply_pending(self, tenant: TenantContext, pending: Item, payment_id: str | None) -> str:
        session_id = str(pending["session_id"])
        if pending.get("status") != "pending":
            return f"duplicate: checkout {session_id} already {pending.get('status')}"
        target = Subscription.model_validate_json(str(pending["target"]))
        audit = audit_fields("stripe", target.id, self._request_meta)
        original = _loads(pending.get("event_data")) or audit
        operations = [*self.store.save_ops(target, expected_version=int(pending["expected_version"])),
                      self.store.checkout_done_op(tenant, session_id, "applied"),
                      self.store.stripe_event_op(tenant, self.event_id, "applied", self.now.timestamp())]
        if pending.get("ended"):
            operations += self.store.ended_ops(Subscription.model_validate_json(str(pending["ended"])))
        if pending.get("coupon"):
            limit = pending.get("coupon_max")
            operations += self.store.redeem_coupon_ops(tenant, str(pending["coupon"]),
                                                       int(limit) if limit is not None else None)
        events = [
            new_event(EventType(str(pending.get("event_type") or EventType.SUBSCRIPTION_UPDATED.value)),
                      tenant.tenant_id, original),
            new_event(EventType.PAYMENT_SUCCEEDED, tenant.tenant_id, {
                **audit, "payment_id": payment_id, "amount": int(pending["amount"]),
                "currency": pending["currency"], "checkout_session_id": session_id}),
        ]
        try:
            if pending.get("invoice"):
                invoice = paid(Invoice.model_validate_json(str(pending["invoice"])), payment_id)
                issue(invoice, self._invoices(), self.store.write, operations, at=self.now,
                      events=lambda numbered: [*events, *issued_events(numbered, audit)])
            else:
                self.store.write(operations, events)
        except WriteRefused:
            return self._pending_lost(tenant, session_id, payment_id)
        return f"applied: checkout {session_id} ({pending.get('kind')})"

    def _pending_lost(self, tenant: TenantContext, session_id: str, payment_id: str | None) -> str:
        """The pending change could not apply: already applied (a replay), or the subscription changed
        since the customer was sent to Checkout (or the coupon ran out). The money then goes back."""
        again = self.store.checkout(tenant, session_id) or {}
        if again.get("status") != "pending" or self.store.event_applied(tenant, self.event_id):
            return f"duplicate: checkout {session_id} already {again.get('status')}"
        if payment_id:
            self.payments.refund(payment_id, None, idempotency_key=f"refund:{payment_id}")
        # Recorded meanwhile by a redelivery: the refund's idempotency key made it once.
        with suppress(WriteRefused):
            self.store.write([self.store.checkout_done_op(tenant, session_id, "refunded"),
                              self.store.stripe_event_op(tenant, self.event_id, "refunded", self.now.timestamp())],
                             [])
        return f"refunded: checkout {session_id}, the subscription changed meanwhile"

    def _payment_failed(self, tenant: TenantContext) -> str:
        intent = self.object
        metadata = intent.get("metadata") or {}
        if metadata.get("purpose") not in (PURPOSE_CHANGE, "renewal"):
            # Our off-session charges report their failure with the request that made them.
            return "recorded: payment failure reported with its request"
        error = intent.get("last_payment_error") or {}
        reason = "requires_action" if self.event.get("type") == "payment_intent.requires_action" else \
            str(error.get("message") or error.get("code") or "failed")
        audit = audit_fields("stripe", metadata.get("subscription_id"), self._request_meta)
        events: list[EventEnvelope] = [new_event(EventType.PAYMENT_FAILED, tenant.tenant_id, {
            **audit, "payment_id": intent.get("id"), "amount": intent.get("amount"),
            "currency": str(intent.get("currency") or "").upper(), "reason": reason})]
        operations = [self.store.stripe_event_op(tenant, self.event_id, "payment_failed", self.now.timestamp())]
        current = self.store.current(tenant)
        overdue = metadata.get("purpose") == "renewal" and current is not None and current.status == "active"
        if overdue and current is not None:
            late = current.model_copy(update={"status": "past_due", "updated_at": self.now,
                                              "version": current.version + 1})
            operations += self.store.save_ops(late, expected_version=current.version)
            events.append(new_event(EventType.SUBSCRIPTION_UPDATED, tenant.tenant_id,
                                    {**audit, "change": "past_due"}))
        return self._write(operations, events, "applied: payment failed" + (", past_due" if overdue else ""))

    def _default_card(self, tenant: TenantContext, method: str | None) -> str:
        if method is None:
            return "ignored: no payment method named"
        return self._billing(tenant, {"default_payment_method": method}, f"applied: default card {method}")

    def _card_attached(self, tenant: TenantContext) -> str:
        billing = self.store.billing(tenant) or {}
        if billing.get("default_payment_method"):
            return "recorded: a default card is already set"
        return self._default_card(tenant, _id_of(self.object.get("id")))

    def _card_detached(self, tenant: TenantContext) -> str:
        billing = self.store.billing(tenant) or {}
        if billing.get("default_payment_method") != self.object.get("id"):
            return "recorded: not the default card"
        customer = self._customer()
        replacement = self.payments.default_payment_method(customer) if customer else None
        return self._billing(tenant, {"default_payment_method": replacement or ""},
                             f"applied: default card now {replacement or 'none'}")

    def _refunded(self, tenant: TenantContext) -> str:
        charge = self.object
        return self._billing(tenant, {"last_refund": {
            "charge": charge.get("id"), "payment_intent": _id_of(charge.get("payment_intent")),
            "amount_refunded": charge.get("amount_refunded"), "currency": charge.get("currency"),
            "at": self.created}}, f"recorded: refund of {charge.get('id')}")

    def _disputed(self, tenant: TenantContext) -> str:
        dispute = self.object
        return self._billing(tenant, {"last_dispute": {
            "id": dispute.get("id"), "charge": _id_of(dispute.get("charge")), "amount": dispute.get("amount"),
            "currency": dispute.get("currency"), "reason": dispute.get("reason"), "status": dispute.get("status"),
            "at": self.created}}, f"recorded: dispute {dispute.get('id')}")

    # -- writing -------------------------------------------------------------------------------------------------

    def _invoices(self) -> InvoiceStore:
        return InvoiceStore(self.store.table, number_prefix=self.invoice_number_prefix)

    def _billing(self, tenant: TenantContext, values: dict[str, Any], outcome: str) -> str:
        operations = [self.store.billing_update_op(tenant, values=values, event_created=self.created),
                      self.store.stripe_event_op(tenant, self.event_id, outcome, self.now.timestamp())]
        return self._write(operations, [], outcome, stale="ignored: an older event than the last applied")

    def _write(self, operations: list[dict[str, Any]], events: list[EventEnvelope], outcome: str, *,
               stale: str = "ignored: the subscription changed meanwhile") -> str:
        try:
            self.store.write(operations, events)
        except WriteRefused:
            return "duplicate: already applied" if self.store.event_applied(self._tenant_or_fail(), self.event_id) \
                else stale
        return outcome

    def _tenant_or_fail(self) -> TenantContext:
        tenant = self._tenant()
        if tenant is None:  # pragma: no cover - resolved before any write
            raise AssertionError("no tenant")
        return tenant


def _loads(value: Any) -> dict[str, Any] | None:
    return json.loads(str(value)) if value else None


def apply_stripe_event(event: dict[str, Any], *, table: Table, catalog: Catalog, payments: Payments,
                       now: datetime, outbox_ttl_days: int = 7,
                       invoice_number_prefix: str = DEFAULT_NUMBER_PREFIX) -> str:
    """Turn one Stripe event into its effect on the tenant's subscription and billing record (see the module
    docstring for the contract); answers a short outcome for the log."""
    return _Applier(event, SubscriptionStore(table, outbox_ttl_days=outbox_ttl_days), catalog, payments,
                    now, invoice_number_prefix).apply()
