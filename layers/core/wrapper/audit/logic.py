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
    data = event.data
    return {
        "event_id": event.id,
        "tenant_id": event.tenant_id,
        "action": event.type,
        "occurred_at": event.occurred_at,
        "actor": data.get("actor"),
        "target": data.get("target"),
        "request_id": data.get("request_id"),
        "source_ip": data.get("source_ip"),
    }


def record(event: EventEnvelope, log: AuditLog) -> bool:
    return log.add_once(audit_entry(event))
