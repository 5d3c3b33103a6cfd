"""Billing runs as the operator sees them (``/v1/admin/billing-runs``): start one for a day, list them, read one.

A billing run is an execution of the ``billing-run`` state machine (``wrapper.billing.run`` does its work).
The operator starts one with the daily schedule's own input (``{"scheduled_time": "<day>T02:00:00Z"}``),
so a run by hand is the same run the schedule makes, and like it changes nothing when repeated.

- **Ids** are the executions' names: operator runs are named ``operator-<suffix>``; a name that is
  not URL-safe (the schedule's on AWS always are) is given as ``b64.<its base64url>``.
- **Once per Idempotency-Key**: the key makes the execution's name, and Step Functions answers a second
  start with the same name and input with the first execution. The same key with another run date is a 422.
- **No future days** unless the stage allows them (``ALLOW_FUTURE_BILLING_RUNS``, on for ``local``): a run
  for a day that has not come would bill periods before they end. "Today" is the clock's UTC day.
- **Status**: ``running``, ``succeeded``, or ``failed`` (failed, timed out or aborted). The **summary** is
  counted from the finished execution's output: subscriptions per outcome, invoices issued, the amounts
  they were issued for per currency, and the failures (an ``error`` or a ``past_due``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from pydantic import ConfigDict, Field

from wrapper.kernel.clock import Clock, now
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound
from wrapper.kernel.model import Model
from wrapper.kernel.pagination import Page, clamp_limit
from wrapper.payments.idempotency import check_key

RunStatus = Literal["running", "succeeded", "failed"]
SCHEDULE_TIME_OF_DAY = "02:00:00Z"  # the daily schedule's (template.yaml): a run by hand looks the same
MAX_FAILURES_SHOWN = 100
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ENCODED = "b64."
_STATUSES: dict[str, RunStatus] = {"RUNNING": "running", "PENDING_REDRIVE": "running", "SUCCEEDED": "succeeded"}


@dataclass(frozen=True)
class Execution:
    """A state-machine execution, as the port answers it."""

    name: str
    status: str  # Step Functions' own: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE
    input: dict[str, Any]
    output: dict[str, Any] | None
    started_at: datetime
    stopped_at: datetime | None


class ExecutionExists(Exception):
    """An execution of that name exists already, with another input or finished."""


class Executions(Protocol):
    """The billing-run state machine's executions (Step Functions: ``wrapper.billing.executions``)."""

    def start(self, name: str, payload: dict[str, Any]) -> Execution:
        """Start one; the running one when ``name`` runs with the same input; else ``ExecutionExists``."""

    def describe(self, name: str) -> Execution | None: ...

    def names(self, *, limit: int, token: str | None) -> tuple[list[str], str | None]:
        """A page of execution names, newest first, and the token of the next page."""


class NewBillingRun(Model):
    model_config = ConfigDict(extra="forbid")

    run_date: date = Field(description="The day whose period ends are billed (UTC)")


class RunFailure(Model):
    tenant_id: str | None = None
    subscription_id: str | None = None
    status: str
    reason: str | None = None


class RunSummary(Model):
    subscriptions: int = Field(description="Items the run worked on (period ends and trial notices)")
    outcomes: dict[str, int] = Field(description="How many ended each way: renewed, applied, past_due, "
                                                 "canceled, notified, skipped, error")
    invoices: int = Field(description="Invoices issued")
    invoiced: dict[str, int] = Field(description="What they were issued for (amount due), per currency, minor units")
    failures: list[RunFailure] = Field(description=f"Errors and failed charges (the first {MAX_FAILURES_SHOWN})")


class BillingRun(Model):
    id: str
    status: RunStatus
    run_date: date | None = Field(description="The day it bills (null if its input names none)")
    started_at: datetime
    stopped_at: datetime | None = None
    started_by: str | None = Field(default=None, description="The operator who started it; null for the schedule")
    summary: RunSummary | None = Field(default=None, description="Once it has succeeded")


