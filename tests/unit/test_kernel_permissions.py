"""Roles and permissions inside a tenant: the built-in matrix, no escalation, always an owner."""

from __future__ import annotations

from itertools import pairwise

import pytest

from wrapper.kernel import permissions
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from wrapper.kernel.permissions import (
    BUILT_IN_ROLES,
    ROLE_PERMISSIONS,
    BuiltInRole,
    MemberChange,
    Permission,
    Role,
    built_in_roles,
    can_assign,
    ensure_can_assign,
    ensure_can_manage_member,
    ensure_owner_remains,
    parse_permissions,
    permission_matrix_markdown,
    permissions_for,
    require,
    validate_custom_role,
)

P = Permission
OWNER, ADMIN, MANAGER, MEMBER, VIEWER = (ROLE_PERMISSIONS[r] for r in BUILT_IN_ROLES)

# Every cell of the documented matrix, written out by hand so a change to the code shows here.
MATRIX: dict[str, set[str]] = {
    "owner": {p.value for p in Permission},
    "admin": {"tenant:read", "tenant:write", "members:read", "members:write", "roles:read", "roles:write",
              "organizations:read", "organizations:write", "billing:read", "usage:read", "usage:write",
              "api-keys:read", "api-keys:write", "audit:read"},
    "manager": {"tenant:read", "members:read", "members:write", "roles:read", "organizations:read",
                "organizations:write", "billing:read", "usage:read", "usage:write"},
    "member": {"tenant:read", "members:read", "roles:read", "organizations:read", "usage:read", "usage:write"},
    "viewer": {"tenant:read", "members:read", "roles:read", "organizations:read", "usage:read"},
}
CELLS = [(role, permission) for role in MATRIX for permission in Permission]


# --- the built-in matrix -------------------------------------------------------------------

@pytest.mark.parametrize(("role", "permission"), CELLS, ids=[f"{r}-{p}" for r, p in CELLS])
def test_each_built_in_role_holds_exactly_the_permissions_of_the_matrix(role: str, permission: Permission) -> None:
    # Given a built-in role and a permission
    # When the role's permissions are looked up
    held = permissions_for(role, {})

    # Then the permission is held exactly when the documented matrix says so
    assert (permission in held) is (permission in MATRIX[role])


def test_the_permissions_include_every_one_the_issue_names() -> None:
    # Given the permissions the issue names
    named = {"tenant:read", "tenant:write", "members:read", "members:write", "roles:write", "organizations:write",
             "billing:read", "billing:write", "usage:read", "usage:write", "api-keys:write", "audit:read",
             "tenant:delete"}

    # When / Then each of them is a Permission
    assert named <= {p.value for p in Permission}


def test_built_in_roles_are_listed_highest_rank_first() -> None:
    # Given / When the built-in roles are listed
    # Then they come owner, admin, manager, member, viewer
    assert list(BUILT_IN_ROLES) == ["owner", "admin", "manager", "member", "viewer"]


def test_each_built_in_role_holds_everything_the_next_rank_down_holds() -> None:
    # Given the built-in roles in rank order
    ranked = [ROLE_PERMISSIONS[r] for r in BUILT_IN_ROLES]

    # When / Then each one's permissions strictly contain the next one's
    assert all(higher > lower for higher, lower in pairwise(ranked))


def test_only_the_owner_may_delete_the_tenant_or_move_money() -> None:
    # Given / When the roles that hold tenant:delete or billing:write are listed
    deleters = [r for r in BUILT_IN_ROLES if P.TENANT_DELETE in ROLE_PERMISSIONS[r]]
    payers = [r for r in BUILT_IN_ROLES if P.BILLING_WRITE in ROLE_PERMISSIONS[r]]

    # Then each is the owner alone
    assert deleters == payers == ["owner"]


def test_the_viewer_holds_only_read_permissions() -> None:
    # Given / When the viewer's permissions are looked up
    # Then every one of them is a read
    assert all(p.endswith(":read") for p in ROLE_PERMISSIONS["viewer"])


def test_the_documented_table_is_the_matrix_in_code() -> None:
    # Given / When the matrix is rendered from the code
    table = permission_matrix_markdown()

    # Then the module docstring shows exactly that table
    assert permissions.__doc__ is not None
    assert table in permissions.__doc__


