"""Applying queued Stripe events: each event once, and never an older one over newer state.

Per message: an event already settled (applied, stale, ignored) is skipped; an unknown type is marked
ignored; then the ordering guard moves the object's last applied ``created`` forward (an event older than
the last applied one for the same object is marked stale and not applied); then the effects run, then the
event is marked applied. The effects are idempotent, so a crash between applying and marking is safe: the
redelivered message passes the guard (equal times pass) and re-applies harmlessly.

Not covered: two events of one object applied at the same moment by two consumers can still land their
effects out of order (the guard is checked before the effects run); a FIFO queue grouped by object id
would close that window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from wrapper.webhooks.ledger import FINAL_STATUSES, EventStatus, StripeEventLedger
from wrapper.webhooks.models import StripeEventFacts


class EventEffects(Protocol):
    def apply(self, event: dict[str, Any]) -> str:
        """Apply the event to our domain (idempotently); answer what was done, for the record."""
        ...


DUPLICATE = "duplicate"


def process(event: Mapping[str, Any], *, ledger: StripeEventLedger, effects: EventEffects, now: float) -> str:
    """Settle one queued event; answer its status (``applied``, ``stale``, ``ignored``) or ``duplicate``."""
    facts = StripeEventFacts.of(event)
    if ledger.status(facts.id) in FINAL_STATUSES:
        return DUPLICATE
    if not facts.handled:
        ledger.mark(facts, EventStatus.IGNORED, now=now)
        return EventStatus.IGNORED.value
    if facts.object_id is not None and facts.created is not None and not ledger.advance_object(facts, now=now):
        ledger.mark(facts, EventStatus.STALE, now=now)
        return EventStatus.STALE.value
    outcome = effects.apply(dict(event))
    ledger.mark(facts, EventStatus.APPLIED, now=now, outcome=outcome)
    return EventStatus.APPLIED.value
