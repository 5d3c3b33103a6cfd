"""The event envelope every consumer receives (as EventBridge's ``detail``)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field
from ulid import ULID

from wrapper.events.catalog import EventType
from wrapper.kernel.clock import now
from wrapper.kernel.model import Model
from wrapper.kernel.request_meta import RequestMeta
from wrapper.kernel.timestamps import iso_z

ENVELOPE_VERSION = "1"


def utc_now_iso() -> str:
    return iso_z(now(), timespec="milliseconds")


class EventEnvelope(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=lambda: str(ULID()))
    type: str
    tenant_id: str | None
    occurred_at: str = Field(default_factory=utc_now_iso)
    data: dict[str, Any] = Field(default_factory=dict)
    version: str = ENVELOPE_VERSION


def new_event(event_type: EventType, tenant_id: str | None, data: dict[str, Any]) -> EventEnvelope:
    """An event of ``event_type``, its data checked against the type's model (``wrapper.events.data``)."""
    # Imported here: the models load with a function's first event, not with its cold start.
    from wrapper.events.data import data_model

    data_model(event_type.value).model_validate(data)
    return EventEnvelope(type=event_type.value, tenant_id=tenant_id, data=data)


def audit_fields(actor: str | None, target: str | None, request_meta: RequestMeta) -> dict[str, Any]:
    """What every event's data starts with, the fields the audit log keeps (``EventData``): who did
    it, to what, and from which request. For an ``Actor``: ``audit_fields(actor.user_id, target,
    actor.request_meta)``; for work no request started, ``NO_REQUEST``."""
    return {"actor": actor, "target": target, "request_id": request_meta.request_id,
            "source_ip": request_meta.source_ip}
