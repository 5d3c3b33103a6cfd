"""What the billing run does at a subscription's period end, and three days before a trial ends.

At the period end (``close_period``), in this order:

1. ``cancel_at_period_end``, or a deleted tenant: the subscription ends (``subscription.canceled``) and the
   tenant is back on the default plan; the final invoice bills the period's usage only (no fee), in the
   same transaction. A deleted tenant is never charged a fee again.
2. A scheduled change (downgrade, fewer seats, year → month) takes effect (``subscription.updated``).
3. The period rolls forward: the next period is computed from the anchor (never from the old end), so the
   SUBSCRIPTION item's GSI1 due date moves to the new end's day.
4. The period is invoiced (``wrapper.billing.rating``): the ending period's usage and the next period's fee,
   less the coupon, plus tax. An invoice with anything to bill is numbered and issued at the period end;
   its amount due is charged off-session on the saved card, idempotency key ``invoice:<invoice id>`` →
   ``invoice.paid`` + ``payment.succeeded`` and ``active``; a decline or no card leaves it ``open`` →
   ``invoice.payment_failed`` + ``payment.failed`` and ``past_due`` (the plan's entitlements stay while
   past_due). A period that bills nothing (a free plan without usage prices) issues no invoice. A trial's
   end is its first charge, and its usage is not billed. A coupon's ``periods_left`` counts down at each
   renewal of a paid period (a trial is not one of its periods).

Once per period: the work is keyed on the period end it is for. The run for day D closes a subscription
only if its current period ends on D or earlier; the write is conditional on the version read, so after
it the subscription's period ends a period later and a repeated or retried run skips it. The invoice's id
comes from the subscription and the period it closes, and is written in the same transaction as the
subscription's next period and the invoice number's counter: one invoice per period, numbered without
gaps. The charge comes first and outside any transaction; if the write then loses a race, the re-read
finds the work done, and a retry charges with the same key, which the provider answers with the first
payment instead of a new one.

``trial.ending`` (``warn_trial_ending``): the run for day D warns the trials that end on D + 3, found on
the same due-date index (a trialing subscription's period ends at its trial end). A ``TRIALNOTICE`` item
written in the same transaction as the event makes it once per trial end.

A failed renewal's invoice stays open and dunning (``wrapper.billing.dunning``) charges it again on its
schedule. Provider outages leave nothing written, so running the same day again retries them.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any, Literal

from wrapper.billing.dunning import Dunning
from wrapper.billing.rating import Rating
from wrapper.events.catalog import EventType
from wrapper.events.envelope import EventEnvelope, audit_fields, new_event
from wrapper.invoices.issuing import invoice_facts, issue, issued_events, paid
from wrapper.invoices.models import Invoice
from wrapper.kernel.errors import Conflict, Unavailable
from wrapper.kernel.model import Model
from wrapper.kernel.request_meta import NO_REQUEST
from wrapper.kernel.tenant import TenantContext
from wrapper.money.periods import Anchor, Interval, period_containing
from wrapper.payments.port import PaymentDeclined, PaymentError
from wrapper.store.table import Item, WriteRefused
from wrapper.subscriptions.logic import Subscriptions
from wrapper.subscriptions.models import Subscription

logger = logging.getLogger(__name__)

TRIAL_NOTICE_DAYS = 3
# Not "renewal": the Stripe webhook treats that purpose as an asynchronous outcome to apply, and the run
# records a card's answer itself (one payment.failed, not two).
PURPOSE_RENEWAL = "subscription_renewal"
ACTOR = "billing-run"
# A write that loses to a concurrent change is re-read and redone; past this, the next run sees it.
ATTEMPTS = 3

Outcome = Literal["renewed", "applied", "past_due", "canceled", "notified", "skipped", "error"]


class PeriodEndResult(Model):
    """What the run did for one subscription (the state machine's output lists one per subscription)."""

    tenant_id: str
    subscription_id: str
    status: Outcome
    reason: str
    amount: int | None = None
    currency: str | None = None
    payment_id: str | None = None
    period_end: datetime | None = None
    invoice_id: str | None = None


class PeriodEnds:
    def __init__(self, subscriptions: Subscriptions, rating: Rating, dunning: Dunning | None = None) -> None:
        self.subscriptions = subscriptions
        self.store = subscriptions.store
        self.rating = rating
        self.dunning = dunning

    def close_period(self, tenant: TenantContext, subscription_id: str, day: date) -> PeriodEndResult:
        """Close the period of ``subscription_id`` if it ends on ``day`` or earlier (see the module docstring)."""
        for _ in range(ATTEMPTS):
            try:
                return self._close(tenant, subscription_id, day)
            except Conflict:
                continue  # lost to a concurrent write (WriteRefused is a Conflict too): read again
            except PaymentError as exc:
                logger.warning("renewal charge failed for %s/%s: %s", tenant.tenant_id, subscription_id, exc)
                return self._result(tenant, subscription_id, "error",
                                    f"the payment provider failed ({type(exc).__name__}); nothing was written")
            except Unavailable as exc:
                # E.g. every invoice number it read was taken first (the Map's concurrent tasks share the
                # counter). Answered, not raised: a raised error fails the Map and the whole run with it.
                logger.warning("renewal not written for %s/%s: %s", tenant.tenant_id, subscription_id, exc)
                return self._result(tenant, subscription_id, "error", f"{exc.detail}; nothing was written, and "
                                    "running the day again retries (a charge made is answered by its key)")
        return self._result(tenant, subscription_id, "skipped", "the subscription kept changing; the next run retries")

    def collect(self, tenant: TenantContext, invoice_id: str, day: date) -> dict[str, Any]:
        """Charge an unpaid invoice again on its dunning schedule (``wrapper.billing.dunning``)."""
        if self.dunning is None:
            return {"tenant_id": tenant.tenant_id, "invoice_id": invoice_id, "status": "skipped",
                    "reason": "no dunning in this deployment"}
        return self.dunning.collect(tenant, invoice_id, day)

    def warn_trial_ending(self, tenant: TenantContext, subscription_id: str, day: date) -> PeriodEndResult:
        """Emit ``trial.ending`` once for a trial that ends ``TRIAL_NOTICE_DAYS`` after ``day``."""
        current = self.store.current(tenant)
        if current is None or current.id != subscription_id:
            return self._result(tenant, subscription_id, "skipped", "no longer the tenant's subscription")
        trial_end = current.trial_end
        if current.status != "trialing" or trial_end is None:
            return self._result(tenant, subscription_id, "skipped", f"not trialing ({current.status})")
        if trial_end.date() != day + timedelta(days=TRIAL_NOTICE_DAYS):
            return self._result(tenant, subscription_id, "skipped", f"the trial ends {trial_end.date()}")
        event = new_event(EventType.TRIAL_ENDING, tenant.tenant_id, {
            **self._audit(current), "plan_code": current.plan_code, "trial_end": trial_end.isoformat()})
        try:
            self.store.write([self.store.trial_notice_op(current, trial_end)], [event])
        except WriteRefused:
            return self._result(tenant, subscription_id, "skipped", "trial.ending was already sent",
                                period_end=trial_end)
        return self._result(tenant, subscription_id, "notified", "trial.ending sent", period_end=trial_end)

    # -- internals -----------------------------------------------------------------------------------------------

    def _close(self, tenant: TenantContext, subscription_id: str, day: date) -> PeriodEndResult:
        current = self.store.current(tenant)
        if current is None:
            return self._result(tenant, subscription_id, "skipped", "the tenant has no subscription")
        if current.id != subscription_id:
            return self._result(tenant, subscription_id, "skipped", f"replaced by {current.id}")
        end = current.current_period_end
        if end.date() > day:
            return self._result(tenant, subscription_id, "skipped", f"not due: the period ends {end.date()}",
                                period_end=end)
        if current.status not in ("active", "trialing", "past_due"):
            return self._result(tenant, subscription_id, "skipped", f"status {current.status}", period_end=end)
        profile = self.store.profile(tenant)  # read once: the tenant's status here, its billing details to rate
        if profile.get("status") == "deleted":
            return self._final(tenant, current, profile, "the tenant was deleted", retry=False)
        if current.cancel_at_period_end:
            return self._final(tenant, current, profile, "canceled at the period end", retry=True)
        return self._renew(tenant, current, profile)

    def _final(self, tenant: TenantContext, current: Subscription, profile: Item, why: str, *,
               retry: bool) -> PeriodEndResult:
        """End the subscription at its period end, with the final invoice of the period's usage (no fee: nothing
        follows), charged on the saved card; ``retry`` starts dunning if that charge fails."""
        end = current.current_period_end
        audit = self._audit(current)
        fallback, operations, events = self.subscriptions.end_ops(current, end, audit)
        invoice = self.rating.closing_invoice(current, None, at=end, profile=profile)
        reason = f"{why}; now on {fallback.plan_code}"
        if not _bills(invoice):
            self.store.write(operations, events)
            return self._result(tenant, current.id, "canceled", reason, period_end=fallback.current_period_end)
        payment_id, failure = (None, None)
        if invoice.amount_due > 0:
            payment_id, failure = self._charge(tenant, current, current, invoice)
        invoice = _charged(invoice, payment_id, failure)
        started = self.dunning.start_op(invoice, end) if failure and retry and self.dunning else None
        invoice = issue(invoice, self.rating.invoices, self.store.write, [*operations, *([started] if started else [])],
                        at=end, events=lambda numbered: [*events, *self._invoice_events(numbered, audit)])
        if failure is not None and started is not None and self.dunning is not None:
            self.dunning.notify_failure(invoice, failure, self.dunning.next_attempt(end, 0))
        reason += f"; the final usage invoiced ({invoice.amount_due} {invoice.currency}" + (
            f", the charge failed: {failure})" if failure else ")")
        return self._result(tenant, current.id, "canceled", reason, amount=invoice.amount_due,
                            currency=invoice.currency, payment_id=payment_id, period_end=fallback.current_period_end,
                            invoice_id=invoice.id)

    def following(self, current: Subscription) -> tuple[Subscription, bool]:
        """The subscription after ``current``'s period ends (a due scheduled change applied, the coupon's
        periods counted down), and whether a scheduled change made it."""
        end = current.current_period_end
        change = current.scheduled_change
        scheduled = change is not None and change.at <= end
        if change is not None and scheduled:
            following = self.subscriptions.with_scheduled_change(current, change, end)
        else:
            period = period_containing(Anchor(current.anchor, current.timezone), Interval(unit=current.interval),
                                       end)
            following = current.model_copy(update={"current_period_start": period.start,
                                                   "current_period_end": period.end, "updated_at": end,
                                                   "version": current.version + 1})
        coupon = following.coupon
        if coupon is not None and coupon.periods_left and current.status != "trialing":
            following = following.model_copy(update={
                "coupon": coupon.model_copy(update={"periods_left": coupon.periods_left - 1})})
        return following, scheduled

    def _renew(self, tenant: TenantContext, current: Subscription, profile: Item) -> PeriodEndResult:
        end = current.current_period_end
        change = current.scheduled_change
        following, scheduled = self.following(current)
        invoice = self.rating.closing_invoice(current, following, at=end, profile=profile)
        amount = invoice.amount_due
        audit = self._audit(current)
        payment_events: list[EventEnvelope] = []
        payment_id: str | None = None
        status: Outcome = "applied" if scheduled else "renewed"
        reason = "the scheduled change applied" if scheduled else "renewed"
        new_status = "active"
        bills = _bills(invoice)
        if bills:
            failure: str | None = None
            if amount > 0:
                payment_id, failure = self._charge(tenant, current, following, invoice)
            payment = {**audit, "payment_id": payment_id, "amount": amount, "currency": invoice.currency,
                       "period_start": following.current_period_start.isoformat()}
            invoice = _charged(invoice, payment_id, failure)
            if failure is None:
                if amount > 0:
                    payment_events.append(new_event(EventType.PAYMENT_SUCCEEDED, tenant.tenant_id,
                                                    {**payment, "reason": "renewal"}))
                    reason += f"; charged {amount} {invoice.currency}"
            else:
                new_status, status = "past_due", "past_due"
                payment_events.append(new_event(EventType.PAYMENT_FAILED, tenant.tenant_id,
                                                {**payment, "reason": failure}))
                reason += f"; the charge failed: {failure}"
        following = following.model_copy(update={"status": new_status})
        subscription_events: list[EventEnvelope] = []
        if scheduled and change is not None:
            subscription_events.append(new_event(EventType.SUBSCRIPTION_UPDATED, tenant.tenant_id, {
                **audit, "change": "scheduled", "plan_code": change.plan_code, "seats": change.seats,
                "interval": change.interval, "status": new_status}))
        elif new_status != current.status:
            subscription_events.append(new_event(EventType.SUBSCRIPTION_UPDATED, tenant.tenant_id, {
                **audit, "change": "trial_ended" if current.status == "trialing" else new_status,
                "status": new_status}))
        operations = self.store.save_ops(following, expected_version=current.version)
        unpaid = bills and invoice.status == "open"
        retry = self.dunning.start_op(invoice, end) if unpaid and self.dunning else None
        if retry is not None:
            operations.append(retry)
        if bills:
            invoice = issue(invoice, self.rating.invoices, self.store.write, operations, at=end,
                            events=lambda numbered: [*subscription_events, *self._invoice_events(numbered, audit),
                                                     *payment_events])
        else:
            self.store.write(operations, subscription_events)
        if unpaid and self.dunning is not None:
            self.dunning.notify_failure(invoice, invoice.payment_error or "unpaid",
                                        self.dunning.next_attempt(end, 0))
        return self._result(tenant, current.id, status, reason, amount=amount, currency=following.currency,
                            payment_id=payment_id, period_end=following.current_period_end,
                            invoice_id=invoice.id if invoice.number else None)

    @staticmethod
    def _invoice_events(invoice: Invoice, audit: dict[str, Any]) -> list[EventEnvelope]:
        events = issued_events(invoice, audit)
        if invoice.status == "open" and invoice.payment_error:
            events.append(new_event(EventType.INVOICE_PAYMENT_FAILED, invoice.tenant_id,
                                    invoice_facts(invoice, audit, status="open", reason=invoice.payment_error)))
        return events

    def _charge(self, tenant: TenantContext, current: Subscription, following: Subscription,
                invoice: Invoice) -> tuple[str | None, str | None]:
        """Charge the saved card the invoice's amount due: (payment id, why it failed or None). The invoice id
        is the idempotency key, so a retried run is answered with the first payment, not a second one."""
        billing = self.store.billing(tenant) or {}
        customer = billing.get("stripe_customer_id")
        if not customer:
            return None, "no saved card"
        payments = self.subscriptions.collection.payments()
        method = billing.get("default_payment_method") or payments.default_payment_method(str(customer))
        if not method:
            return None, "no saved card"
        start = following.current_period_start.isoformat()
        try:
            charge = payments.charge(
                str(customer), invoice.amount_due, invoice.currency, payment_method=str(method),
                description=f"Invoice {invoice.id}: period from {start}",
                metadata={"tenant_id": tenant.tenant_id, "purpose": PURPOSE_RENEWAL, "subscription_id": current.id,
                          "invoice_id": invoice.id},
                idempotency_key=f"invoice:{invoice.id}")
        except PaymentDeclined as exc:
            return exc.payment_id, exc.message
        if charge.status == "succeeded":
            return charge.id, None
        return charge.id, charge.failure_message or charge.status

    def _audit(self, subscription: Subscription) -> dict[str, Any]:
        return audit_fields(ACTOR, subscription.id, NO_REQUEST)

    def _result(self, tenant: TenantContext, subscription_id: str, status: Outcome, reason: str,
                **details: Any) -> PeriodEndResult:
        return PeriodEndResult(tenant_id=tenant.tenant_id, subscription_id=subscription_id, status=status,
                               reason=reason, **details)


def _bills(invoice: Invoice) -> bool:
    """Whether an invoice has anything to bill: one that bills nothing (a free plan without usage) is not issued."""
    return any(line.amount for line in invoice.lines)


def _charged(invoice: Invoice, payment_id: str | None, failure: str | None) -> Invoice:
    """The invoice after its first charge: paid, or left open with why the charge failed."""
    if failure is None:
        return paid(invoice, payment_id)
    return invoice.model_copy(update={"status": "open", "payment_id": payment_id, "payment_error": failure,
                                      "attempts": 1})