def test_the_built_in_roles_are_listed_as_roles_marked_built_in() -> None:
    # Given / When the built-in roles are listed as Role values
    roles = built_in_roles()

    # Then they are the five built-in roles, in rank order, marked built in, with their permissions
    assert roles == tuple(Role(str(r), ROLE_PERMISSIONS[r], built_in=True) for r in BUILT_IN_ROLES)


def test_the_role_matrix_cannot_be_changed_at_run_time() -> None:
    # Given the role matrix
    # When code tries to redefine a role
    # Then it is refused
    with pytest.raises(TypeError):
        ROLE_PERMISSIONS["viewer"] = OWNER  # type: ignore[index]


# --- permissions_for ---------------------------------------------------------------------

def test_a_custom_role_has_the_permissions_the_tenant_gave_it() -> None:
    # Given a tenant with a custom role
    custom = {"billing": frozenset({P.BILLING_READ, P.BILLING_WRITE})}

    # When its permissions are looked up
    # Then they are the ones stored for it
    assert permissions_for("billing", custom) == {P.BILLING_READ, P.BILLING_WRITE}


def test_a_built_in_name_always_means_the_built_in_role() -> None:
    # Given custom roles that (wrongly) reuse a built-in name
    custom = {"viewer": OWNER}

    # When "viewer" is looked up
    # Then it is the built-in viewer
    assert permissions_for("viewer", custom) == VIEWER


def test_an_unknown_role_is_invalid_input() -> None:
    # Given / When a role that neither exists built in nor in the tenant is looked up
    # Then it is refused as invalid input
    with pytest.raises(InvalidInput, match="unknown role: 'ghost'"):
        permissions_for("ghost", {})


def test_permission_names_are_parsed_and_unknown_ones_are_each_reported() -> None:
    # Given / When names with two unknown permissions are parsed
    with pytest.raises(InvalidInput) as refused:
        parse_permissions(["usage:read", "root:all", "billing:steal"])

    # Then both unknown names are reported, none is dropped silently
    assert refused.value.errors == [
        {"field": "permissions", "message": "unknown permission 'billing:steal'"},
        {"field": "permissions", "message": "unknown permission 'root:all'"},
    ]


# --- assigning roles: nobody grants what they do not hold --------------------------------

@pytest.mark.parametrize("target", ["admin", "owner"])
def test_a_manager_cannot_grant_admin_or_owner(target: str) -> None:
    # Given a manager
    # When it tries to grant a higher role
    # Then it is refused
    assert not can_assign(MANAGER, ROLE_PERMISSIONS[target])
    with pytest.raises(PermissionDenied, match="cannot grant permissions you do not hold"):
        ensure_can_assign(MANAGER, ROLE_PERMISSIONS[target])


@pytest.mark.parametrize("target", ["manager", "member", "viewer"])
def test_a_manager_may_grant_its_own_role_and_those_below(target: str) -> None:
    # Given a manager
    # When it grants its own rank or a lower one
    # Then it is allowed
    assert can_assign(MANAGER, ROLE_PERMISSIONS[target])
    ensure_can_assign(MANAGER, ROLE_PERMISSIONS[target])


def test_an_admin_cannot_make_anyone_owner() -> None:
    # Given an admin
    # When it tries to grant owner
    # Then it is refused, naming what it lacks
    with pytest.raises(PermissionDenied, match=r"do not hold: tenant:delete, billing:write$"):
        ensure_can_assign(ADMIN, OWNER)


def test_an_owner_may_grant_every_role() -> None:
    # Given an owner
    # When / Then every built-in role is within its grant
    assert all(can_assign(OWNER, ROLE_PERMISSIONS[r]) for r in BUILT_IN_ROLES)


def test_permissions_from_the_authorizer_as_plain_strings_compare_with_the_enum() -> None:
    # Given an actor whose permissions arrive as plain strings (as in the authorizer context)
    actor = {"members:write", "usage:write", "usage:read"}

    # When / Then it may grant a role made of those permissions, but not one with more
    assert can_assign(actor, frozenset({P.USAGE_READ, P.USAGE_WRITE}))
    assert not can_assign(actor, frozenset({P.USAGE_READ, P.BILLING_READ}))


