"""Record an event in its tenant's audit log, or a platform event (no tenant: the catalog's) in the
platform's, once per event id."""

from __future__ import annotations

from typing import Any, Protocol

from wrapper.events.envelope import EventEnvelope


class AuditLog(Protocol):
    def add_once(self, entry: dict[str, Any]) -> bool:
        """Store the entry unless one with the same event id exists; True if it was stored."""
        ...


def audit_entry(event: EventEnvelope) -> dict[str, Any]:
    # Every type's data carries the audit fields (EventData), whatever else it holds. The models load
    # with the first event, not with the consumer's cold start.
    from wrapper.events.data import EventData

    data = EventData.model_validate(event.data)
    return {
        "event_id": event.id,
        "tenant_id": event.tenant_id,
        "action": event.type,
        "occurred_at": event.occurred_at,
        "actor": data.actor,
        "target": data.target,
        "request_id": data.request_id,
        "source_ip": data.source_ip,
    }


def record(event: EventEnvelope, log: AuditLog) -> bool:
    return log.add_once(audit_entry(event))
