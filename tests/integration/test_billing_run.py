"""The billing-run state machine, started by its schedule, runs our task Lambda in Step Functions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from localcloud.eventbridge import run_schedule
from tests.support import wait_for
from wrapper.store.table import Table


def _run(cloud: Any, at: datetime) -> dict[str, Any]:
    schedule = cloud.stack.resources["BillingRunStateMachineDaily"].ref
    started = run_schedule(cloud.client, schedule, at=at)
    sfn = cloud.client("stepfunctions")

    def finished() -> dict[str, Any] | None:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=started["executionArn"])
        return execution if execution["status"] != "RUNNING" else None

    result: dict[str, Any] = wait_for(finished, timeout=60, interval=0.25, message="the billing run to finish")
    return result


def test_a_scheduled_billing_run_over_a_day_with_nothing_due_succeeds(cloud: Any) -> None:
    execution = _run(cloud, datetime(2030, 3, 1, 2, 0, tzinfo=UTC))
    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["run_date"] == "2030-03-01"
    assert output["count"] == 0
    assert output["results"] == []


def test_a_billing_run_visits_every_subscription_due_that_day(cloud: Any, table_name: str) -> None:
    table = Table(cloud.client("dynamodb"), table_name)
    for tenant_id, subscription_id in [("tdue1", "sub_a"), ("tdue2", "sub_b")]:
        table.put({"PK": f"TENANT#{tenant_id}", "SK": f"SUBSCRIPTION#{subscription_id}",
                   "GSI1PK": "PLATFORM#DUE#2031-01-15", "GSI1SK": f"{tenant_id}#{subscription_id}",
                   "tenant_id": tenant_id, "subscription_id": subscription_id})

    execution = _run(cloud, datetime(2031, 1, 15, 2, 0, tzinfo=UTC))

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["count"] == 2
    assert sorted(r["subscription_id"] for r in output["results"]) == ["sub_a", "sub_b"]
