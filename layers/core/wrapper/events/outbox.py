"""The transactional outbox: a state change and its event record in one TransactWriteItems.

The stream publisher (functions/outbox) picks the record up from the table's stream and
forwards it to EventBridge, so a crash between "state written" and "event sent" loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from wrapper.events.envelope import EventEnvelope
from wrapper.kernel.clock import epoch
from wrapper.store.schema import PLATFORM_OUTBOX_PK, outbox_sk, tenant_pk
from wrapper.store.table import Item, Table, put_op

OUTBOX_RECORD_TYPE = "outbox"


def outbox_item(event: EventEnvelope, *, ttl_days: int, now: float | None = None) -> Item:
    pk = tenant_pk(event.tenant_id) if event.tenant_id else PLATFORM_OUTBOX_PK
    return {
        "PK": pk,
        "SK": outbox_sk(event.id),
        "record_type": OUTBOX_RECORD_TYPE,
        "event_type": event.type,
        "envelope": json.dumps(event.model_dump(), separators=(",", ":")),
        # Records stay readable (and replayable) for a while after publishing, then expire.
        "expires_at": int((now if now is not None else epoch()) + ttl_days * 86400),
    }


def write_with_outbox(
    table: Table,
    operations: Iterable[dict[str, Any]],
    events: Iterable[EventEnvelope],
    *,
    ttl_days: int,
) -> None:
    """Apply ``operations`` and record ``events`` atomically: both happen or neither does."""
    ops = list(operations)
    ops.extend(put_op(outbox_item(event, ttl_days=ttl_days), condition="attribute_not_exists(PK)")
               for event in events)
    if len(ops) > 100:
        raise ValueError("a transaction holds at most 100 operations")
    table.transact(ops)


def envelope_from_stream_image(image: dict[str, Any]) -> EventEnvelope:
    """Rebuild an envelope from an outbox record's NewImage (DynamoDB JSON)."""
    return EventEnvelope.model_validate_json(image["envelope"]["S"])