def test_a_manager_cannot_change_or_remove_an_admin() -> None:
    # Given a manager and a member who is admin
    # When the manager tries to change or remove that member
    # Then it is refused
    with pytest.raises(PermissionDenied, match="cannot change a member who holds permissions you do not hold"):
        ensure_can_manage_member(MANAGER, ADMIN)


def test_a_manager_may_change_a_member() -> None:
    # Given a manager and a plain member
    # When / Then the manager may change or remove that member
    ensure_can_manage_member(MANAGER, MEMBER)


# --- custom roles ------------------------------------------------------------------------

def test_an_admin_creates_a_custom_role_within_its_own_permissions() -> None:
    # Given an admin
    # When it defines a role made of permissions it holds
    role = validate_custom_role("support", ["members:read", "audit:read"], actor_permissions=ADMIN)

    # Then the role is a custom role with those permissions
    assert role == Role("support", frozenset({P.MEMBERS_READ, P.AUDIT_READ}), built_in=False)


def test_a_custom_role_with_a_permission_the_actor_lacks_is_refused() -> None:
    # Given an admin, who does not hold billing:write
    # When it defines a role that would hold billing:write
    # Then it is refused, naming the permission
    with pytest.raises(PermissionDenied, match="do not hold: billing:write"):
        validate_custom_role("finance", ["billing:read", "billing:write"], actor_permissions=ADMIN)


def test_an_owner_may_delegate_billing_through_a_custom_role() -> None:
    # Given an owner
    # When it defines a role with billing:write
    role = validate_custom_role("finance", ["billing:read", "billing:write"], actor_permissions=OWNER)

    # Then the role holds billing:write
    assert P.BILLING_WRITE in role.permissions


def test_no_custom_role_may_delete_the_tenant() -> None:
    # Given an owner
    # When it defines a role with tenant:delete
    # Then it is refused: deleting the tenant belongs to owners alone
    with pytest.raises(InvalidInput, match="only owners may hold: tenant:delete"):
        validate_custom_role("deputy", ["tenant:delete"], actor_permissions=OWNER)


@pytest.mark.parametrize("name", ["Support", "1st-line", "a", "x" * 33, "support_team", "support team", "-ops",
                                  "support\n", ""],
                         ids=["uppercase", "digit-first", "one-char", "33-chars", "underscore", "space", "dash-first",
                              "trailing-newline", "empty"])
def test_a_custom_role_with_a_badly_shaped_name_is_invalid(name: str) -> None:
    # Given / When a role is defined with a name outside ^[a-z][a-z0-9-]{1,31}$
    # Then it is refused as invalid input
    with pytest.raises(InvalidInput, match="a role name is"):
        validate_custom_role(name, ["usage:read"], actor_permissions=OWNER)


@pytest.mark.parametrize("name", ["ab", "x" * 32, "tier-2-support"], ids=["two-chars", "32-chars", "digits-dashes"])
def test_a_custom_role_name_may_be_two_to_thirty_two_characters(name: str) -> None:
    # Given / When a role is defined with a well-shaped name
    # Then it is accepted under that name
    assert validate_custom_role(name, ["usage:read"], actor_permissions=OWNER).name == name


@pytest.mark.parametrize("name", list(BUILT_IN_ROLES))
def test_a_custom_role_cannot_take_a_built_in_name(name: str) -> None:
    # Given / When a role is defined under a built-in name
    # Then it is refused as invalid input
    with pytest.raises(InvalidInput, match="is a built-in role"):
        validate_custom_role(name, ["usage:read"], actor_permissions=OWNER)


def test_a_custom_role_with_no_permission_is_invalid() -> None:
    # Given / When a role is defined with no permission
    # Then it is refused as invalid input
    with pytest.raises(InvalidInput, match="at least one permission"):
        validate_custom_role("nobody", [], actor_permissions=OWNER)


def test_a_custom_role_with_an_unknown_permission_is_invalid() -> None:
    # Given / When a role is defined with a permission that does not exist
    # Then it is refused as invalid input
    with pytest.raises(InvalidInput, match="unknown permission: root:all"):
        validate_custom_role("root", ["root:all"], actor_permissions=OWNER)


