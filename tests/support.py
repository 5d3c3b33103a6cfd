"""Helpers shared by the integration and e2e suites."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"


def wait_for(condition: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.1,
             message: str = "condition") -> Any:
    """Poll until ``condition()`` is truthy; the asynchronous paths (streams, queues) need it."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def sample_event(relative: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / relative).read_text())
    return event
