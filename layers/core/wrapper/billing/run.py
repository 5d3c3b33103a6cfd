"""Tasks of the billing-run state machine.

``plan`` finds the subscriptions whose period ends on the run's day (one Query on the
``DUE#<date>`` index partition). ``bill`` is where invoicing will go; for now it records
nothing and says so, so a run over an empty or a populated day completes.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict


class RunInput(BaseModel):
    model_config = ConfigDict(extra="ignore")
    run_date: date


class DueSubscriptions(Protocol):
    def due_on(self, day: date) -> list[dict[str, Any]]: ...


def plan(run: RunInput, due: DueSubscriptions) -> dict[str, Any]:
    subscriptions = due.due_on(run.run_date)
    return {"run_date": run.run_date.isoformat(), "subscriptions": subscriptions, "count": len(subscriptions)}


def bill(subscription: dict[str, Any]) -> dict[str, Any]:
    return {"subscription_id": subscription.get("subscription_id"), "status": "not_billed",
            "reason": "invoicing is not implemented yet"}
