"""Forward outbox records from the table's stream to EventBridge.

Entries go out in batches of 10 (PutEvents' limit). Entries EventBridge refuses are retried
with backoff; whatever still fails is reported back as batch item failures, so Lambda retries
from that record: nothing is dropped. A record may be published twice; consumers dedupe by id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from wrapper.events.envelope import EventEnvelope
from wrapper.events.outbox import envelope_from_stream_image
from wrapper.store.schema import OUTBOX_SK_PREFIX

PUT_EVENTS_BATCH = 10


class EventBus(Protocol):
    def put_events(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send entries; answer one result per entry, in order (``ErrorCode`` on failure)."""
        ...


@dataclass
class PublishOutcome:
    published: int = 0
    skipped: int = 0
    failed_sequence_numbers: list[str] = field(default_factory=list)


def is_outbox_insert(record: dict[str, Any]) -> bool:
    dynamodb = record.get("dynamodb", {})
    sk = dynamodb.get("Keys", {}).get("SK", {}).get("S", "")
    return record.get("eventName") == "INSERT" and sk.startswith(OUTBOX_SK_PREFIX)


def to_entry(event: EventEnvelope, *, bus_name: str, source: str) -> dict[str, Any]:
    return {
        "EventBusName": bus_name,
        "Source": source,
        "DetailType": event.type,
        "Detail": json.dumps(event.model_dump(), separators=(",", ":")),
        "Resources": [],
    }


def publish_stream_records(
    records: Sequence[dict[str, Any]],
    bus: EventBus,
    *,
    bus_name: str,
    source: str,
    max_attempts: int = 4,
    sleep: Callable[[float], None] = lambda _s: None,
) -> PublishOutcome:
    outcome = PublishOutcome()
    pending: list[tuple[str, dict[str, Any]]] = []
    for record in records:
        if not is_outbox_insert(record):
            outcome.skipped += 1
            continue
        envelope = envelope_from_stream_image(record["dynamodb"]["NewImage"])
        pending.append((record["dynamodb"]["SequenceNumber"], to_entry(envelope, bus_name=bus_name, source=source)))

    for start in range(0, len(pending), PUT_EVENTS_BATCH):
        batch = pending[start:start + PUT_EVENTS_BATCH]
        for attempt in range(1, max_attempts + 1):
            try:
                results = bus.put_events([entry for _, entry in batch])
            except Exception:
                results = [{"ErrorCode": "CallFailed"}] * len(batch)
            still_failing = [item for item, result in zip(batch, results, strict=True) if result.get("ErrorCode")]
            outcome.published += len(batch) - len(still_failing)
            batch = still_failing
            if not batch:
                break
            if attempt < max_attempts:
                sleep(min(0.1 * 2 ** attempt, 2.0))
        outcome.failed_sequence_numbers.extend(seq for seq, _ in batch)
    return outcome
