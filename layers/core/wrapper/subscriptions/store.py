"""The subscription's items. Only this module builds their keys.

| item | PK | SK |
|---|---|---|
| current subscription | `TENANT#<t>` | `SUBSCRIPTION` (+ `GSI1PK=PLATFORM#DUE#<yyyy-mm-dd>`, `GSI1SK=TENANT#<t>`) |
| history (a snapshot per change) | `TENANT#<t>` | `SUBHIST#<iso ts>#<subscription id>` |
| billing record | `TENANT#<t>` | `BILLING` |
| Stripe customer → tenant | `PLATFORM#STRIPECUST#<cus_id>` | `TENANT` |
| change waiting for a Checkout payment | `TENANT#<t>` | `CHECKOUT#<session id>` |
| coupon used by the tenant | `TENANT#<t>` | `COUPONUSE#<CODE>` |
| Stripe event applied (replay guard) | `TENANT#<t>` | `STRIPEEVT#<evt id>` |
| Idempotency-Key answer | `TENANT#<t>` | `IDEMPOTENCY#<sha256 of the key>` |
| renewal charge (until invoices exist) | `TENANT#<t>` | `CHARGE#<period start>` |
| trial.ending sent (once per trial end) | `TENANT#<t>` | `TRIALNOTICE#<subscription id>#<trial end>` |

The subscription is stored as its JSON (``doc``) with ``version`` beside it for conditional writes.
The due date on GSI1 is the UTC date of ``current_period_end`` (the billing run's day).
"""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import datetime
from typing import Any

from wrapper.events.envelope import EventEnvelope
from wrapper.events.outbox import write_with_outbox
from wrapper.kernel.clock import epoch
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import (
    BILLING_SK,
    CATALOG_PK,
    CHECKOUT_PREFIX,
    HISTORY_PREFIX,
    MEMBER_PREFIX,
    PROFILE_SK,
    STRIPE_CUSTOMER_SK,
    STRIPE_EVENT_PREFIX,
    SUBSCRIPTION_SK,
    TRIAL_NOTICE_PREFIX,
    coupon_sk,
    coupon_use_sk,
    due_pk,
    member_sk,
    stripe_customer_pk,
    tenant_pk,
)
from wrapper.store.table import Item, Table, WriteRefused, put_op, update_op
from wrapper.subscriptions.models import Subscription

# Pending Checkout changes and applied-event markers outlive any retry of what wrote them.
CHECKOUT_TTL_DAYS = 7
STRIPE_EVENT_TTL_DAYS = 90


