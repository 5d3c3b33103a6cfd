"""Dunning: an invoice whose charge failed is charged again on a schedule, with an email at each failure.

When a period end's charge fails (a decline, no saved card), the invoice stays ``open``, the subscription
turns ``past_due`` and keeps its plan's entitlements, and a ``DUNNING#<invoice id>`` item is written in the
same transaction. That item sits on the due-date index under the day of its next attempt, so the daily
billing run finds it beside the subscriptions due that day (step ``collect``).

- **Schedule.** ``DUNNING_RETRY_DAYS`` (default ``3,7,14``): the days after the first failure on which
  the invoice is charged again; with the first attempt, 4 tries over 14 days.
- **Each failure** emails the billing contacts (the tenant's billing email, else its owners) with the
  amount, the next attempt, and a pay link: a Checkout page for exactly the amount due. ``invoice.payment_failed``
  and ``payment.failed`` record it.
- **A success** (a retry, the pay link, or ``POST /v1/invoices/{id}/pay``) settles the invoice
  (``wrapper.subscriptions.settlement``): ``paid``, the dunning item gone, the subscription ``active``.
- **After the last failure** the invoice is ``uncollectible`` (``invoice.uncollectible``) and the plan's
  ``unpaid_action`` decides: ``cancel`` (the default) ends the subscription back on the default plan;
  ``unpaid`` keeps it, ``unpaid``, with the default plan's entitlements until it is paid.

Each retry charges under its own idempotency key (``invoice:<id>:retry:<n>``): the provider answers a key
it has seen with its first outcome, a decline included, so a new attempt needs a new key, and a repeated
run of the same day repeats the same attempt's key and charges at most once.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from wrapper.events.catalog import EventType
from wrapper.events.envelope import audit_fields, new_event
from wrapper.invoices.issuing import invoice_facts
from wrapper.invoices.models import Invoice
from wrapper.invoices.store import InvoiceStore
from wrapper.kernel.request_meta import NO_REQUEST
from wrapper.kernel.tenant import TenantContext
from wrapper.notifications import Email, Notifier
from wrapper.payments.port import CheckoutSession, PaymentError
from wrapper.store.schema import due_pk, dunning_sk
from wrapper.store.table import Item, WriteRefused, delete_op, put_op
from wrapper.subscriptions.logic import Subscriptions
from wrapper.subscriptions.settlement import PURPOSE_INVOICE_PAYMENT, Settlement

logger = logging.getLogger(__name__)

ACTOR = "billing-run"


class Dunning:
    def __init__(self, subscriptions: Subscriptions, invoices: InvoiceStore, *, schedule: tuple[int, ...],
                 notifier: Notifier | None) -> None:
        self.subscriptions = subscriptions
        self.store = subscriptions.store
        self.invoices = invoices
        self.settlement = Settlement(self.store, invoices)
        self.schedule = schedule
        self.notifier = notifier

    # -- the first failure (a period end's charge) ---------------------------------------------------------------

    def start_op(self, invoice: Invoice, failed_at: datetime) -> dict[str, Any] | None:
        """The dunning item for an invoice whose first charge failed at ``failed_at`` (None: no retries)."""
        following = self.next_attempt(failed_at, 0)
        return put_op(self._item(invoice, failed_at, 0, following)) if following else None

    def next_attempt(self, failed_at: datetime, retries_done: int) -> datetime | None:
        return failed_at + timedelta(days=self.schedule[retries_done]) if retries_done < len(self.schedule) else None

    # -- the billing run's step ``collect`` ----------------------------------------------------------------------

    def collect(self, tenant: TenantContext, invoice_id: str, day: date) -> dict[str, Any]:
        """Charge an unpaid invoice again if its next attempt falls on ``day`` or before."""
        item = self.store.table.get(tenant.pk, dunning_sk(invoice_id))
        invoice = self.invoices.get(tenant, invoice_id)
        if item is None or invoice is None:
            return _result(tenant, invoice_id, "skipped", "no dunning for this invoice")
        if invoice.status != "open":
            self.store.table.delete(tenant.pk, dunning_sk(invoice_id))
            return _result(tenant, invoice_id, "skipped", f"the invoice is {invoice.status}")
        if datetime.fromisoformat(str(item["next_attempt_at"])).date() > day:
            return _result(tenant, invoice_id, "skipped", f"not due: next attempt {item['next_attempt_at']}")
        retries_done = int(item["retries_done"])
        audit = audit_fields(ACTOR, invoice.id, NO_REQUEST)
        if invoice.amount_due <= 0:  # credited down to nothing meanwhile (a credit note): settled, not charged
            outcome = self.settlement.settle(tenant, invoice.id, None, at=self.subscriptions.clock(), audit=audit)
            return _result(tenant, invoice_id, "collected", outcome, amount=0)
        try:
            payment_id, failure = self._charge(tenant, invoice, key=f"invoice:{invoice.id}:retry:{retries_done + 1}")
        except PaymentError as exc:
            return _result(tenant, invoice_id, "error", f"the payment provider failed ({type(exc).__name__})")
        now = self.subscriptions.clock()
        if failure is None:
            outcome = self.settlement.settle(tenant, invoice.id, payment_id, at=now, audit=audit)
            return _result(tenant, invoice_id, "collected", outcome, amount=invoice.amount_due, payment_id=payment_id)
        return self._failed_again(tenant, invoice, item, retries_done + 1, payment_id, failure, now)

    def _failed_again(self, tenant: TenantContext, invoice: Invoice, item: Item, retries_done: int,
                      payment_id: str | None, failure: str, now: datetime) -> dict[str, Any]:
        audit = audit_fields(ACTOR, invoice.id, NO_REQUEST)
        failed_at = datetime.fromisoformat(str(item["first_failed_at"]))
        following = self.next_attempt(failed_at, retries_done)
        status = "open" if following else "uncollectible"
        changed = invoice.model_copy(update={"status": status, "attempts": invoice.attempts + 1,
                                             "payment_id": payment_id, "payment_error": failure,
                                             "version": invoice.version + 1})
        operations = [self.invoices.save_op(changed, expected_version=invoice.version)]
        operations.append(put_op(self._item(changed, failed_at, retries_done, following)) if following
                          else delete_op(tenant.pk, dunning_sk(invoice.id)))
        facts = invoice_facts(invoice, audit, reason=failure)
        events = [new_event(EventType.INVOICE_PAYMENT_FAILED, tenant.tenant_id, {**facts, "status": status}),
                  new_event(EventType.PAYMENT_FAILED, tenant.tenant_id, {
                      **audit, "payment_id": payment_id, "amount": invoice.amount_due, "currency": invoice.currency,
                      "reason": failure})]
        if not following:
            events.append(new_event(EventType.INVOICE_UNCOLLECTIBLE, tenant.tenant_id,
                                    {**facts, "status": "uncollectible"}))
        try:
            self.store.write(operations, events)
        except WriteRefused:
            return _result(tenant, invoice.id, "skipped", "the invoice changed meanwhile; the next run retries")
        self.notify_failure(changed, failure, following)
        if following:
            return _result(tenant, invoice.id, "past_due", f"the charge failed again ({failure}); next attempt "
                           f"{following.date()}", amount=invoice.amount_due, payment_id=payment_id)
        return _result(tenant, invoice.id, "uncollectible", f"the last attempt failed ({failure}); "
                       f"{self._give_up(tenant, changed, audit, now)}", amount=invoice.amount_due,
                       payment_id=payment_id)

    def _give_up(self, tenant: TenantContext, invoice: Invoice, audit: dict[str, Any], now: datetime) -> str:
        """The plan's ``unpaid_action`` on the subscription the invoice billed, if it is still the tenant's."""
        current = self.store.current(tenant)
        if current is None or current.id != invoice.subscription_id or current.status != "past_due":
            return "the subscription was left as it is"
        plan = self.subscriptions.catalog.plan(current.plan_id)
        if plan is not None and plan.unpaid_action == "unpaid":
            unpaid = current.model_copy(update={"status": "unpaid", "updated_at": now, "version": current.version + 1})
            self.store.write(self.store.save_ops(unpaid, expected_version=current.version), [new_event(
                EventType.SUBSCRIPTION_UPDATED, tenant.tenant_id, {**audit, "target": current.id, "change": "unpaid",
                                                                   "status": "unpaid"})])
            return "the subscription is unpaid"
        fallback = self.subscriptions.end_now(current, {**audit, "target": current.id}, now)
        return f"the subscription is canceled; now on {fallback.plan_code}"

    # -- emails and the pay link ---------------------------------------------------------------------------------

    def notify_failure(self, invoice: Invoice, reason: str, next_attempt: datetime | None) -> None:
        """Email the billing contacts that the invoice is unpaid, with a pay link. Best effort: a failure here
        is logged and never undoes the failure recorded."""
        if self.notifier is None:
            return
        tenant = TenantContext(invoice.tenant_id)
        try:
            link = self.pay_link(tenant, invoice).url
            amount = f"{invoice.amount_due} {invoice.currency} (minor units)"
            then = (f"We will try your card again on {next_attempt.date().isoformat()}." if next_attempt
                    else "We will not try again: the invoice is now uncollectible.")
            for address in self.store.billing_contacts(tenant):
                self.notifier.send(Email(to=address, subject=f"Payment failed for invoice {invoice.number}",
                                         text=f"We could not charge {amount} for invoice {invoice.number}: "
                                              f"{reason.rstrip('.')}.\n"
                                              f"{then}\nPay now: {link}\n"))
        except Exception:
            logger.exception("could not send the payment-failed email of %s/%s", invoice.tenant_id, invoice.id)

    def pay_link(self, tenant: TenantContext, invoice: Invoice) -> CheckoutSession:
        """A Checkout page for exactly the invoice's amount due (one per attempt; the webhook settles it)."""
        collection = self.subscriptions.collection
        customer = collection.customer(tenant, ACTOR)
        return collection.payment_page(
            customer, invoice.amount_due, invoice.currency, description=f"Invoice {invoice.number}",
            key=f"invoice:{invoice.id}:pay:{invoice.attempts}:v{invoice.version}",
            metadata={"tenant_id": tenant.tenant_id, "purpose": PURPOSE_INVOICE_PAYMENT, "invoice_id": invoice.id})

    # -- internals -----------------------------------------------------------------------------------------------

    def _charge(self, tenant: TenantContext, invoice: Invoice, *, key: str) -> tuple[str | None, str | None]:
        attempt = self.subscriptions.collection.charge_saved_card(
            tenant, ACTOR, invoice.amount_due, invoice.currency, description=f"Invoice {invoice.number}", key=key,
            metadata={"tenant_id": tenant.tenant_id, "purpose": PURPOSE_INVOICE_PAYMENT, "invoice_id": invoice.id})
        if attempt.charge is not None:
            return attempt.charge.id, None
        return attempt.payment_id, attempt.declined or "declined"

    @staticmethod
    def _item(invoice: Invoice, failed_at: datetime, retries_done: int, following: datetime) -> Item:
        pk = TenantContext(invoice.tenant_id).pk
        return {"PK": pk, "SK": dunning_sk(invoice.id), "record_type": "dunning", "tenant_id": invoice.tenant_id,
                "invoice_id": invoice.id, "subscription_id": invoice.subscription_id,
                "first_failed_at": failed_at.isoformat(), "retries_done": retries_done,
                "next_attempt_at": following.isoformat(), "GSI1PK": due_pk(following.date()), "GSI1SK": pk}


def _result(tenant: TenantContext, invoice_id: str, status: str, reason: str, **details: Any) -> dict[str, Any]:
    return {"tenant_id": tenant.tenant_id, "invoice_id": invoice_id, "status": status, "reason": reason,
            **{k: v for k, v in details.items() if v is not None}}
