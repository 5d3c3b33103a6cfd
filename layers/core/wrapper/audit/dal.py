"""Audit entries: ``PK=TENANT#<id>`` (``PLATFORM#AUDIT`` for platform events, which have no tenant),
``SK=AUDIT#<occurred_at>#<event_id>``; a marker item ``AUDITEVT#<event_id>`` in the same transaction
makes a redelivered event a no-op. A tenant reads its own log (``audit:read``), the platform
operator the platform's.

Reading: newest first, a time window as a key range (``from`` inclusive, ``to`` exclusive,
both UTC), and an action filter applied by DynamoDB after the page is read — a filtered page
can be short or empty while ``next_cursor`` still says there is more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import InvalidInput
from wrapper.kernel.model import Model
from wrapper.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from wrapper.kernel.permissions import Permission
from wrapper.kernel.timestamps import iso_z
from wrapper.store.schema import AUDIT_SK_PREFIX, PLATFORM_AUDIT_PK, audit_marker_sk, audit_sk, tenant_pk
from wrapper.store.table import Item, Table, WriteRefused, put_op

# Sorts after every ISO timestamp: the open upper end of a time window.
_END = "~"


class AuditEntry(Model):
    id: str
    action: str
    occurred_at: str
    actor: str | None = None
    target: str | None = None
    request_id: str | None = None
    source_ip: str | None = None


def _iso(moment: datetime) -> str:
    """The envelope's own timestamp format (UTC, milliseconds, ``Z``), so key ranges line up."""
    return iso_z(moment, timespec="milliseconds")


class DynamoAuditLog:
    def __init__(self, table: Table, *, retention_seconds: int | None = None) -> None:
        self.table = table
        self.retention_seconds = retention_seconds

    def add_once(self, entry: dict[str, Any]) -> bool:
        pk = tenant_pk(entry["tenant_id"]) if entry["tenant_id"] else PLATFORM_AUDIT_PK
        item: Item = {"PK": pk, "SK": audit_sk(entry['occurred_at'], entry['event_id']),
                      "record_type": "audit", **entry}
        marker: Item = {"PK": pk, "SK": audit_marker_sk(entry['event_id']), "record_type": "audit_marker"}
        try:
            self.table.transact([put_op(marker, condition="attribute_not_exists(PK)"), put_op(item)])
        except WriteRefused as refused:
            if refused.failed_at(0):
                return False
            raise
        return True

    def page(self, actor: Actor, *, limit: int | None = None, cursor: str | None = None,
             action: str | None = None, since: datetime | None = None,
             until: datetime | None = None) -> Page[AuditEntry]:
        """The tenant's audit entries, newest first (naive times are taken as UTC)."""
        actor.require(Permission.AUDIT_READ)
        return self._page(actor.tenant.pk, limit=limit, cursor=cursor, action=action, since=since, until=until)

    def platform_page(self, *, limit: int | None = None, cursor: str | None = None, action: str | None = None,
                      since: datetime | None = None, until: datetime | None = None) -> Page[AuditEntry]:
        """The platform's audit entries (the operator's catalog changes), newest first; for the operator."""
        return self._page(PLATFORM_AUDIT_PK, limit=limit, cursor=cursor, action=action, since=since, until=until)

    def _page(self, pk: str, *, limit: int | None, cursor: str | None, action: str | None,
              since: datetime | None, until: datetime | None) -> Page[AuditEntry]:
        if since and until and _iso(since) >= _iso(until):
            raise InvalidInput("'from' must be before 'to'", errors=[{"field": "from", "message": "not before 'to'"}])
        low = f"{AUDIT_SK_PREFIX}{_iso(since)}" if since else AUDIT_SK_PREFIX
        high = f"{AUDIT_SK_PREFIX}{_iso(until)}" if until else f"{AUDIT_SK_PREFIX}{_END}"
        items, last = self.table.query(pk, sk_between=(low, high), filter_equals={"action": action} if action else None,
                                       limit=clamp_limit(limit), forward=False,
                                       start_key=decode_cursor(cursor, partition_key=pk))
        return Page[AuditEntry](items=[_entry(i) for i in items], next_cursor=encode_cursor(last))


def _entry(item: Item) -> AuditEntry:
    return AuditEntry(id=str(item["event_id"]), action=str(item["action"]), occurred_at=str(item["occurred_at"]),
                      actor=item.get("actor"), target=item.get("target"), request_id=item.get("request_id"),
                      source_ip=item.get("source_ip"))
