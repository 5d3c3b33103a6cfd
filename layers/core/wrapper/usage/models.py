"""What the usage API takes and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from wrapper.kernel.model import Model
from wrapper.kernel.numbers import Number

MAX_EVENTS = 100
MAX_BODY_BYTES = 256 * 1024
MAX_PROPERTIES = 50
MAX_PROPERTIES_BYTES = 4096

Status = Literal["accepted", "duplicate", "rejected", "late"]


class EventBatch(Model):
    """The envelope is validated as a whole; each event on its own (a bad one is rejected, not the batch)."""

    model_config = ConfigDict(extra="forbid")

    events: list[Any] = Field(min_length=1, max_length=MAX_EVENTS, description=(
        "1 to 100 events, each {event_id (1..128 chars), name, timestamp (ISO 8601 with zone), "
        "properties (object, up to 50 keys and 4 KB)}"))


class EventResult(Model):
    event_id: str | None
    status: Status
    reason: str | None = None


class IngestResult(Model):
    results: list[EventResult]


@dataclass(frozen=True)
class UsageEvent:
    event_id: str
    name: str
    timestamp: datetime  # UTC
    properties: dict[str, Any] = field(default_factory=dict)


class DailyValue(Model):
    date: date
    value: Number


class DailyUsage(Model):
    meter: str
    items: list[DailyValue]


class SummaryItem(Model):
    meter: str
    feature: str | None
    value: Number
    limit: int | None
    share: float | None = Field(description="value / limit (None when unlimited)")
    period_start: datetime
    period_end: datetime


class UsageSummary(Model):
    items: list[SummaryItem]


class EntitlementCheck(Model):
    feature: str
    allowed: bool
    limit: int | None
    used: Number | None
    remaining: Number | None
    hard: bool
