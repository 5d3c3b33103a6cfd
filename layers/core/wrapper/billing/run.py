"""Tasks of the billing-run state machine.

``plan`` lists the work of the run's day D: the subscriptions whose period ends on D (step
``period_end``: cancel, apply a scheduled change, invoice and charge), the trials that end on D + 3
(step ``trial_ending``: warn once) and the unpaid invoices whose next attempt is on D (step ``collect``,
``wrapper.billing.dunning``). ``bill`` does one item and answers what it did; each step is idempotent
(see ``wrapper.billing.renewal``), so a retried or repeated run changes nothing more.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal, Protocol

from pydantic import ConfigDict

from wrapper.billing.renewal import TRIAL_NOTICE_DAYS, PeriodEndResult
from wrapper.kernel.model import Model
from wrapper.kernel.tenant import TenantContext

Step = Literal["period_end", "trial_ending", "collect"]


class RunInput(Model):
    model_config = ConfigDict(extra="ignore")
    run_date: date


class BillItem(Model):
    """One item of the plan, as the Map state hands it back."""

    model_config = ConfigDict(extra="ignore")
    tenant_id: str
    subscription_id: str | None = None
    invoice_id: str | None = None
    step: Step = "period_end"


class DueSubscriptions(Protocol):
    def due_on(self, day: date) -> list[dict[str, Any]]: ...

    def trials_ending_on(self, day: date) -> list[dict[str, Any]]: ...

    def dunning_on(self, day: date) -> list[dict[str, Any]]: ...


class PeriodEndWork(Protocol):
    def close_period(self, tenant: TenantContext, subscription_id: str, day: date) -> PeriodEndResult: ...

    def warn_trial_ending(self, tenant: TenantContext, subscription_id: str, day: date) -> PeriodEndResult: ...

    def collect(self, tenant: TenantContext, invoice_id: str, day: date) -> dict[str, Any]: ...


def plan(run: RunInput, due: DueSubscriptions) -> dict[str, Any]:
    items = [{**s, "step": "period_end"} for s in due.due_on(run.run_date)]
    items += [{**s, "step": "trial_ending"}
              for s in due.trials_ending_on(run.run_date + timedelta(days=TRIAL_NOTICE_DAYS))]
    items += [{**d, "step": "collect"} for d in due.dunning_on(run.run_date)]
    return {"run_date": run.run_date.isoformat(), "subscriptions": items, "count": len(items)}


def bill(subscription: dict[str, Any], run: RunInput, work: PeriodEndWork) -> dict[str, Any]:
    item = BillItem.model_validate(subscription)
    tenant = TenantContext(item.tenant_id)
    if item.step == "collect":
        if not item.invoice_id:
            raise ValueError("a collect step names its invoice")
        return {"step": item.step, **work.collect(tenant, item.invoice_id, run.run_date)}
    if not item.subscription_id:
        raise ValueError(f"a {item.step} step names its subscription")
    if item.step == "trial_ending":
        result = work.warn_trial_ending(tenant, item.subscription_id, run.run_date)
    else:
        result = work.close_period(tenant, item.subscription_id, run.run_date)
    return {"step": item.step, **result.model_dump(mode="json")}
