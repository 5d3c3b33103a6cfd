"""GET /v1/audit-log over HTTP: entries arrive through the event backbone, newest first, paged,
filtered by action and time; only roles with audit:read, only the caller's tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import call, join, signup, wait_for

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def acme(cloud: Any) -> dict[str, Any]:
    """A tenant with three profile changes and a role change in its audit log."""
    owner = signup(cloud, "Acme Audit")
    people = {"owner": owner}
    for role in ("admin", "manager"):
        people[role] = signup(cloud, f"{role}'s own")
        join(cloud, owner["tenant_id"], people[role]["user_id"], role)
    for name in ("One", "Two", "Three"):
        assert call(cloud, "PATCH", "/v1/tenant", owner, body={"name": name}).status_code == 200
    assert call(cloud, "PATCH", f"/v1/members/{people['manager']['user_id']}", owner,
                body={"role": "member"}).status_code == 200
    people["stranger"] = signup(cloud, "Globex Audit")

    def logged() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = call(cloud, "GET", "/v1/audit-log", owner, limit=100).json()["items"]
        return items if len(items) >= 6 else []  # created, owner joined, three updates, role change

    people["entries"] = wait_for(logged, message="the audit entries")
    return people


def test_the_log_lists_the_tenants_acts_newest_first(cloud: Any, acme: dict[str, Any]) -> None:
    entries = acme["entries"]
    times = [e["occurred_at"] for e in entries]
    assert times == sorted(times, reverse=True)
    actions = [e["action"] for e in entries]
    assert actions.count("tenant.updated") == 3 and "member.role_changed" in actions and "tenant.created" in actions
    change = next(e for e in entries if e["action"] == "member.role_changed")
    assert change["actor"] == acme["owner"]["user_id"] and change["target"] == acme["manager"]["user_id"]
    assert change["request_id"]


def test_the_log_pages_by_cursor(cloud: Any, acme: dict[str, Any]) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = call(cloud, "GET", "/v1/audit-log", acme["admin"], limit=2, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200
        seen += [e["id"] for e in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert seen == [e["id"] for e in acme["entries"]]


def test_the_log_filters_by_action_and_time(cloud: Any, acme: dict[str, Any]) -> None:
    updates = call(cloud, "GET", "/v1/audit-log", acme["owner"], action="tenant.updated", limit=100).json()["items"]
    assert [e["action"] for e in updates] == ["tenant.updated"] * 3
    middle = updates[1]["occurred_at"]
    since = call(cloud, "GET", "/v1/audit-log", acme["owner"], action="tenant.updated",
                 **{"from": middle}).json()["items"]
    assert [e["id"] for e in since] == [e["id"] for e in updates[:2]]  # from is inclusive
    before = call(cloud, "GET", "/v1/audit-log", acme["owner"], action="tenant.updated",
                  **{"to": middle}).json()["items"]
    assert [e["id"] for e in before] == [updates[2]["id"]]  # to is exclusive
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert call(cloud, "GET", "/v1/audit-log", acme["owner"], **{"from": future}).json()["items"] == []


def test_roles_without_audit_read_are_refused(cloud: Any, acme: dict[str, Any]) -> None:
    answer = call(cloud, "GET", "/v1/audit-log", acme["manager"])  # now a member
    assert answer.status_code == 403 and answer.headers["Content-Type"] == PROBLEM


def test_another_tenant_never_sees_this_log(cloud: Any, acme: dict[str, Any]) -> None:
    stranger, acme_id = acme["stranger"], acme["owner"]["tenant_id"]
    assert call(cloud, "GET", "/v1/audit-log", stranger, tenant=acme_id).status_code == 403
    own = call(cloud, "GET", "/v1/audit-log", stranger, limit=100).json()["items"]
    assert not {e["id"] for e in own} & {e["id"] for e in acme["entries"]}
    # A cursor minted in Acme's log does not page through it from another tenant
    cursor = call(cloud, "GET", "/v1/audit-log", acme["owner"], limit=1).json()["next_cursor"]
    assert call(cloud, "GET", "/v1/audit-log", stranger, cursor=cursor).status_code == 422


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 101}, {"limit": "many"}, {"from": "yesterday"}, {"to": "2026-13-45"},
    {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, {"action": "DROP TABLE"},
    {"cursor": "not-a-cursor"},
])
def test_bad_queries_are_4xx_problems(cloud: Any, acme: dict[str, Any], params: dict[str, Any]) -> None:
    answer = call(cloud, "GET", "/v1/audit-log", acme["owner"], **params)
    assert 400 <= answer.status_code < 500 and answer.headers["Content-Type"] == PROBLEM
