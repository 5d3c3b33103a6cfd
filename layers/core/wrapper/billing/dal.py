"""Subscriptions due on a day: GSI1 partition ``PLATFORM#DUE#<yyyy-mm-dd>``."""

from __future__ import annotations

from datetime import date
from typing import Any

from wrapper.store.keys import platform_pk
from wrapper.store.table import Table


class DynamoDueSubscriptions:
    def __init__(self, table: Table) -> None:
        self.table = table

    def due_on(self, day: date) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            items, start = self.table.query(platform_pk(f"DUE#{day.isoformat()}"), index="GSI1", limit=100,
                                            start_key=start)
            found.extend({"tenant_id": i.get("tenant_id"), "subscription_id": i.get("subscription_id")}
                         for i in items)
            if not start:
                return found
