"""The billing run's reads of the due-date index: GSI1 partition ``PLATFORM#DUE#<yyyy-mm-dd>`` holds every
SUBSCRIPTION item whose current period ends that (UTC) day."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from wrapper.store.schema import due_pk
from wrapper.store.table import Table


class DynamoDueSubscriptions:
    def __init__(self, table: Table) -> None:
        self.table = table

    def due_on(self, day: date) -> list[dict[str, Any]]:
        return self._on(day, {"record_type": "subscription"})

    def dunning_on(self, day: date) -> list[dict[str, Any]]:
        """The unpaid invoices whose next attempt falls on ``day`` (``wrapper.billing.dunning``)."""
        return self._on(day, {"record_type": "dunning"})

    def trials_ending_on(self, day: date) -> list[dict[str, Any]]:
        # A trialing subscription's period ends at its trial end, so its due day is the trial's last.
        return self._on(day, {"record_type": "subscription", "status": "trialing"})

    def _on(self, day: date, filter_equals: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            items, start = self.table.query(due_pk(day), index="GSI1", limit=100,
                                            start_key=start, filter_equals=filter_equals)
            found.extend({"tenant_id": i.get("tenant_id"), "subscription_id": i.get("subscription_id"),
                          **({"invoice_id": i["invoice_id"]} if i.get("invoice_id") else {})} for i in items)
            if not start:
                return found
