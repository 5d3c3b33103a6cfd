"""Tasks of the billing-run state machine.

``plan`` lists the work of the run's day D: the subscriptions whose period ends on D (step
``period_end``: cancel, apply a scheduled change, renew and charge) and the trials that end on D + 3
(step ``trial_ending``: warn once). ``bill`` does one item and answers what it did; each step is
idempotent per period (see ``wrapper.billing.renewal``), so a retried or repeated run changes
nothing more. Invoices come with a later issue.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal, Protocol

from pydantic import ConfigDict

from wrapper.billing.renewal import TRIAL_NOTICE_DAYS, PeriodEndResult
from wrapper.kernel.model import Model
from wrapper.kernel.tenant import TenantContext

Step = Literal["period_end", "trial_ending"]


class RunInput(Model):
    model_config = ConfigDict(extra="ignore")
    run_date: date


class BillItem(Model):
    """One item of the plan, as the Map state hands it back."""

    model_config = ConfigDict(extra="ignore")
    tenant_id: str
    subscription_id: str
    step: Step = "period_end"


class DueSubscriptions(Protocol):
    def due_on(self, day: date) -> list[dict[str, Any]]: ...

    def trials_ending_on(self, day: date) -> list[dict[str, Any]]: ...


class PeriodEndWork(Protocol):
    def close_period(self, tenant: TenantContext, subscription_id: str, day: date) -> PeriodEndResult: ...

    def warn_trial_ending(self, tenant: TenantContext, subscription_id: str, day: date) -> PeriodEndResult: ...


def plan(run: RunInput, due: DueSubscriptions) -> dict[str, Any]:
    items = [{**s, "step": "period_end"} for s in due.due_on(run.run_date)]
    items += [{**s, "step": "trial_ending"}
              for s in due.trials_ending_on(run.run_date + timedelta(days=TRIAL_NOTICE_DAYS))]
    return {"run_date": run.run_date.isoformat(), "subscriptions": items, "count": len(items)}


def bill(subscription: dict[str, Any], run: RunInput, work: PeriodEndWork) -> dict[str, Any]:
    item = BillItem.model_validate(subscription)
    tenant = TenantContext(item.tenant_id)
    if item.step == "trial_ending":
        result = work.warn_trial_ending(tenant, item.subscription_id, run.run_date)
    else:
        result = work.close_period(tenant, item.subscription_id, run.run_date)
    return {"step": item.step, **result.model_dump(mode="json")}
