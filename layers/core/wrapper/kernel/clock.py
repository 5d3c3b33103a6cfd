"""Clocks are passed in, never read from a global, so tests and the local cloud can set the time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

# Seconds since the epoch, as ``time.time`` answers them.
EpochClock = Callable[[], float]
# An aware UTC datetime, as ``datetime.now(UTC)`` answers it.
Clock = Callable[[], datetime]


def fixed_window(now: float, seconds: int) -> tuple[int, int]:
    """The window ``now`` falls in: its start, and the seconds until the next one begins."""
    start = int(now) - int(now) % seconds
    return start, start + seconds - int(now)
