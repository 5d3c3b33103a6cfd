"""What we keep of a Stripe event, and what the webhook answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict

from wrapper.kernel.model import Model

# Stripe ids (evt_..., cs_test_..., pi_...) are letters, digits and underscores; the shape check keeps
# '#' and friends out of our keys.
_STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")

# What the effects are asked to apply; any other type is acknowledged, logged and marked ignored.
HANDLED_TYPES = frozenset({
    "checkout.session.completed",
    "setup_intent.succeeded",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_method.attached",
    "payment_method.detached",
    "customer.updated",
    "charge.refunded",
    "charge.dispute.created",
})


class MalformedEvent(ValueError):
    """A correctly signed payload that is not a Stripe event we can key (no usable id)."""


@dataclass(frozen=True)
class StripeEventFacts:
    """The fields of an event that dedupe and ordering need; the event itself travels whole."""

    id: str
    type: str
    created: int | None
    object_id: str | None

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> StripeEventFacts:
        event_id = event.get("id")
        if not isinstance(event_id, str) or not _STRIPE_ID.fullmatch(event_id):
            raise MalformedEvent("the event has no usable id")
        event_type = event.get("type")
        created = event.get("created")
        data = event.get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        object_id = obj.get("id") if isinstance(obj, dict) else None
        return cls(
            id=event_id,
            # Stripe always sends both; a signed event without them is kept, and ignored by the consumer.
            type=event_type if isinstance(event_type, str) else "",
            created=created if isinstance(created, int) and not isinstance(created, bool) else None,
            object_id=object_id if isinstance(object_id, str) and _STRIPE_ID.fullmatch(object_id) else None,
        )

    @property
    def handled(self) -> bool:
        return self.type in HANDLED_TYPES


class WebhookReceipt(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    received: bool = True
    duplicate: bool = False
