"""The webhook's memory in the one table: which Stripe events arrived and what became of them, and per Stripe
object the ``created`` time of the last event applied to it.

| item | PK | SK |
|---|---|---|
| a received event | `PLATFORM#STRIPEEVT#<event id>` | `EVENT` |
| the last applied event of an object | `PLATFORM#STRIPEOBJ#<object id>` | `LAST` |

An event's ``status`` goes ``queued`` → ``applied`` | ``stale`` | ``ignored``. Both items expire after
``RETENTION_DAYS``: longer than Stripe keeps retrying (3 days) or lets an event be resent (30 days).
"""

from __future__ import annotations

from contextlib import suppress
from enum import StrEnum
from typing import Any

from wrapper.kernel.timestamps import iso_z
from wrapper.store.schema import STRIPE_EVENT_SK, STRIPE_OBJECT_LAST_SK, stripe_event_pk, stripe_object_pk
from wrapper.store.table import Table, WriteRefused
from wrapper.webhooks.models import StripeEventFacts

RETENTION_DAYS = 35
EVENT_RECORD_TYPE = "stripe_event"
OBJECT_RECORD_TYPE = "stripe_object"


class EventStatus(StrEnum):
    QUEUED = "queued"
    APPLIED = "applied"
    STALE = "stale"
    IGNORED = "ignored"


FINAL_STATUSES = frozenset({EventStatus.APPLIED, EventStatus.STALE, EventStatus.IGNORED})


def _iso(now: float) -> str:
    return iso_z(now, timespec="milliseconds")


def _expires_at(now: float) -> int:
    return int(now) + RETENTION_DAYS * 86400


class StripeEventLedger:
    def __init__(self, table: Table) -> None:
        self.table = table

    def status(self, event_id: str) -> str | None:
        """The event's status, or None when it was never recorded."""
        item = self.table.get(stripe_event_pk(event_id), STRIPE_EVENT_SK)
        return str(item["status"]) if item else None

    def record_queued(self, facts: StripeEventFacts, *, now: float) -> bool:
        """Record a queued event; False when it was already recorded (a concurrent delivery, or the consumer
        got to it first)."""
        item: dict[str, Any] = {
            "PK": stripe_event_pk(facts.id), "SK": STRIPE_EVENT_SK, "record_type": EVENT_RECORD_TYPE,
            "status": EventStatus.QUEUED.value, "event_type": facts.type, "created": facts.created,
            "object_id": facts.object_id, "received_at": _iso(now), "expires_at": _expires_at(now),
        }
        try:
            self.table.put(item, condition="attribute_not_exists(PK)")
        except WriteRefused:
            return False
        return True

    def advance_object(self, facts: StripeEventFacts, *, now: float) -> bool:
        """Move the object's last applied time to this event's; False when a newer event was applied already.

        Equal times pass: Stripe's ``created`` has one-second resolution, and the effects are idempotent.
        """
        if facts.object_id is None or facts.created is None:
            raise ValueError("ordering needs the event's object id and created time")
        try:
            self.table.update(
                stripe_object_pk(facts.object_id), STRIPE_OBJECT_LAST_SK,
                update="SET #created = :created, event_id = :event_id, event_type = :type, "
                       "record_type = :record_type, expires_at = :expires_at",
                condition="attribute_not_exists(PK) OR #created <= :created", names={"#created": "created"},
                values={":created": facts.created, ":event_id": facts.id, ":type": facts.type,
                        ":record_type": OBJECT_RECORD_TYPE, ":expires_at": _expires_at(now)})
        except WriteRefused:
            return False
        return True

    def last_applied(self, object_id: str) -> int | None:
        item = self.table.get(stripe_object_pk(object_id), STRIPE_OBJECT_LAST_SK)
        return int(item["created"]) if item else None

    def mark(self, facts: StripeEventFacts, status: EventStatus, *, now: float, outcome: str | None = None) -> None:
        """Record what became of the event. Creates the record when the consumer got the message before the
        webhook wrote it; a final status is never overwritten (a redelivered message changes nothing)."""
        values: dict[str, Any] = {
            ":status": status.value, ":queued": EventStatus.QUEUED.value, ":at": _iso(now),
            ":type": facts.type, ":record_type": EVENT_RECORD_TYPE, ":expires_at": _expires_at(now),
        }
        sets = ["#status = :status", "settled_at = :at", "event_type = if_not_exists(event_type, :type)",
                "record_type = :record_type", "expires_at = if_not_exists(expires_at, :expires_at)"]
        names = {"#status": "status"}
        for attribute, value in (("created", facts.created), ("object_id", facts.object_id), ("outcome", outcome)):
            if value is not None:
                names[f"#{attribute}"] = attribute
                values[f":{attribute}"] = value
                sets.append(f"#{attribute} = :{attribute}")
        # A final status already stands: this redelivery changes nothing.
        with suppress(WriteRefused):
            self.table.update(stripe_event_pk(facts.id), STRIPE_EVENT_SK, update="SET " + ", ".join(sets),
                              condition="attribute_not_exists(#status) OR #status = :queued", names=names,
                              values=values)