class BillingRuns:
    def __init__(self, executions: Executions, *, allow_future: bool, clock: Clock = now) -> None:
        self.executions = executions
        self.allow_future = allow_future
        self.clock = clock

    def start(self, request: NewBillingRun, *, by: str, idempotency_key: str | None) -> BillingRun:
        today = self.clock().date()
        if request.run_date > today and not self.allow_future:
            raise Conflict(f"{request.run_date} has not come yet (today is {today}, UTC): its periods have not "
                           "ended. This stage runs only days that have begun.")
        if idempotency_key is not None:
            check_key(idempotency_key)
        suffix = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24] if idempotency_key else uuid.uuid4().hex
        name = f"operator-{suffix}"  # the key alone: the same key with another day must meet this run
        payload = {"scheduled_time": f"{request.run_date.isoformat()}T{SCHEDULE_TIME_OF_DAY}", "started_by": by}
        try:
            execution = self.executions.start(name, payload)
        except ExecutionExists:
            execution = self._described(name)
            if _run_date(execution.input) != request.run_date:
                raise InvalidInput("This Idempotency-Key started a run for another day.",
                                   errors=[{"field": "Idempotency-Key", "message": "used with another body"}]) \
                    from None
        return _run_of(execution)

    def get(self, run_id: str) -> BillingRun:
        return _run_of(self._described(_name_of(run_id)))

    def page(self, *, limit: int | None, cursor: str | None) -> Page[BillingRun]:
        names, token = self.executions.names(limit=clamp_limit(limit), token=cursor)
        runs = [_run_of(execution) for name in names if (execution := self.executions.describe(name)) is not None]
        return Page[BillingRun](items=runs, next_cursor=token)

    def _described(self, name: str) -> Execution:
        execution = self.executions.describe(name)
        if execution is None:
            raise NotFound("No such billing run.")
        return execution


def run_id_of(name: str) -> str:
    """An execution's name as a URL-safe id."""
    if _SAFE_NAME.fullmatch(name):
        return name
    return _ENCODED + base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def _name_of(run_id: str) -> str:
    if not run_id.startswith(_ENCODED):
        return run_id
    encoded = run_id.removeprefix(_ENCODED)
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, ValueError):
        raise NotFound("No such billing run.") from None


def _run_date(payload: dict[str, Any]) -> date | None:
    scheduled = payload.get("scheduled_time")
    try:
        return date.fromisoformat(str(scheduled).split("T", 1)[0]) if scheduled else None
    except ValueError:
        return None


def _run_of(execution: Execution) -> BillingRun:
    status = _STATUSES.get(execution.status, "failed")
    started_by = execution.input.get("started_by")
    return BillingRun(id=run_id_of(execution.name), status=status, run_date=_run_date(execution.input),
                      started_at=execution.started_at, stopped_at=execution.stopped_at,
                      started_by=str(started_by) if started_by else None,
                      summary=summary_of(execution.output) if status == "succeeded" else None)


def summary_of(output: dict[str, Any] | None) -> RunSummary | None:
    """Counted from a finished run's output (``{"results": [...]}``: one ``PeriodEndResult`` per item)."""
    results = (output or {}).get("results")
    if not isinstance(results, list):
        return None
    outcomes: Counter[str] = Counter()
    invoiced: Counter[str] = Counter()
    invoices = 0
    failures: list[RunFailure] = []
    for result in (r for r in results if isinstance(r, dict)):
        status = str(result.get("status"))
        outcomes[status] += 1
        if result.get("invoice_id"):
            invoices += 1
            if result.get("currency") and isinstance(result.get("amount"), int):
                invoiced[str(result["currency"])] += result["amount"]
        if status in ("error", "past_due") and len(failures) < MAX_FAILURES_SHOWN:
            failures.append(RunFailure(tenant_id=result.get("tenant_id"), subscription_id=result.get("subscription_id"),
                                       status=status, reason=result.get("reason")))
    return RunSummary(subscriptions=len(results), outcomes=dict(outcomes), invoices=invoices,
                      invoiced=dict(invoiced), failures=failures)


def payload_of(raw: str | None) -> dict[str, Any] | None:
    """An execution's input or output (JSON text) as a dict; None if it is not a JSON object."""
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
