"""/v1/members: who sees and changes memberships, across roles and tenants."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.support import join, signup, table
from wrapper.store.schema import member_sk, membership_sk, role_sk, tenant_pk, user_pk

PROBLEM = "application/problem+json"


def _call(cloud: Any, method: str, path: str, session: dict[str, Any], *, tenant: str | None = None,
          body: Any = None, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {session['access_token']}", "Content-Type": "application/json"}
    if tenant:
        headers["X-Tenant-Id"] = tenant
    data = None if body is None else body if isinstance(body, str) else json.dumps(body)
    return requests.request(method, f"{cloud.api_url}{path}", headers=headers, data=data, params=params, timeout=20)


def _role_of(cloud: Any, tenant_id: str, user_id: str) -> str | None:
    item = table(cloud).get(tenant_pk(tenant_id), member_sk(user_id))
    return str(item["role"]) if item else None


@pytest.fixture
def team(cloud: Any) -> dict[str, dict[str, Any]]:
    """An owner with an admin, a manager, a member and a viewer, and another tenant's owner."""
    people = {"owner": signup(cloud, "Acme")}
    for role in ("admin", "manager", "member", "viewer"):
        people[role] = signup(cloud, f"{role}'s own")
        join(cloud, people["owner"]["tenant_id"], people[role]["user_id"], role)
    people["stranger"] = signup(cloud, "Globex")
    return people


def test_members_are_listed_a_page_at_a_time(cloud: Any, team: dict[str, Any]) -> None:
    acme = team["owner"]["tenant_id"]
    first = _call(cloud, "GET", "/v1/members", team["viewer"], tenant=acme, limit=3).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = _call(cloud, "GET", "/v1/members", team["viewer"], tenant=acme, cursor=first["next_cursor"]).json()
    assert rest["next_cursor"] is None
    roles = sorted(m["role"] for m in first["items"] + rest["items"])
    assert roles == ["admin", "manager", "member", "owner", "viewer"]


def test_another_tenant_cannot_list_read_or_change_these_members(cloud: Any, team: dict[str, Any]) -> None:
    acme, stranger, victim = team["owner"]["tenant_id"], team["stranger"], team["member"]["user_id"]
    assert _call(cloud, "GET", "/v1/members", stranger, tenant=acme).status_code == 403
    # Acting for its own tenant, the stranger cannot reach Acme's member by id
    assert _call(cloud, "PATCH", f"/v1/members/{victim}", stranger, body={"role": "viewer"}).status_code == 404
    assert _call(cloud, "DELETE", f"/v1/members/{victim}", stranger).status_code == 404
    assert _call(cloud, "PATCH", f"/v1/members/{victim}", stranger, tenant=acme,
                 body={"role": "viewer"}).status_code == 403
    assert _role_of(cloud, acme, victim) == "member"


def test_a_cursor_of_one_tenant_is_refused_for_another(cloud: Any, team: dict[str, Any]) -> None:
    acme_cursor = _call(cloud, "GET", "/v1/members", team["owner"], limit=1).json()["next_cursor"]
    answer = _call(cloud, "GET", "/v1/members", team["stranger"], cursor=acme_cursor)
    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == PROBLEM


@pytest.mark.parametrize(("actor", "target", "new_role", "status"), [
    ("owner", "member", "admin", 200),
    ("admin", "member", "manager", 200),
    ("manager", "member", "viewer", 200),
    ("manager", "member", "admin", 403),     # granting more than you hold
    ("admin", "owner", "member", 403),       # managing someone above you
    ("admin", "member", "owner", 403),
    ("member", "viewer", "member", 403),     # no members:write
    ("viewer", "member", "viewer", 403),
    ("owner", "member", "emperor", 422),     # no such role
])
def test_who_may_change_whose_role(cloud: Any, team: dict[str, Any], actor: str, target: str, new_role: str,
                                   status: int) -> None:
    acme, target_id = team["owner"]["tenant_id"], team[target]["user_id"]
    before = _role_of(cloud, acme, target_id)
    answer = _call(cloud, "PATCH", f"/v1/members/{target_id}", team[actor], tenant=acme, body={"role": new_role})
    assert answer.status_code == status, answer.text
    assert _role_of(cloud, acme, target_id) == (new_role if status == 200 else before)
    if status == 200:
        link = table(cloud).get(user_pk(target_id), membership_sk(acme))
        assert link["role"] == new_role  # the user's own view of the membership follows