# --- always an owner ---------------------------------------------------------------------

ONE_OWNER = {"u-owner": "owner", "u-admin": "admin", "u-member": "member"}
TWO_OWNERS = {"u-owner": "owner", "u-owner-2": "owner", "u-member": "member"}


def test_the_last_owner_cannot_be_demoted() -> None:
    # Given a tenant with one owner
    # When the owner is demoted to admin
    # Then it is refused as a conflict
    with pytest.raises(Conflict, match="the last owner cannot be demoted"):
        ensure_owner_remains(ONE_OWNER, MemberChange.set_role("u-owner", "admin"))


def test_the_last_owner_cannot_be_removed() -> None:
    # Given a tenant with one owner
    # When the owner is removed
    # Then it is refused as a conflict
    with pytest.raises(Conflict, match="the last owner cannot be removed"):
        ensure_owner_remains(ONE_OWNER, MemberChange.remove("u-owner"))


def test_the_last_owner_cannot_leave() -> None:
    # Given a tenant with one owner
    # When the owner leaves
    # Then it is refused as a conflict that says what to do instead
    with pytest.raises(Conflict, match="the last owner cannot leave: make another member owner first"):
        ensure_owner_remains(ONE_OWNER, MemberChange.leave("u-owner"))


@pytest.mark.parametrize("change", [MemberChange.set_role("u-owner", "viewer"), MemberChange.remove("u-owner"),
                                    MemberChange.leave("u-owner")], ids=["demote", "remove", "leave"])
def test_one_of_two_owners_may_be_demoted_removed_or_leave(change: MemberChange) -> None:
    # Given a tenant with two owners
    # When one of them is demoted, removed or leaves
    # Then it is allowed: the other owner remains
    ensure_owner_remains(TWO_OWNERS, change)


def test_the_last_owner_may_keep_the_owner_role() -> None:
    # Given a tenant with one owner
    # When the owner is "changed" to owner
    # Then it is allowed
    ensure_owner_remains(ONE_OWNER, MemberChange.set_role("u-owner", BuiltInRole.OWNER))


@pytest.mark.parametrize("change", [MemberChange.set_role("u-member", "viewer"), MemberChange.remove("u-admin"),
                                    MemberChange.set_role("u-admin", "owner")], ids=["demote", "remove", "promote"])
def test_changes_to_other_members_keep_the_owner(change: MemberChange) -> None:
    # Given a tenant with one owner
    # When another member is changed or removed
    # Then it is allowed
    ensure_owner_remains(ONE_OWNER, change)


def test_a_change_to_someone_who_is_not_a_member_is_not_found() -> None:
    # Given / When a change names a user who is not a member of the tenant
    # Then it is refused as not found
    with pytest.raises(NotFound):
        ensure_owner_remains(ONE_OWNER, MemberChange.remove("u-stranger"))


# --- require -----------------------------------------------------------------------------

def test_require_passes_when_the_permission_is_held() -> None:
    # Given / When a member requires usage:write, which it holds
    # Then nothing is raised
    require(MEMBER, P.USAGE_WRITE)


def test_require_names_the_missing_permission() -> None:
    # Given a viewer
    # When billing:write is required
    # Then it is refused with a message naming that permission
    with pytest.raises(PermissionDenied) as refused:
        require(VIEWER, P.BILLING_WRITE)
    assert refused.value.detail == "missing permission: billing:write"


def test_require_names_every_missing_permission_of_several() -> None:
    # Given a member
    # When usage:write, members:write and audit:read are all required
    # Then it is refused naming the two it lacks, in the matrix's order
    with pytest.raises(PermissionDenied) as refused:
        require(MEMBER, [P.USAGE_WRITE, P.AUDIT_READ, P.MEMBERS_WRITE])
    assert refused.value.detail == "missing permissions: members:write, audit:read"


def test_require_accepts_permissions_held_as_plain_strings() -> None:
    # Given permissions as plain strings (as in the authorizer context)
    held = frozenset({"usage:read"})

    # When / Then requiring one of them passes
    require(held, P.USAGE_READ)
