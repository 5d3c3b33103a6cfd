"""/v1/organizations over HTTP: a tree of units that never gets a cycle, members placed in units,
units deleted only when empty, and nothing shared across tenants."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import call, join, signup, table
from wrapper.store.schema import ORG_PREFIX, ORG_TREE_SK, member_sk, org_assignments_prefix, org_sk, tenant_pk

PROBLEM = "application/problem+json"
UNKNOWN_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def _unit(cloud: Any, session: dict[str, Any], name: str, parent_id: str | None = None) -> dict[str, Any]:
    answer = call(cloud, "POST", "/v1/organizations", session, body={"name": name, "parent_id": parent_id})
    assert answer.status_code == 201, answer.text
    unit: dict[str, Any] = answer.json()
    return unit


def _stored(cloud: Any, tenant_id: str, org_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = table(cloud).get(tenant_pk(tenant_id), org_sk(org_id))
    return item


def _units(cloud: Any, tenant_id: str) -> list[dict[str, Any]]:
    items, _ = table(cloud).query(tenant_pk(tenant_id), sk_prefix=ORG_PREFIX, limit=100)
    return items


def _place(cloud: Any, session: dict[str, Any], org_id: str, user_id: str, method: str = "PUT") -> Any:
    return call(cloud, method, f"/v1/organizations/{org_id}/members/{user_id}", session)


@pytest.fixture
def acme(cloud: Any) -> dict[str, Any]:
    people = {"owner": signup(cloud, "Acme Units")}
    for role in ("manager", "member", "viewer"):
        people[role] = signup(cloud, f"{role}'s own")
        join(cloud, people["owner"]["tenant_id"], people[role]["user_id"], role)
    people["stranger"] = signup(cloud, "Globex Units")
    return people


def test_units_are_created_listed_renamed_moved_and_deleted(cloud: Any, acme: dict[str, Any]) -> None:
    owner = acme["owner"]
    root = _unit(cloud, owner, "  Company ")
    assert root["name"] == "Company" and root["parent_id"] is None and root["member_count"] == 0
    assert root["id"] == root["org_id"]  # `id` as on every resource; `org_id` for existing clients
    sales = _unit(cloud, owner, "Sales", root["org_id"])
    emea = _unit(cloud, acme["manager"], "EMEA", sales["org_id"])
    assert emea["parent_id"] == sales["org_id"]

    first = call(cloud, "GET", "/v1/organizations", acme["viewer"], limit=2).json()
    rest = call(cloud, "GET", "/v1/organizations", acme["viewer"], cursor=first["next_cursor"]).json()
    assert first["next_cursor"] and rest["next_cursor"] is None
    assert [u["name"] for u in first["items"] + rest["items"]] == ["Company", "Sales", "EMEA"]
    assert all(u["id"] == u["org_id"] for u in first["items"] + rest["items"])

    renamed = call(cloud, "PATCH", f"/v1/organizations/{sales['org_id']}", owner, body={"name": "Revenue"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Revenue"
    assert renamed.json()["parent_id"] == root["org_id"] and renamed.json()["version"] == 2
    moved = call(cloud, "PATCH", f"/v1/organizations/{emea['org_id']}", owner, body={"parent_id": None})
    assert moved.status_code == 200 and moved.json()["parent_id"] is None
    assert _stored(cloud, owner["tenant_id"], emea["org_id"]).get("parent_id") is None
    back = call(cloud, "PATCH", f"/v1/organizations/{emea['org_id']}", owner, body={"parent_id": root["org_id"]})
    assert back.json()["parent_id"] == root["org_id"]

    assert call(cloud, "DELETE", f"/v1/organizations/{emea['org_id']}", owner).status_code == 204
    assert _stored(cloud, owner["tenant_id"], emea["org_id"]) is None
    assert call(cloud, "DELETE", f"/v1/organizations/{emea['org_id']}", owner).status_code == 404
    tree = table(cloud).get(tenant_pk(owner["tenant_id"]), ORG_TREE_SK)
    assert tree["parents"] == {root["org_id"]: None, sales["org_id"]: root["org_id"]}


def test_a_unit_cannot_move_under_itself_or_its_own_units(cloud: Any, acme: dict[str, Any]) -> None:
    owner = acme["owner"]
    top = _unit(cloud, owner, "Top")
    middle = _unit(cloud, owner, "Middle", top["org_id"])
    bottom = _unit(cloud, owner, "Bottom", middle["org_id"])
    for new_parent in (top["org_id"], middle["org_id"], bottom["org_id"]):
        answer = call(cloud, "PATCH", f"/v1/organizations/{top['org_id']}", owner, body={"parent_id": new_parent})
        assert answer.status_code == 409 and answer.headers["Content-Type"] == PROBLEM
    assert _stored(cloud, owner["tenant_id"], top["org_id"]).get("parent_id") is None
    assert _stored(cloud, owner["tenant_id"], top["org_id"])["version"] == 1


def test_the_tree_is_at_most_ten_levels_deep(cloud: Any) -> None:
    owner = signup(cloud, "Deep Co")
    parent: str | None = None
    for level in range(1, 11):
        parent = _unit(cloud, owner, f"L{level}", parent)["org_id"]
    too_deep = call(cloud, "POST", "/v1/organizations", owner, body={"name": "L11", "parent_id": parent})
    assert too_deep.status_code == 422 and too_deep.headers["Content-Type"] == PROBLEM
    assert len(_units(cloud, owner["tenant_id"])) == 10


def test_a_unit_with_units_under_it_or_members_is_not_deleted(cloud: Any, acme: dict[str, Any]) -> None:
    owner, member = acme["owner"], acme["member"]
    parent = _unit(cloud, owner, "Parent")
    child = _unit(cloud, owner, "Child", parent["org_id"])
    assert call(cloud, "DELETE", f"/v1/organizations/{parent['org_id']}", owner).status_code == 409
    assert _place(cloud, owner, child["org_id"], member["user_id"]).status_code == 200
    refused = call(cloud, "DELETE", f"/v1/organizations/{child['org_id']}", owner)
    assert refused.status_code == 409 and refused.headers["Content-Type"] == PROBLEM
    assert _place(cloud, owner, child["org_id"], member["user_id"], "DELETE").status_code == 204
    assert call(cloud, "DELETE", f"/v1/organizations/{child['org_id']}", owner).status_code == 204
    assert call(cloud, "DELETE", f"/v1/organizations/{parent['org_id']}", owner).status_code == 204
    assert _units(cloud, owner["tenant_id"]) == []


def test_placing_a_member_in_a_unit_is_idempotent_and_counted(cloud: Any, acme: dict[str, Any]) -> None:
    owner, member = acme["owner"], acme["member"]
    tenant_id = owner["tenant_id"]
    unit = _unit(cloud, owner, "Support")
    first = _place(cloud, acme["manager"], unit["org_id"], member["user_id"])
    assert first.status_code == 200, first.text
    assert first.json()["org_id"] == unit["org_id"] and first.json()["user_id"] == member["user_id"]
    again = _place(cloud, owner, unit["org_id"], member["user_id"])
    assert again.status_code == 200 and again.json() == first.json()
    assert _stored(cloud, tenant_id, unit["org_id"])["member_count"] == 1
    assert table(cloud).get(tenant_pk(tenant_id), member_sk(member["user_id"]))["org_count"] == 1
    listed = call(cloud, "GET", "/v1/organizations", owner).json()["items"]
    assert listed[0]["member_count"] == 1

    assert _place(cloud, owner, unit["org_id"], member["user_id"], "DELETE").status_code == 204
    gone = _place(cloud, owner, unit["org_id"], member["user_id"], "DELETE")
    assert gone.status_code == 404 and gone.headers["Content-Type"] == PROBLEM
    assert _stored(cloud, tenant_id, unit["org_id"])["member_count"] == 0
    assert table(cloud).get(tenant_pk(tenant_id), member_sk(member["user_id"]))["org_count"] == 0


def test_only_members_of_this_tenant_and_its_own_units_can_be_placed(cloud: Any, acme: dict[str, Any]) -> None:
    owner = acme["owner"]
    unit = _unit(cloud, owner, "Ops")
    assert _place(cloud, owner, unit["org_id"], acme["stranger"]["user_id"]).status_code == 404
    assert _place(cloud, owner, UNKNOWN_ID, acme["member"]["user_id"]).status_code == 404
    assert _stored(cloud, owner["tenant_id"], unit["org_id"])["member_count"] == 0


def test_removing_a_member_takes_them_out_of_every_unit(cloud: Any, acme: dict[str, Any]) -> None:
    owner, member = acme["owner"], acme["member"]
    tenant_id = owner["tenant_id"]
    units = [_unit(cloud, owner, name)["org_id"] for name in ("One", "Two")]
    for org_id in units:
        assert _place(cloud, owner, org_id, member["user_id"]).status_code == 200
    assert call(cloud, "DELETE", f"/v1/members/{member['user_id']}", owner).status_code == 204
    placements, _ = table(cloud).query(tenant_pk(tenant_id), sk_prefix=org_assignments_prefix(member["user_id"]))
    assert placements == []
    assert [_stored(cloud, tenant_id, org_id)["member_count"] for org_id in units] == [0, 0]
    assert all(call(cloud, "DELETE", f"/v1/organizations/{o}", owner).status_code == 204 for o in units)


@pytest.mark.parametrize("actor", ["member", "viewer"])
def test_only_organizations_write_changes_units(cloud: Any, acme: dict[str, Any], actor: str) -> None:
    owner, session = acme["owner"], acme[actor]
    unit = _unit(cloud, owner, "Locked")
    target = acme["member"]["user_id"]
    assert call(cloud, "POST", "/v1/organizations", session, body={"name": "Mine"}).status_code == 403
    assert call(cloud, "PATCH", f"/v1/organizations/{unit['org_id']}", session, body={"name": "X"}).status_code == 403
    assert call(cloud, "DELETE", f"/v1/organizations/{unit['org_id']}", session).status_code == 403
    assert _place(cloud, session, unit["org_id"], target).status_code == 403
    assert _place(cloud, session, unit["org_id"], target, "DELETE").status_code == 403
    assert call(cloud, "GET", "/v1/organizations", session).status_code == 200
    assert [u["name"] for u in _units(cloud, owner["tenant_id"])] == ["Locked"]
    assert _stored(cloud, owner["tenant_id"], unit["org_id"])["member_count"] == 0


def test_another_tenant_never_sees_or_touches_these_units(cloud: Any, acme: dict[str, Any]) -> None:
    owner, stranger = acme["owner"], acme["stranger"]
    tenant_id = owner["tenant_id"]
    unit = _unit(cloud, owner, "Secret")
    _unit(cloud, owner, "Also secret")
    assert call(cloud, "GET", "/v1/organizations", stranger).json()["items"] == []
    org_path = f"/v1/organizations/{unit['org_id']}"
    assert call(cloud, "PATCH", org_path, stranger, body={"name": "Mine"}).status_code == 404
    assert call(cloud, "DELETE", org_path, stranger).status_code == 404
    assert _place(cloud, stranger, unit["org_id"], stranger["user_id"]).status_code == 404
    assert _place(cloud, stranger, unit["org_id"], acme["member"]["user_id"]).status_code == 404
    # B's unit cannot be the parent of a unit in A, nor A's of one in B
    assert call(cloud, "POST", "/v1/organizations", stranger,
                body={"name": "Child", "parent_id": unit["org_id"]}).status_code == 422
    assert call(cloud, "GET", "/v1/organizations", stranger, tenant=tenant_id).status_code == 403
    assert call(cloud, "DELETE", org_path, stranger, tenant=tenant_id).status_code == 403
    a_cursor = call(cloud, "GET", "/v1/organizations", owner, limit=1).json()["next_cursor"]
    assert call(cloud, "GET", "/v1/organizations", stranger, cursor=a_cursor).status_code == 422
    assert _stored(cloud, tenant_id, unit["org_id"])["name"] == "Secret"
    assert _units(cloud, stranger["tenant_id"]) == []


@pytest.mark.parametrize(("body", "status"), [
    ({}, 422), ({"name": ""}, 422), ({"name": "   "}, 422), ({"name": "x" * 101}, 422), ({"name": 5}, 422),
    ({"name": "A", "extra": 1}, 422), ({"name": "A", "parent_id": "not-an-id"}, 422),
    ({"name": "A", "parent_id": UNKNOWN_ID}, 422), ({"name": "A", "parent_id": 7}, 422), ("{bad json", 400),
])
def test_bad_new_units_are_4xx_problems_and_write_nothing(cloud: Any, acme: dict[str, Any], body: Any,
                                                          status: int) -> None:
    answer = call(cloud, "POST", "/v1/organizations", acme["owner"], body=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert _units(cloud, acme["owner"]["tenant_id"]) == []


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/v1/organizations/{org}", {}, 422), ("/v1/organizations/{org}", {"name": None}, 422),
    ("/v1/organizations/{org}", {"name": "A", "extra": 1}, 422), ("/v1/organizations/{org}", {"parent_id": 5}, 422),
    ("/v1/organizations/{org}", {"parent_id": UNKNOWN_ID}, 422), ("/v1/organizations/not-an-id", {"name": "A"}, 422),
    ("/v1/organizations/" + UNKNOWN_ID, {"name": "A"}, 404), ("/v1/organizations/{org}", "{bad json", 400),
])
def test_bad_unit_changes_are_4xx_problems_and_change_nothing(cloud: Any, acme: dict[str, Any], path: str,
                                                              body: Any, status: int) -> None:
    owner = acme["owner"]
    unit = _unit(cloud, owner, "Stable")
    answer = call(cloud, "PATCH", path.format(org=unit["org_id"]), owner, body=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert _stored(cloud, owner["tenant_id"], unit["org_id"])["version"] == 1


@pytest.mark.parametrize("path", ["/v1/organizations/not-an-id/members/{user}",
                                  "/v1/organizations/{org}/members/not%20a%20user"])
def test_bad_placement_paths_are_422_problems(cloud: Any, acme: dict[str, Any], path: str) -> None:
    unit = _unit(cloud, acme["owner"], "Paths")
    for method in ("PUT", "DELETE"):
        answer = call(cloud, method, path.format(org=unit["org_id"], user=acme["member"]["user_id"]), acme["owner"])
        assert answer.status_code == 422 and answer.headers["Content-Type"] == PROBLEM


def test_a_move_checked_against_a_stale_tree_fails_instead_of_making_a_cycle(cloud: Any) -> None:
    """A reads the tree to move X under Y; meanwhile Y is moved under X. A's move must fail."""
    from wrapper.kernel.actor import Actor
    from wrapper.kernel.errors import Conflict
    from wrapper.kernel.permissions import ROLE_PERMISSIONS
    from wrapper.kernel.tenant import TenantContext
    from wrapper.store.table import Table
    from wrapper.tenancy.organizations import Organizations, OrganizationUpdate

    owner = signup(cloud, "Race Co")
    x, y = _unit(cloud, owner, "X")["org_id"], _unit(cloud, owner, "Y")["org_id"]
    items = table(cloud)

    class MovedBehindItsBack(Table):
        def get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
            item = super().get(pk, sk, consistent=consistent)
            if sk == ORG_TREE_SK:
                # The concurrent move commits right after our read
                assert call(cloud, "PATCH", f"/v1/organizations/{y}", owner, body={"parent_id": x}).status_code == 200
            return item

    actor = Actor(tenant=TenantContext(owner["tenant_id"]), user_id=owner["user_id"],
                  permissions=ROLE_PERMISSIONS["owner"])
    stale = Organizations(MovedBehindItsBack(items.client, items.name), outbox_ttl_days=1)
    with pytest.raises(Conflict):
        stale.update(actor, x, OrganizationUpdate(parent_id=y))
    assert _stored(cloud, owner["tenant_id"], x).get("parent_id") is None
    assert _stored(cloud, owner["tenant_id"], y)["parent_id"] == x
