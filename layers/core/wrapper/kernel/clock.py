"""The time the layer decides by, and the clock types that carry it.

Classes take a clock as a parameter so tests can pin the time; their defaults are ``now`` and
``epoch`` below, the layer's one source of "now" for business decisions: expiries, windows,
TTLs, timestamps written with a change, the day a billing run bills. Measuring a duration or
sleeping between retries is not such a decision and keeps ``time.monotonic``.

Both answer the real time plus an offset. The offset exists for the embedded local cloud: it runs
every function inside its own single process, so one module-level offset reaches them all, and sets
it (``/_local/clock``) so that tests and people can see what happens tomorrow, or at the end of a
billing period, without waiting for it. Nothing else sets it; on AWS it is always 0. Times that
others stamp keep their own clock: a JWT's ``iat``/``exp`` (its issuer's), a Stripe signature's
``t`` (Stripe's), STS credentials' expiry.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

# Seconds since the epoch, as ``time.time`` answers them.
EpochClock = Callable[[], float]
# An aware UTC datetime, as ``datetime.now(UTC)`` answers it.
Clock = Callable[[], datetime]

_offset = 0.0


def epoch() -> float:
    """Seconds since the epoch, now: the real time plus the offset."""
    return time.time() + _offset


def now() -> datetime:
    """Now, as an aware UTC datetime: the real time plus the offset."""
    return datetime.fromtimestamp(epoch(), UTC)


def offset() -> float:
    """How many seconds ``now`` and ``epoch`` run ahead of (or behind) the real time; 0 on AWS."""
    return _offset


def set_offset(seconds: float) -> None:
    """Make ``now`` and ``epoch`` run ``seconds`` ahead of the real time (0: the real time).
    Only the local cloud calls this; the rules of what it allows are its own (forward only)."""
    global _offset
    if isinstance(seconds, bool) or not math.isfinite(seconds):
        raise ValueError(f"a clock offset is a finite number of seconds, not {seconds!r}")
    _offset = float(seconds)


def fixed_window(now: float, seconds: int) -> tuple[int, int]:
    """The window ``now`` falls in: its start, and the seconds until the next one begins."""
    start = int(now) - int(now) % seconds
    return start, start + seconds - int(now)
