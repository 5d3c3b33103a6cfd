"""Billing runs as the operator starts and reads them: the rules over an in-memory state machine, and the Step
Functions adapter against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.builders import fake_aws_environment
from tests.unit.fakes import Clock
from wrapper.billing.executions import StepFunctionsExecutions
from wrapper.billing.runs import (
    BillingRuns,
    Execution,
    ExecutionExists,
    NewBillingRun,
    run_id_of,
    summary_of,
)
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound

NOW = datetime(2026, 12, 6, 14, tzinfo=UTC)
TODAY = NOW.date()


class MemoryExecutions:
    """The state machine's executions in memory, with Step Functions' rule on names: a second start of a name
    answers the running execution if its input is the same, else is refused."""

    def __init__(self) -> None:
        self.runs: dict[str, Execution] = {}

    def start(self, name: str, payload: dict[str, Any]) -> Execution:
        found = self.runs.get(name)
        if found is not None:
            if found.input == payload and found.status == "RUNNING":
                return found
            raise ExecutionExists(name)
        self.runs[name] = Execution(name=name, status="RUNNING", input=payload, output=None, started_at=NOW,
                                    stopped_at=None)
        return self.runs[name]

    def describe(self, name: str) -> Execution | None:
        return self.runs.get(name)

    def names(self, *, limit: int, token: str | None) -> tuple[list[str], str | None]:
        names = sorted(self.runs, key=lambda n: self.runs[n].started_at, reverse=True)
        start = int(token or 0)
        return names[start:start + limit], str(start + limit) if start + limit < len(names) else None

    def finish(self, name: str, status: str, output: dict[str, Any] | None = None) -> None:
        self.runs[name] = replace(self.runs[name], status=status, output=output, stopped_at=NOW)


@pytest.fixture
def executions() -> MemoryExecutions:
    return MemoryExecutions()


def _runs(executions: MemoryExecutions, *, allow_future: bool = False) -> BillingRuns:
    return BillingRuns(executions, allow_future=allow_future, clock=Clock(NOW))


def test_a_run_starts_with_the_schedules_input_for_its_day(executions: MemoryExecutions) -> None:
    run = _runs(executions).start(NewBillingRun(run_date=TODAY), by="op-1", idempotency_key=None)

    assert (run.status, run.run_date, run.started_by, run.summary) == ("running", TODAY, "op-1", None)
    [execution] = executions.runs.values()
    assert execution.input == {"scheduled_time": f"{TODAY}T02:00:00Z", "started_by": "op-1"}
    assert run.id == execution.name and run.id.startswith("operator-")


def test_a_day_that_has_not_come_is_refused_unless_the_stage_allows_it(executions: MemoryExecutions) -> None:
    tomorrow = date(2026, 12, 7)
    with pytest.raises(Conflict, match="has not come"):
        _runs(executions).start(NewBillingRun(run_date=tomorrow), by="op-1", idempotency_key=None)
    assert executions.runs == {}

    run = _runs(executions, allow_future=True).start(NewBillingRun(run_date=tomorrow), by="op-1", idempotency_key=None)
    assert run.run_date == tomorrow


def test_one_idempotency_key_starts_one_run_and_refuses_another_day(executions: MemoryExecutions) -> None:
    runs = _runs(executions)
    first = runs.start(NewBillingRun(run_date=TODAY), by="op-1", idempotency_key="run-1")

    assert runs.start(NewBillingRun(run_date=TODAY), by="op-1", idempotency_key="run-1") == first
    executions.finish(first.id, "SUCCEEDED", {"results": []})
    assert runs.start(NewBillingRun(run_date=TODAY), by="op-1", idempotency_key="run-1").status == "succeeded"
    with pytest.raises(InvalidInput, match="another day"):
        runs.start(NewBillingRun(run_date=date(2026, 12, 1)), by="op-1", idempotency_key="run-1")
    with pytest.raises(InvalidInput, match="Idempotency-Key"):
        runs.start(NewBillingRun(run_date=TODAY), by="op-1", idempotency_key="bad key")
    assert len(executions.runs) == 1
    assert runs.start(NewBillingRun(run_date=TODAY), by="op-1", idempotency_key="run-2").id != first.id


@pytest.mark.parametrize(("aws_status", "status"), [
    ("RUNNING", "running"), ("PENDING_REDRIVE", "running"), ("SUCCEEDED", "succeeded"), ("FAILED", "failed"),
    ("TIMED_OUT", "failed"), ("ABORTED", "failed")])
def test_a_runs_status_is_running_succeeded_or_failed(executions: MemoryExecutions, aws_status: str,
                                                       status: str) -> None:
    runs = _runs(executions)
    started = runs.start(NewBillingRun(run_date=TODAY), by="op-1", idempotency_key=None)
    executions.finish(started.id, aws_status, {"results": []} if aws_status == "SUCCEEDED" else None)
    assert runs.get(started.id).status == status


def test_the_summary_counts_outcomes_invoices_amounts_and_failures() -> None:
    results = [
        {"tenant_id": "a", "subscription_id": "s1", "status": "renewed", "reason": "renewed", "amount": 4332,
         "currency": "USD", "invoice_id": "in_1"},
        {"tenant_id": "b", "subscription_id": "s2", "status": "past_due", "reason": "no saved card", "amount": 3000,
         "currency": "USD", "invoice_id": "in_2"},
        {"tenant_id": "c", "subscription_id": "s3", "status": "renewed", "reason": "renewed", "amount": 2700,
         "currency": "EUR", "invoice_id": "in_3"},
        {"tenant_id": "d", "subscription_id": "s4", "status": "error", "reason": "the payment provider failed"},
        {"tenant_id": "e", "subscription_id": "s5", "status": "skipped", "reason": "not due"},
    ]

    summary = summary_of({"run_date": "2026-12-01", "count": 5, "results": results})

    assert summary is not None
    assert (summary.subscriptions, summary.outcomes, summary.invoices, summary.invoiced) == (
        5, {"renewed": 2, "past_due": 1, "error": 1, "skipped": 1}, 3, {"USD": 7332, "EUR": 2700})
    assert [(f.tenant_id, f.status, f.reason) for f in summary.failures] == [
        ("b", "past_due", "no saved card"), ("d", "error", "the payment provider failed")]
    assert summary_of(None) is None
    assert summary_of({"count": 3}) is None


def test_runs_list_newest_first_and_an_unknown_one_is_not_found(executions: MemoryExecutions) -> None:
    runs = _runs(executions)
    for day in (1, 2, 3):
        executions.start(f"run-{day}", {"scheduled_time": f"2026-12-0{day}T02:00:00Z"})
        executions.runs[f"run-{day}"] = replace(executions.runs[f"run-{day}"], started_at=datetime(2026, 12, day,
                                                                                                  tzinfo=UTC))
    first = runs.page(limit=2, cursor=None)
    rest = runs.page(limit=2, cursor=first.next_cursor)

    assert [r.run_date for r in first.items + rest.items] == [date(2026, 12, d) for d in (3, 2, 1)]
    assert (first.items[0].started_by, rest.next_cursor) == (None, None)
    for unknown in ("run-9", "b64.!!", "b64.cnVuLTk"):
        with pytest.raises(NotFound):
            runs.get(unknown)


@pytest.mark.parametrize("name", ["operator-2026-12-01-abc", "wrapper-local-billing-run-daily-2026-12-01T020000Z-1",
                                  "by.hand+1", "ünïcode"])
def test_any_execution_name_is_a_url_safe_id_that_leads_back_to_it(executions: MemoryExecutions, name: str) -> None:
    executions.start(name, {"scheduled_time": "2026-12-01T02:00:00Z"})
    run_id = run_id_of(name)
    assert all(c.isascii() and (c.isalnum() or c in "-_.") for c in run_id)
    assert _runs(executions).get(run_id).id == run_id


# -- the Step Functions adapter, against moto -----------------------------------------------------------------------

PASS = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.fixture
def step_functions(monkeypatch: pytest.MonkeyPatch) -> Iterator[StepFunctionsExecutions]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("stepfunctions", region_name="us-east-1")
        arn = client.create_state_machine(name="wrapper-test-billing-run", definition=PASS,
                                          roleArn="arn:aws:iam::123456789012:role/states")["stateMachineArn"]
        yield StepFunctionsExecutions(client, arn)


def test_the_adapter_starts_describes_and_lists_executions_by_name(step_functions: StepFunctionsExecutions) -> None:
    started = step_functions.start("operator-2026-12-01-a", {"scheduled_time": "2026-12-01T02:00:00Z"})

    assert (started.name, started.input) == ("operator-2026-12-01-a", {"scheduled_time": "2026-12-01T02:00:00Z"})
    assert step_functions.describe("operator-2026-12-01-a") == started
    assert step_functions.describe("never-started") is None
    assert step_functions.describe("not:a/name") is None
    with pytest.raises(ExecutionExists):
        step_functions.start("operator-2026-12-01-a", {"scheduled_time": "2026-12-02T02:00:00Z"})
    step_functions.start("operator-2026-12-01-b", {"scheduled_time": "2026-12-01T02:00:00Z"})
    names, token = step_functions.names(limit=1, token=None)
    more, _ = step_functions.names(limit=1, token=token)
    assert sorted(names + more) == ["operator-2026-12-01-a", "operator-2026-12-01-b"]
    with pytest.raises(InvalidInput):
        step_functions.names(limit=1, token="not-a-token")
