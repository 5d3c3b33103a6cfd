"""/v1/roles over HTTP: custom roles created, changed and deleted within what the actor holds;
holders counted through role changes, removals and accepted invites; never across tenants."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support import PASSWORD, call, emails_to, join, signup, table, token_in, wait_for
from wrapper.kernel.permissions import Permission
from wrapper.store.schema import AUDIT_SK_PREFIX, MEMBER_PREFIX, ROLE_COUNT_SK, ROLE_PREFIX, role_sk, tenant_pk

PROBLEM = "application/problem+json"
BUILT_IN = ["owner", "admin", "manager", "member", "viewer"]


def _name() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


def _custom_roles(cloud: Any, tenant_id: str) -> list[dict[str, Any]]:
    items, _ = table(cloud).query(tenant_pk(tenant_id), sk_prefix=ROLE_PREFIX, limit=100)
    return items


def _role(cloud: Any, tenant_id: str, name: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = table(cloud).get(tenant_pk(tenant_id), role_sk(name))
    return item


def _holders(cloud: Any, tenant_id: str, name: str) -> int | None:
    item = _role(cloud, tenant_id, name)
    return None if item is None else int(item["holders"])


def _create(cloud: Any, session: dict[str, Any], permissions: list[str], **extra: Any) -> str:
    name = _name()
    answer = call(cloud, "POST", "/v1/roles", session, body={"name": name, "permissions": permissions, **extra})
    assert answer.status_code == 201, answer.text
    return name


def _set_role(cloud: Any, session: dict[str, Any], user_id: str, role: str) -> Any:
    return call(cloud, "PATCH", f"/v1/members/{user_id}", session, body={"role": role})


@pytest.fixture(scope="module")
def acme(cloud: Any) -> dict[str, Any]:
    people = {"owner": signup(cloud, "Acme Roles")}
    for role in ("admin", "manager", "member", "viewer"):
        people[role] = signup(cloud, f"{role}'s own")
        join(cloud, people["owner"]["tenant_id"], people[role]["user_id"], role)
    people["stranger"] = signup(cloud, "Globex Roles")
    return people


def test_an_admin_creates_lists_changes_and_deletes_a_custom_role(cloud: Any, acme: dict[str, Any]) -> None:
    name = _name()
    created = call(cloud, "POST", "/v1/roles", acme["admin"],
                   body={"name": name, "permissions": ["audit:read", "members:read"], "description": "Support"})
    assert created.status_code == 201, created.text
    assert created.json() == {"name": name, "permissions": ["members:read", "audit:read"], "description": "Support",
                              "built_in": False, "members": 0}

    listed = call(cloud, "GET", "/v1/roles", acme["viewer"]).json()["items"]
    assert [r["name"] for r in listed[:5]] == BUILT_IN and all(r["built_in"] for r in listed[:5])
    assert listed[0]["permissions"] == [p.value for p in Permission]  # the owner: all, in the matrix's order
    assert {"name": name, "permissions": ["members:read", "audit:read"], "description": "Support",
            "built_in": False, "members": 0} in listed[5:]

    changed = call(cloud, "PATCH", f"/v1/roles/{name}", acme["admin"],
                   body={"permissions": ["members:read"], "description": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["permissions"] == ["members:read"] and changed.json()["description"] is None
    assert _role(cloud, acme["owner"]["tenant_id"], name)["version"] == 2

    assert call(cloud, "DELETE", f"/v1/roles/{name}", acme["admin"]).status_code == 204
    assert name not in [r["name"] for r in call(cloud, "GET", "/v1/roles", acme["owner"]).json()["items"]]
    assert call(cloud, "DELETE", f"/v1/roles/{name}", acme["admin"]).status_code == 404


def test_role_changes_are_audited_with_who_and_from_where(cloud: Any, acme: dict[str, Any]) -> None:
    tenant_id = acme["owner"]["tenant_id"]
    name = _create(cloud, acme["owner"], ["usage:read"])
    assert call(cloud, "PATCH", f"/v1/roles/{name}", acme["owner"], body={"description": "x"}).status_code == 200
    assert call(cloud, "DELETE", f"/v1/roles/{name}", acme["owner"]).status_code == 204

    def entries() -> list[dict[str, Any]]:
        items, _ = table(cloud).query(tenant_pk(tenant_id), sk_prefix=AUDIT_SK_PREFIX, limit=100, forward=False)
        found = [i for i in items if i.get("target") == name]
        return found if len(found) == 3 else []

    found = wait_for(entries, message="three role audit entries")
    assert sorted(e["action"] for e in found) == ["role.created", "role.deleted", "role.updated"]
    assert all(e["actor"] == acme["owner"]["user_id"] and e["source_ip"] and e["request_id"] for e in found)


def test_a_member_with_a_custom_role_holds_its_permissions_and_edits_apply_at_once(cloud: Any) -> None:
    owner, person = signup(cloud, "Custom Co"), signup(cloud, "Person's own")
    join(cloud, owner["tenant_id"], person["user_id"], "viewer")
    name = _create(cloud, owner, ["tenant:read"])
    assert _set_role(cloud, owner, person["user_id"], name).status_code == 200
    assert call(cloud, "GET", "/v1/tenant", person, tenant=owner["tenant_id"]).status_code == 200
    assert call(cloud, "GET", "/v1/members", person, tenant=owner["tenant_id"]).status_code == 403
    assert call(cloud, "PATCH", f"/v1/roles/{name}", owner,
                body={"permissions": ["tenant:read", "members:read"]}).status_code == 200
    assert call(cloud, "GET", "/v1/members", person, tenant=owner["tenant_id"]).status_code == 200


def test_holders_are_counted_through_role_changes_removals_and_invites(cloud: Any) -> None:
    owner = signup(cloud, "Holders Co")
    tenant_id = owner["tenant_id"]
    people = [signup(cloud, f"p{n}") for n in range(2)]
    for person in people:
        join(cloud, tenant_id, person["user_id"], "member")
    name = _create(cloud, owner, ["usage:read", "tenant:read"])

    assert _set_role(cloud, owner, people[0]["user_id"], name).status_code == 200
    assert _set_role(cloud, owner, people[1]["user_id"], name).status_code == 200
    assert _holders(cloud, tenant_id, name) == 2
    assert _set_role(cloud, owner, people[1]["user_id"], name).status_code == 200  # the same role again
    assert _holders(cloud, tenant_id, name) == 2
    held = call(cloud, "GET", "/v1/roles", owner).json()["items"]
    assert next(r for r in held if r["name"] == name)["members"] == 2

    email = f"holder-{uuid.uuid4().hex[:8]}@tests.example"
    assert call(cloud, "POST", "/v1/invites", owner, body={"email": email, "role": name}).status_code == 201
    joined = call(cloud, "POST", f"/v1/invites/{token_in(emails_to(cloud, email)[-1], 'Invite token')}/accept",
                  None, body={"password": PASSWORD})
    assert joined.status_code == 200, joined.text
    assert _holders(cloud, tenant_id, name) == 3

    refused = call(cloud, "DELETE", f"/v1/roles/{name}", owner)
    assert refused.status_code == 409 and refused.headers["Content-Type"] == PROBLEM

    assert _set_role(cloud, owner, people[0]["user_id"], "viewer").status_code == 200
    assert call(cloud, "DELETE", f"/v1/members/{people[1]['user_id']}", owner).status_code == 204
    assert call(cloud, "DELETE", f"/v1/members/{joined.json()['user_id']}", joined.json()).status_code == 204
    assert _holders(cloud, tenant_id, name) == 0
    assert call(cloud, "DELETE", f"/v1/roles/{name}", owner).status_code == 204
    assert _set_role(cloud, owner, people[0]["user_id"], name).status_code == 422  # gone: cannot be given


def test_an_invite_to_a_role_deleted_before_acceptance_is_refused(cloud: Any) -> None:
    owner = signup(cloud, "Deleted Role Co")
    name = _create(cloud, owner, ["usage:read"])
    email = f"late-{uuid.uuid4().hex[:8]}@tests.example"
    assert call(cloud, "POST", "/v1/invites", owner, body={"email": email, "role": name}).status_code == 201
    assert call(cloud, "DELETE", f"/v1/roles/{name}", owner).status_code == 204
    token = token_in(emails_to(cloud, email)[-1], "Invite token")
    refused = call(cloud, "POST", f"/v1/invites/{token}/accept", None, body={"password": PASSWORD})
    assert refused.status_code == 409 and refused.headers["Content-Type"] == PROBLEM
    members, _ = table(cloud).query(tenant_pk(owner["tenant_id"]), sk_prefix=MEMBER_PREFIX)
    assert len(members) == 1
    assert _role(cloud, owner["tenant_id"], name) is None  # no ghost role


@pytest.mark.parametrize("actor", ["manager", "member", "viewer"])
def test_only_roles_write_creates_changes_or_deletes_roles(cloud: Any, acme: dict[str, Any], actor: str) -> None:
    tenant_id = acme["owner"]["tenant_id"]
    name = _create(cloud, acme["owner"], ["usage:read"])
    before = len(_custom_roles(cloud, tenant_id))
    assert call(cloud, "POST", "/v1/roles", acme[actor],
                body={"name": _name(), "permissions": ["usage:read"]}).status_code == 403
    assert call(cloud, "PATCH", f"/v1/roles/{name}", acme[actor], body={"description": "x"}).status_code == 403
    assert call(cloud, "DELETE", f"/v1/roles/{name}", acme[actor]).status_code == 403
    assert call(cloud, "GET", "/v1/roles", acme[actor]).status_code == 200
    assert len(_custom_roles(cloud, tenant_id)) == before


def test_nobody_creates_or_changes_a_role_beyond_what_they_hold(cloud: Any, acme: dict[str, Any]) -> None:
    tenant_id = acme["owner"]["tenant_id"]
    # An admin lacks billing:write: it may not put it in a role, nor touch a role that has it
    assert call(cloud, "POST", "/v1/roles", acme["admin"],
                body={"name": _name(), "permissions": ["billing:write"]}).status_code == 403
    finance = _create(cloud, acme["owner"], ["billing:read", "billing:write"])
    assert call(cloud, "PATCH", f"/v1/roles/{finance}", acme["admin"],
                body={"permissions": ["billing:read"]}).status_code == 403
    assert call(cloud, "DELETE", f"/v1/roles/{finance}", acme["admin"]).status_code == 403
    support = _create(cloud, acme["admin"], ["members:read"])
    assert call(cloud, "PATCH", f"/v1/roles/{support}", acme["admin"],
                body={"permissions": ["members:read", "billing:write"]}).status_code == 403
    assert _role(cloud, tenant_id, finance)["permissions"] == ["billing:read", "billing:write"]
    assert _role(cloud, tenant_id, support)["permissions"] == ["members:read"]


def test_built_in_roles_cannot_be_changed_or_deleted_and_unknown_ones_are_404(cloud: Any, acme: dict[str, Any]) -> None:
    for method, body in (("PATCH", {"description": "x"}), ("DELETE", None)):
        answer = call(cloud, method, "/v1/roles/admin", acme["owner"], body=body)
        assert answer.status_code == 422 and answer.headers["Content-Type"] == PROBLEM
        assert call(cloud, method, f"/v1/roles/{_name()}", acme["owner"], body=body).status_code == 404


def test_a_taken_name_is_a_conflict(cloud: Any, acme: dict[str, Any]) -> None:
    name = _create(cloud, acme["owner"], ["usage:read"])
    again = call(cloud, "POST", "/v1/roles", acme["owner"], body={"name": name, "permissions": ["tenant:read"]})
    assert again.status_code == 409 and again.headers["Content-Type"] == PROBLEM
    assert _role(cloud, acme["owner"]["tenant_id"], name)["permissions"] == ["usage:read"]


def test_a_tenant_has_at_most_fifty_custom_roles(cloud: Any) -> None:
    from wrapper.tenancy.roles import MAX_CUSTOM_ROLES

    owner = signup(cloud, "Many Roles Co")
    tenant_id = owner["tenant_id"]
    _create(cloud, owner, ["usage:read"])
    assert table(cloud).get(tenant_pk(tenant_id), ROLE_COUNT_SK)["count"] == 1
    # Given a tenant at the cap (the count is what the cap is checked against)
    for _ in range(MAX_CUSTOM_ROLES - 1):
        _create(cloud, owner, ["usage:read"])
    assert table(cloud).get(tenant_pk(tenant_id), ROLE_COUNT_SK)["count"] == MAX_CUSTOM_ROLES
    refused = call(cloud, "POST", "/v1/roles", owner, body={"name": _name(), "permissions": ["usage:read"]})
    assert refused.status_code == 409 and "at most" in refused.json()["detail"]
    assert len(_custom_roles(cloud, tenant_id)) == MAX_CUSTOM_ROLES


def test_another_tenant_never_sees_or_touches_these_roles(cloud: Any, acme: dict[str, Any]) -> None:
    tenant_id, stranger = acme["owner"]["tenant_id"], acme["stranger"]
    name = _create(cloud, acme["owner"], ["usage:read"])
    theirs = call(cloud, "GET", "/v1/roles", stranger).json()["items"]
    assert [r["name"] for r in theirs] == BUILT_IN
    assert call(cloud, "PATCH", f"/v1/roles/{name}", stranger, body={"description": "mine"}).status_code == 404
    assert call(cloud, "DELETE", f"/v1/roles/{name}", stranger).status_code == 404
    assert call(cloud, "GET", "/v1/roles", stranger, tenant=tenant_id).status_code == 403
    assert call(cloud, "DELETE", f"/v1/roles/{name}", stranger, tenant=tenant_id).status_code == 403
    # A role of A cannot be given to B's members either
    assert _set_role(cloud, stranger, stranger["user_id"], name).status_code == 422
    assert _role(cloud, tenant_id, name).get("description") is None


@pytest.mark.parametrize(("body", "status"), [
    ({}, 422), ({"name": "good-name"}, 422), ({"permissions": ["usage:read"]}, 422),
    ({"name": "good-name", "permissions": ["usage:read"], "extra": 1}, 422),
    ({"name": "good-name", "permissions": "usage:read"}, 422), ({"name": 5, "permissions": ["usage:read"]}, 422),
    ({"name": "Bad Name", "permissions": ["usage:read"]}, 422), ({"name": "x", "permissions": ["usage:read"]}, 422),
    ({"name": "admin", "permissions": ["usage:read"]}, 422), ({"name": "good-name", "permissions": ["nope"]}, 422),
    ({"name": "good-name", "permissions": []}, 422), ({"name": "good-name", "permissions": ["tenant:delete"]}, 422),
    ("{bad json", 400),
])
def test_bad_new_roles_are_4xx_problems_and_write_nothing(cloud: Any, acme: dict[str, Any], body: Any,
                                                          status: int) -> None:
    tenant_id = acme["owner"]["tenant_id"]
    before = len(_custom_roles(cloud, tenant_id))
    answer = call(cloud, "POST", "/v1/roles", acme["owner"], body=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert len(_custom_roles(cloud, tenant_id)) == before


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/v1/roles/{name}", {}, 422), ("/v1/roles/{name}", {"extra": 1}, 422),
    ("/v1/roles/{name}", {"permissions": None}, 422), ("/v1/roles/{name}", {"permissions": ["nope"]}, 422),
    ("/v1/roles/{name}", {"permissions": []}, 422), ("/v1/roles/{name}", {"description": 5}, 422),
    ("/v1/roles/{name}", {"name": "renamed"}, 422), ("/v1/roles/Not_A_Name", {"description": "x"}, 422),
    ("/v1/roles/{name}", "{bad json", 400),
])
def test_bad_role_changes_are_4xx_problems_and_change_nothing(cloud: Any, acme: dict[str, Any], path: str,
                                                              body: Any, status: int) -> None:
    tenant_id = acme["owner"]["tenant_id"]
    name = _create(cloud, acme["owner"], ["usage:read"])
    answer = call(cloud, "PATCH", path.format(name=name), acme["owner"], body=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert _role(cloud, tenant_id, name)["version"] == 1


def test_a_role_change_based_on_a_stale_read_fails_instead_of_overwriting(cloud: Any) -> None:
    """Read, then another change lands behind the reader's back: the stale write is a 409."""
    from wrapper.kernel.actor import Actor
    from wrapper.kernel.errors import Conflict
    from wrapper.kernel.permissions import ROLE_PERMISSIONS
    from wrapper.kernel.tenant import TenantContext
    from wrapper.store.table import Table
    from wrapper.tenancy.roles import Roles, RoleUpdate

    owner = signup(cloud, "Stale Role Co")
    name = _create(cloud, owner, ["usage:read"])
    items = table(cloud)

    class ChangedBehindItsBack(Table):
        def get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
            item = super().get(pk, sk, consistent=consistent)
            if sk == role_sk(name) and item is not None:
                # Another change commits right after our read
                assert call(cloud, "PATCH", f"/v1/roles/{name}", owner,
                            body={"permissions": ["tenant:read"]}).status_code == 200
            return item

    actor = Actor(tenant=TenantContext(owner["tenant_id"]), user_id=owner["user_id"],
                  permissions=ROLE_PERMISSIONS["owner"])
    roles = Roles(ChangedBehindItsBack(items.client, items.name), outbox_ttl_days=1)
    with pytest.raises(Conflict):
        roles.update(actor, name, RoleUpdate(permissions=["members:read"]))
    assert _role(cloud, owner["tenant_id"], name)["permissions"] == ["tenant:read"]