class SubscriptionStore:
    def __init__(self, table: Table, *, outbox_ttl_days: int) -> None:
        self.table = table
        self.outbox_ttl_days = outbox_ttl_days

    # -- reads ---------------------------------------------------------------------------------------------------

    def current(self, tenant: TenantContext) -> Subscription | None:
        item = self.table.get(tenant.pk, SUBSCRIPTION_SK)
        return Subscription.model_validate_json(str(item["doc"])) if item else None

    def history(self, tenant: TenantContext, *, limit: int,
                start_key: dict[str, Any] | None) -> tuple[list[Subscription], dict[str, Any] | None]:
        items, last = self.table.query(tenant.pk, sk_prefix=HISTORY_PREFIX, limit=limit, start_key=start_key,
                                       forward=False)
        return [Subscription.model_validate_json(str(i["doc"])) for i in items], last

    def profile(self, tenant: TenantContext) -> Item:
        return self.table.get(tenant.pk, PROFILE_SK) or {}

    def billing(self, tenant: TenantContext) -> Item | None:
        return self.table.get(tenant.pk, BILLING_SK)

    def member_email(self, tenant: TenantContext, user_id: str) -> str | None:
        member = self.table.get(tenant.pk, member_sk(user_id)) or {}
        return str(member["email"]) if member.get("email") else None

    def billing_contacts(self, tenant: TenantContext) -> list[str]:
        """Who hears about the tenant's billing: its billing email, else its owners."""
        billing_email = self.profile(tenant).get("billing_email")
        if billing_email:
            return [str(billing_email)]
        owners, _ = self.table.query(tenant.pk, sk_prefix=MEMBER_PREFIX, filter_equals={"role": "owner"}, limit=100)
        return sorted({str(o["email"]) for o in owners if o.get("email")})

    def tenant_of_customer(self, customer_id: str) -> str | None:
        item = self.table.get(stripe_customer_pk(customer_id), STRIPE_CUSTOMER_SK)
        return str(item["tenant_id"]) if item else None

    def checkout(self, tenant: TenantContext, session_id: str) -> Item | None:
        return self.table.get(tenant.pk, f"{CHECKOUT_PREFIX}{session_id}")

    def checkout_by_ref(self, tenant: TenantContext, ref: str) -> Item | None:
        start: dict[str, Any] | None = None
        while True:
            items, start = self.table.query(tenant.pk, sk_prefix=CHECKOUT_PREFIX, filter_equals={"ref": ref},
                                            limit=100, start_key=start)
            if items:
                return items[0]
            if not start:
                return None

    def event_applied(self, tenant: TenantContext, event_id: str) -> bool:
        return self.table.get(tenant.pk, f"{STRIPE_EVENT_PREFIX}{event_id}") is not None

    # -- operations (for one transaction) ------------------------------------------------------------------------

    def save_ops(self, subscription: Subscription, *, expected_version: int | None) -> list[dict[str, Any]]:
        """Write ``subscription`` as current (conditioned on the version read, or on there being none) and
        append its snapshot to the history."""
        pk = tenant_pk(subscription.tenant_id)
        doc = subscription.model_dump_json()
        current: Item = {
            "PK": pk, "SK": SUBSCRIPTION_SK, "record_type": "subscription", "doc": doc,
            "version": subscription.version, "tenant_id": subscription.tenant_id,
            "subscription_id": subscription.id, "status": subscription.status,
            "GSI1PK": due_pk(subscription.current_period_end.date()), "GSI1SK": pk,
        }
        if expected_version is None:
            write = put_op(current, condition="attribute_not_exists(PK)")
        else:
            write = put_op(current, condition="version = :v", values={":v": expected_version})
        stamp = subscription.updated_at.isoformat()
        snapshot = put_op({"PK": pk, "SK": f"{HISTORY_PREFIX}{stamp}#{subscription.id}#{subscription.version}",
                           "record_type": "subscription_history", "doc": doc})
        return [write, snapshot]

    def ended_ops(self, ended: Subscription) -> list[dict[str, Any]]:
        """The snapshot of a subscription that stops being current (canceled or replaced)."""
        pk = tenant_pk(ended.tenant_id)
        stamp = ended.updated_at.isoformat()
        return [put_op({"PK": pk, "SK": f"{HISTORY_PREFIX}{stamp}#{ended.id}#{ended.version}",
                        "record_type": "subscription_history", "doc": ended.model_dump_json()})]

    def redeem_coupon_ops(self, tenant: TenantContext, code: str, max_redemptions: int | None) -> list[dict[str, Any]]:
        """Count one redemption on the coupon (refused past its maximum) and once per tenant.

        The count is the coupon item's top-level ``times_redeemed`` attribute, raised with ADD so two
        tenants redeeming the last one at once cannot both succeed."""
        condition = "attribute_exists(PK)"
        values: dict[str, Any] = {":one": 1}
        if max_redemptions is not None:
            condition += " AND (attribute_not_exists(times_redeemed) OR times_redeemed < :max)"
            values[":max"] = max_redemptions
        return [
            update_op(CATALOG_PK, coupon_sk(code), update="ADD times_redeemed :one", condition=condition,
                      values=values),
            put_op({"PK": tenant.pk, "SK": coupon_use_sk(code), "record_type": "coupon_use",
                    "code": code.upper()}, condition="attribute_not_exists(PK)"),
        ]

    def coupon_used(self, tenant: TenantContext, code: str) -> bool:
        return self.table.get(tenant.pk, coupon_use_sk(code)) is not None

    def checkout_op(self, tenant: TenantContext, session_id: str, pending: Item, now: float) -> dict[str, Any]:
        # A replayed request creates the same session: writing its pending change again is harmless,
        # but never over one already applied.
        return put_op({**pending, "PK": tenant.pk, "SK": f"{CHECKOUT_PREFIX}{session_id}", "record_type": "checkout",
                       "session_id": session_id, "status": "pending",
                       "expires_at": int(now + CHECKOUT_TTL_DAYS * 86400)},
                      condition="attribute_not_exists(PK) OR #s = :pending", names={"#s": "status"},
                      values={":pending": "pending"})

    def checkout_done_op(self, tenant: TenantContext, session_id: str, outcome: str) -> dict[str, Any]:
        return update_op(tenant.pk, f"{CHECKOUT_PREFIX}{session_id}", update="SET #s = :done",
                         condition="#s = :pending", names={"#s": "status"},
                         values={":done": outcome, ":pending": "pending"})

    def stripe_event_op(self, tenant: TenantContext, event_id: str, outcome: str, now: float) -> dict[str, Any]:
        return put_op({"PK": tenant.pk, "SK": f"{STRIPE_EVENT_PREFIX}{event_id}", "record_type": "stripe_event",
                       "outcome": outcome, "expires_at": int(now + STRIPE_EVENT_TTL_DAYS * 86400)},
                      condition="attribute_not_exists(PK)")

    def billing_update_op(self, tenant: TenantContext, *, values: dict[str, Any],
                          event_created: int | None = None) -> dict[str, Any]:
        """SET the given billing attributes; with ``event_created``, only if no newer Stripe event set them."""
        names = {f"#a{n}": name for n, name in enumerate(values)}
        sets = [f"#a{n} = :a{n}" for n in range(len(values))]
        bound: dict[str, Any] = {f":a{n}": value for n, value in enumerate(values.values())}
        condition = "attribute_exists(PK)"
        if event_created is not None:
            names["#seen"] = "stripe_event_created"
            sets.append("#seen = :created")
            bound[":created"] = event_created
            condition += " AND (attribute_not_exists(#seen) OR #seen <= :created)"
        return update_op(tenant.pk, BILLING_SK, update="SET " + ", ".join(sets), condition=condition, names=names,
                         values=bound)

    def trial_notice_op(self, subscription: Subscription, trial_end: datetime) -> dict[str, Any]:
        return put_op({"PK": tenant_pk(subscription.tenant_id),
                       "SK": f"{TRIAL_NOTICE_PREFIX}{subscription.id}#{trial_end.isoformat()}",
                       "record_type": "trial_notice", "subscription_id": subscription.id,
                       "trial_end": trial_end.isoformat()}, condition="attribute_not_exists(PK)")

    def write(self, operations: list[dict[str, Any]], events: list[EventEnvelope]) -> None:
        write_with_outbox(self.table, operations, events, ttl_days=self.outbox_ttl_days)

    def create_billing(self, tenant: TenantContext, customer_id: str) -> None:
        """The billing record and the customer → tenant lookup, together; a concurrent creator's is kept."""
        # A concurrent creator's record stands, and the caller reads it.
        with suppress(WriteRefused):
            self.write([
                put_op({"PK": tenant.pk, "SK": BILLING_SK, "record_type": "billing", "stripe_customer_id": customer_id,
                        "created_at": int(epoch())}, condition="attribute_not_exists(PK)"),
                put_op({"PK": stripe_customer_pk(customer_id), "SK": STRIPE_CUSTOMER_SK,
                        "record_type": "stripe_customer", "tenant_id": tenant.tenant_id},
                       condition="attribute_not_exists(PK) OR tenant_id = :t", values={":t": tenant.tenant_id}),
            ], [])


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
