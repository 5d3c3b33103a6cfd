"""Timestamps on the wire and in keys: UTC, ISO 8601, ending in ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(moment: datetime | float, *, timespec: str = "seconds") -> str:
    """``moment`` (a datetime, naive meaning UTC, or epoch seconds) as ``2026-11-30T06:00:00Z``;
    ``timespec`` as ``datetime.isoformat`` takes it (``milliseconds`` where keys sort by it)."""
    if isinstance(moment, datetime):
        utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    else:
        utc = datetime.fromtimestamp(moment, UTC)
    return utc.isoformat(timespec=timespec).replace("+00:00", "Z")