def test_the_last_owner_can_be_neither_demoted_nor_removed_nor_leave(cloud: Any, team: dict[str, Any]) -> None:
    owner = team["owner"]
    acme = owner["tenant_id"]
    assert _call(cloud, "PATCH", f"/v1/members/{owner['user_id']}", owner, body={"role": "admin"}).status_code == 409
    assert _call(cloud, "DELETE", f"/v1/members/{owner['user_id']}", owner).status_code == 409
    assert _role_of(cloud, acme, owner["user_id"]) == "owner"
    # With a second owner, the first may step down
    assert _call(cloud, "PATCH", f"/v1/members/{team['admin']['user_id']}", owner,
                 body={"role": "owner"}).status_code == 200
    assert _call(cloud, "PATCH", f"/v1/members/{owner['user_id']}", owner, body={"role": "admin"}).status_code == 200


def test_a_member_may_leave_and_then_loses_access_at_once(cloud: Any, team: dict[str, Any]) -> None:
    acme, member = team["owner"]["tenant_id"], team["member"]
    assert _call(cloud, "GET", "/v1/tenant", member, tenant=acme).status_code == 200
    assert _call(cloud, "DELETE", f"/v1/members/{member['user_id']}", member, tenant=acme).status_code == 204
    assert _call(cloud, "GET", "/v1/tenant", member, tenant=acme).status_code == 403
    assert table(cloud).get(user_pk(member["user_id"]), membership_sk(acme)) is None


def test_removing_someone_needs_members_write_and_a_lower_role(cloud: Any, team: dict[str, Any]) -> None:
    acme = team["owner"]["tenant_id"]
    assert _call(cloud, "DELETE", f"/v1/members/{team['viewer']['user_id']}", team["member"],
                 tenant=acme).status_code == 403
    assert _call(cloud, "DELETE", f"/v1/members/{team['admin']['user_id']}", team["manager"],
                 tenant=acme).status_code == 403
    assert _call(cloud, "DELETE", f"/v1/members/{team['viewer']['user_id']}", team["manager"],
                 tenant=acme).status_code == 204
    assert _role_of(cloud, acme, team["viewer"]["user_id"]) is None


@pytest.mark.parametrize(("path", "body", "params", "status"), [
    ("/v1/members/{user}", {"role": "viewer", "extra": 1}, {}, 422),
    ("/v1/members/{user}", {}, {}, 422),
    ("/v1/members/{user}", {"role": 7}, {}, 422),
    ("/v1/members/{user}", "{bad json", {}, 400),
    ("/v1/members/not%20an%20id", {"role": "viewer"}, {}, 422),
    ("/v1/members", None, {"limit": 0}, 422),
    ("/v1/members", None, {"limit": 101}, 422),
    ("/v1/members", None, {"cursor": "!!!"}, 422),
])
def test_bad_member_requests_are_4xx_problems_and_change_nothing(cloud: Any, team: dict[str, Any], path: str,
                                                                 body: Any, params: dict[str, Any],
                                                                 status: int) -> None:
    acme, target = team["owner"]["tenant_id"], team["member"]["user_id"]
    method = "GET" if body is None else "PATCH"
    answer = _call(cloud, method, path.format(user=target), team["owner"], body=body, **params)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert _role_of(cloud, acme, target) == "member"


def test_a_custom_role_is_given_only_by_someone_holding_all_its_permissions(cloud: Any,
                                                                           team: dict[str, Any]) -> None:
    acme, target = team["owner"]["tenant_id"], team["member"]["user_id"]
    keys = _call(cloud, "POST", "/v1/roles", team["owner"], body={"name": "key-keeper",
                                                                  "permissions": ["api-keys:read"]})
    assert keys.status_code == 201, keys.text
    # A manager lacks api-keys:read: it may neither give the role nor change someone who holds it
    assert _call(cloud, "PATCH", f"/v1/members/{target}", team["manager"], tenant=acme,
                 body={"role": "key-keeper"}).status_code == 403
    assert _call(cloud, "PATCH", f"/v1/members/{target}", team["admin"], tenant=acme,
                 body={"role": "key-keeper"}).status_code == 200
    assert _call(cloud, "PATCH", f"/v1/members/{target}", team["manager"], tenant=acme,
                 body={"role": "viewer"}).status_code == 403
    assert _call(cloud, "DELETE", f"/v1/members/{target}", team["manager"], tenant=acme).status_code == 403
    assert _role_of(cloud, acme, target) == "key-keeper"
    assert table(cloud).get(tenant_pk(acme), role_sk("key-keeper"))["holders"] == 1
