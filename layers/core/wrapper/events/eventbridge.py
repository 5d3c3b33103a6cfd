"""EventBridge adapter of the ``EventBus`` port."""

from __future__ import annotations

from typing import Any


class EventBridgeBus:
    def __init__(self, events_client: Any) -> None:
        self.client = events_client

    def put_events(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answer = self.client.put_events(Entries=entries)
        results: list[dict[str, Any]] = answer.get("Entries", [])
        return results
