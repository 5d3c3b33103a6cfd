"""The billing-run state machine, started by its schedule, runs our task Lambda in Step Functions.

What a run does to real subscriptions (renewals, scheduled changes, cancels, trials) is in
tests/e2e/test_period_end.py; here, the machinery: the plan, the Map over it, one result per item."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from tests.support import run_billing
from wrapper.store.schema import PROFILE_SK, due_pk, tenant_pk
from wrapper.store.table import Table


def test_a_scheduled_billing_run_over_a_day_with_nothing_due_succeeds(cloud: Any) -> None:
    execution = run_billing(cloud, datetime(2030, 3, 1, 2, 0, tzinfo=UTC))
    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["run_date"] == "2030-03-01"
    assert output["count"] == 0
    assert output["results"] == []


def test_a_billing_run_visits_every_subscription_due_that_day(cloud: Any, table_name: str) -> None:
    table = Table(cloud.client("dynamodb"), table_name)
    # Two subscription entries in the due-date index, each on an item that is not the tenant's SUBSCRIPTION
    # item (its profile, marked as a subscription)
    for tenant_id, subscription_id in [("tdue1", "sub_a"), ("tdue2", "sub_b")]:
        table.put({"PK": tenant_pk(tenant_id), "SK": PROFILE_SK, "record_type": "subscription",
                   "GSI1PK": due_pk(date(2031, 1, 15)), "GSI1SK": tenant_pk(tenant_id),
                   "tenant_id": tenant_id, "subscription_id": subscription_id})

    execution = run_billing(cloud, datetime(2031, 1, 15, 2, 0, tzinfo=UTC))

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["count"] == 2
    assert sorted(r["subscription_id"] for r in output["results"]) == ["sub_a", "sub_b"]
    # These index entries are not SUBSCRIPTION items: each is reported as skipped, and the run still succeeds.
    assert {(r["step"], r["status"]) for r in output["results"]} == {("period_end", "skipped")}
    assert all(r["reason"] == "the tenant has no subscription" for r in output["results"])


def test_one_item_that_fails_is_retried_then_reported_and_the_run_still_succeeds(cloud: Any, table_name: str) -> None:
    table = Table(cloud.client("dynamodb"), table_name)
    day = date(2032, 5, 20)
    # A due-date entry whose task cannot run (a tenant id no key may hold), beside one that can
    table.put({"PK": tenant_pk("tfail1"), "SK": PROFILE_SK, "record_type": "subscription",
               "GSI1PK": due_pk(day), "GSI1SK": tenant_pk("tfail1"), "tenant_id": "not a tenant",
               "subscription_id": "sub_bad"})
    table.put({"PK": tenant_pk("tfail2"), "SK": PROFILE_SK, "record_type": "subscription",
               "GSI1PK": due_pk(day), "GSI1SK": tenant_pk("tfail2"), "tenant_id": "tfail2",
               "subscription_id": "sub_ok"})

    execution = run_billing(cloud, datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC))

    assert execution["status"] == "SUCCEEDED", execution
    results = {r["tenant_id"]: r for r in json.loads(execution["output"])["results"]}
    assert (results["not a tenant"]["status"], results["not a tenant"]["step"]) == ("error", "period_end")
    assert results["not a tenant"]["item"]["subscription_id"] == "sub_bad" and results["not a tenant"]["reason"]
    assert results["tfail2"]["status"] == "skipped"
