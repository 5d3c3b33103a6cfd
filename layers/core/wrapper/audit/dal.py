"""Audit entries: ``PK=TENANT#<id>``, ``SK=AUDIT#<occurred_at>#<event_id>``; a marker item
``AUDITEVT#<event_id>`` in the same transaction makes a redelivered event a no-op."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from wrapper.store.keys import tenant_pk
from wrapper.store.table import Item, Table, put_op

AUDIT_SK_PREFIX = "AUDIT#"
AUDIT_MARKER_PREFIX = "AUDITEVT#"


class DynamoAuditLog:
    def __init__(self, table: Table, *, retention_seconds: int | None = None) -> None:
        self.table = table
        self.retention_seconds = retention_seconds

    def add_once(self, entry: dict[str, Any]) -> bool:
        pk = tenant_pk(entry["tenant_id"])
        item: Item = {"PK": pk, "SK": f"{AUDIT_SK_PREFIX}{entry['occurred_at']}#{entry['event_id']}",
                      "record_type": "audit", **entry}
        marker: Item = {"PK": pk, "SK": f"{AUDIT_MARKER_PREFIX}{entry['event_id']}", "record_type": "audit_marker"}
        try:
            self.table.transact([put_op(marker, condition="attribute_not_exists(PK)"), put_op(item)])
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons", [])
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    return False
            raise
        return True

    def list(self, tenant_id: str, *, limit: int = 50) -> list[Item]:
        items, _ = self.table.query(tenant_pk(tenant_id), sk_prefix=AUDIT_SK_PREFIX, limit=limit)
        return items
