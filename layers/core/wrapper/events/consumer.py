"""Consuming events that EventBridge delivered to an SQS queue."""

from __future__ import annotations

import json
from typing import Any

from wrapper.events.envelope import EventEnvelope


def envelope_from_sqs_body(body: str) -> EventEnvelope:
    """An SQS message from an EventBridge rule carries the whole EventBridge event; ours is its detail."""
    message: dict[str, Any] = json.loads(body)
    detail = message.get("detail", message)
    if isinstance(detail, str):
        detail = json.loads(detail)
    return EventEnvelope.model_validate(detail)
