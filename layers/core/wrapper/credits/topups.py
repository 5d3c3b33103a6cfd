"""Credits a tenant buys: ``POST /v1/credits/top-ups``.

The saved card is charged off-session for ``credits * unit_amount`` (minor units of ``currency``);
when it pays, the grant is written at once, named by the payment, so a retry grants once. Without a
card that pays, the answer is 402 with a Checkout page; once it is paid, the Stripe webhook grants
the credits, named by the Checkout session (``grant_paid_checkout``). Bought credits never expire
and are spent after the operator's grants of a lower priority number.
"""

from __future__ import annotations

from typing import Any

from ulid import ULID

from wrapper.credits.models import CreditGrant, TopUp
from wrapper.credits.service import Credits
from wrapper.kernel.actor import Actor
from wrapper.kernel.permissions import Permission
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.collection import Collection, PaymentRequired

PURPOSE_TOP_UP = "credit_top_up"
PURCHASED_PRIORITY = 100


class TopUps:
    def __init__(self, collection: Collection, credits: Credits, *, unit_amount: int, currency: str) -> None:
        self.collection = collection
        self.credits = credits
        self.unit_amount = unit_amount
        self.currency = currency

    def buy(self, actor: Actor, body: TopUp, *, idempotency_key: str | None) -> CreditGrant:
        actor.require(Permission.BILLING_WRITE)
        amount = body.credits * self.unit_amount
        # The key names the payment at Stripe: a retry after a crash charges the same payment again, once.
        key = f"topup:{actor.tenant.tenant_id}:{idempotency_key or ULID()}:{body.credits}"
        description = f"{body.credits} credits"
        metadata = {"tenant_id": actor.tenant.tenant_id, "purpose": PURPOSE_TOP_UP, "credits": str(body.credits)}
        attempt = self.collection.charge_saved_card(actor.tenant, actor.user_id, amount, self.currency,
                                                    description=description, key=key, metadata=metadata)
        if attempt.charge is not None:
            return self.credits.grant(actor.tenant, body.credits, source="purchase",
                                      reference=f"payment:{attempt.charge.id}", by=actor.user_id,
                                      priority=PURCHASED_PRIORITY, description=f"Bought: {description}")
        session = self.collection.payment_page(attempt.customer, amount, self.currency, description=description,
                                               key=key, metadata=metadata)
        raise PaymentRequired(f"The saved card could not pay {amount} {self.currency} ({attempt.declined}): pay on "
                              "the Checkout page and the credits are added.", checkout_url=session.url,
                              checkout_session_id=session.id, amount_due=amount, currency=self.currency)


def grant_paid_checkout(credits: Credits, tenant: TenantContext, session: dict[str, Any]) -> str:
    """The webhook's part: a paid top-up Checkout session becomes its grant, once."""
    metadata = session.get("metadata") or {}
    try:
        amount = int(metadata.get("credits", ""))
    except ValueError:
        return "ignored: a top-up session without its credits"
    if amount <= 0:
        return "ignored: a top-up session without its credits"
    grant = credits.grant(tenant, amount, source="purchase", reference=f"checkout:{session.get('id')}",
                          by="stripe", priority=PURCHASED_PRIORITY, description=f"Bought: {amount} credits")
    return f"applied: {amount} credits granted ({grant.id})"
