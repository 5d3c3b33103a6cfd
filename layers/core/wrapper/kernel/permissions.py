"""Roles and permissions inside a tenant: pure rules, no I/O.

Built-in roles, from the highest rank down (each holds everything the next one holds):

| Permission            | owner | admin | manager | member | viewer |
|-----------------------|:-----:|:-----:|:-------:|:------:|:------:|
| `tenant:read`         |   ✓   |   ✓   |    ✓    |   ✓    |   ✓    |
| `tenant:write`        |   ✓   |   ✓   |         |        |        |
| `tenant:delete`       |   ✓   |       |         |        |        |
| `members:read`        |   ✓   |   ✓   |    ✓    |   ✓    |   ✓    |
| `members:write`       |   ✓   |   ✓   |    ✓    |        |        |
| `roles:read`          |   ✓   |   ✓   |    ✓    |   ✓    |   ✓    |
| `roles:write`         |   ✓   |   ✓   |         |        |        |
| `organizations:read`  |   ✓   |   ✓   |    ✓    |   ✓    |   ✓    |
| `organizations:write` |   ✓   |   ✓   |    ✓    |        |        |
| `billing:read`        |   ✓   |   ✓   |    ✓    |        |        |
| `billing:write`       |   ✓   |       |         |        |        |
| `usage:read`          |   ✓   |   ✓   |    ✓    |   ✓    |   ✓    |
| `usage:write`         |   ✓   |   ✓   |    ✓    |   ✓    |        |
| `api-keys:read`       |   ✓   |   ✓   |         |        |        |
| `api-keys:write`      |   ✓   |   ✓   |         |        |        |
| `audit:read`          |   ✓   |   ✓   |         |        |        |

Choices behind the matrix:

- **owner** holds everything. Only an owner deletes the tenant or moves money
  (`billing:write`: plan changes, cancellation, payment methods). An owner who wants to
  delegate billing creates a custom role with `billing:write` for that person.
- **admin** runs the tenant day to day: profile, members, roles, organizations, API keys,
  audit log. Because an admin lacks `tenant:delete`, an admin can never make anyone owner.
- **manager** looks after people and usage: invites and changes members up to manager,
  edits the organization tree, records usage and sees billing.
- **member** uses the product: reads the tenant and records usage.
- **viewer** reads what a member reads and writes nothing.

Rules that hold for built-in and custom roles alike:

- Nobody grants a permission they do not hold (`ensure_can_assign`), and nobody changes or
  removes a member who holds a permission they do not hold (`ensure_can_manage_member`).
  So a manager cannot make anyone admin or owner, nor demote an admin.
- A custom role is named `^[a-z][a-z0-9-]{1,31}$`, never a built-in name, holds at least
  one permission and never `tenant:delete` (deleting the tenant belongs to owners alone).
- A tenant always keeps an owner: the last owner cannot be demoted, removed or leave
  (`ensure_owner_remains`).

The table above is ``permission_matrix_markdown()``; a unit test keeps them equal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from wrapper.kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class Permission(StrEnum):
    TENANT_READ = "tenant:read"
    TENANT_WRITE = "tenant:write"
    TENANT_DELETE = "tenant:delete"
    MEMBERS_READ = "members:read"
    MEMBERS_WRITE = "members:write"
    ROLES_READ = "roles:read"
    ROLES_WRITE = "roles:write"
    ORGANIZATIONS_READ = "organizations:read"
    ORGANIZATIONS_WRITE = "organizations:write"
    BILLING_READ = "billing:read"
    BILLING_WRITE = "billing:write"
    USAGE_READ = "usage:read"
    USAGE_WRITE = "usage:write"
    API_KEYS_READ = "api-keys:read"
    API_KEYS_WRITE = "api-keys:write"
    AUDIT_READ = "audit:read"


class BuiltInRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    MEMBER = "member"
    VIEWER = "viewer"


_P = Permission

ALL_PERMISSIONS: frozenset[Permission] = frozenset(Permission)
# Permissions only the built-in owner role may hold.
OWNER_ONLY: frozenset[Permission] = frozenset({_P.TENANT_DELETE})

_VIEWER = frozenset({_P.TENANT_READ, _P.MEMBERS_READ, _P.ROLES_READ, _P.ORGANIZATIONS_READ, _P.USAGE_READ})
_MEMBER = _VIEWER | {_P.USAGE_WRITE}
_MANAGER = _MEMBER | {_P.MEMBERS_WRITE, _P.ORGANIZATIONS_WRITE, _P.BILLING_READ}
_ADMIN = ALL_PERMISSIONS - {_P.TENANT_DELETE, _P.BILLING_WRITE}

# Highest rank first.
BUILT_IN_ROLES: tuple[BuiltInRole, ...] = tuple(BuiltInRole)

ROLE_PERMISSIONS: Mapping[str, frozenset[Permission]] = MappingProxyType({
    BuiltInRole.OWNER: ALL_PERMISSIONS,
    BuiltInRole.ADMIN: _ADMIN,
    BuiltInRole.MANAGER: _MANAGER,
    BuiltInRole.MEMBER: _MEMBER,
    BuiltInRole.VIEWER: _VIEWER,
})

_CUSTOM_ROLE_NAME = re.compile(r"[a-z][a-z0-9-]{1,31}")


@dataclass(frozen=True)
class Role:
    name: str
    permissions: frozenset[Permission]
    built_in: bool = False


def built_in_roles() -> tuple[Role, ...]:
    """The built-in roles, highest rank first (for listing a tenant's roles)."""
    return tuple(Role(str(name), ROLE_PERMISSIONS[name], built_in=True) for name in BUILT_IN_ROLES)


def parse_permissions(values: Iterable[str], *, field: str = "permissions") -> frozenset[Permission]:
    """Permissions from their names; every unknown name is reported, none is dropped."""
    names = list(values)
    unknown = sorted({name for name in names if name not in ALL_PERMISSIONS})
    if unknown:
        raise InvalidInput(f"unknown permission: {', '.join(unknown)}",
                           errors=[{"field": field, "message": f"unknown permission {name!r}"} for name in unknown])
    return frozenset(Permission(name) for name in names)


def permissions_for(role_name: str, custom_roles: Mapping[str, frozenset[Permission]]) -> frozenset[Permission]:
    """What a role may do. Built-in names always mean the built-in role."""
    if role_name in ROLE_PERMISSIONS:
        return ROLE_PERMISSIONS[role_name]
    if role_name in custom_roles:
        return frozenset(custom_roles[role_name])
    raise InvalidInput(f"unknown role: {role_name!r}", errors=[{"field": "role", "message": "no such role"}])


def validate_custom_role(name: str, permissions: Iterable[str], *,
                         actor_permissions: AbstractSet[str]) -> Role:
    """A tenant's own role, checked before it is stored.

    ``InvalidInput`` for a bad or built-in name, an unknown permission, no permission at all
    or an owner-only one; ``PermissionDenied`` if it holds a permission the actor lacks.
    """
    if not _CUSTOM_ROLE_NAME.fullmatch(name):
        raise InvalidInput("a role name is 2 to 32 lowercase letters, digits or '-', starting with a letter",
                           errors=[{"field": "name", "message": "must match ^[a-z][a-z0-9-]{1,31}$"}])
    if name in ROLE_PERMISSIONS:
        raise InvalidInput(f"{name!r} is a built-in role",
                           errors=[{"field": "name", "message": "is a built-in role"}])
    granted = parse_permissions(permissions)
    if not granted:
        raise InvalidInput("a role needs at least one permission",
                           errors=[{"field": "permissions", "message": "must not be empty"}])
    reserved = granted & OWNER_ONLY
    if reserved:
        raise InvalidInput(f"only owners may hold: {_names(reserved)}", errors=[
            {"field": "permissions", "message": f"{p} is owner-only"} for p in _sorted(reserved)])
    ensure_can_assign(actor_permissions, granted)
    return Role(name, granted, built_in=False)


def can_assign(actor_permissions: AbstractSet[str], target_permissions: AbstractSet[str]) -> bool:
    """Whether an actor may grant a role: only if it holds every permission of that role."""
    return set(target_permissions) <= set(actor_permissions)


def ensure_can_assign(actor_permissions: AbstractSet[str], target_permissions: AbstractSet[str]) -> None:
    missing = set(target_permissions) - set(actor_permissions)
    if missing:
        raise PermissionDenied(f"cannot grant permissions you do not hold: {_names(missing)}")


def ensure_can_manage_member(actor_permissions: AbstractSet[str], member_permissions: AbstractSet[str]) -> None:
    """Changing or removing a member needs every permission that member holds now."""
    missing = set(member_permissions) - set(actor_permissions)
    if missing:
        raise PermissionDenied(f"cannot change a member who holds permissions you do not hold: {_names(missing)}")


def require(permissions_held: AbstractSet[str], needed: Permission | Iterable[Permission]) -> None:
    """Raise ``PermissionDenied`` naming each needed permission that is not held."""
    wanted = [needed] if isinstance(needed, str) else list(needed)
    missing = {p for p in wanted if p not in permissions_held}
    if missing:
        noun = "permission" if len(missing) == 1 else "permissions"
        raise PermissionDenied(f"missing {noun}: {_names(missing)}")


class ChangeKind(StrEnum):
    SET_ROLE = "set-role"
    REMOVE = "remove"
    LEAVE = "leave"


@dataclass(frozen=True)
class MemberChange:
    """A change to one membership: a new role, a removal by someone else, or leaving."""

    user_id: str
    kind: ChangeKind
    new_role: str | None = None

    @classmethod
    def set_role(cls, user_id: str, role_name: str) -> MemberChange:
        return cls(user_id, ChangeKind.SET_ROLE, role_name)

    @classmethod
    def remove(cls, user_id: str) -> MemberChange:
        return cls(user_id, ChangeKind.REMOVE)

    @classmethod
    def leave(cls, user_id: str) -> MemberChange:
        return cls(user_id, ChangeKind.LEAVE)


def ensure_owner_remains(members_roles: Mapping[str, str], change: MemberChange) -> None:
    """Refuse (``Conflict``) a change that would take away the tenant's last owner.

    ``members_roles`` maps each member's user id to its role name, as it is before the change.
    """
    if change.user_id not in members_roles:
        raise NotFound("no such member")
    after = dict(members_roles)
    if change.kind is ChangeKind.SET_ROLE:
        if change.new_role is None:
            raise ValueError("a role change names the new role")
        after[change.user_id] = change.new_role
    else:
        del after[change.user_id]
    had_owner = BuiltInRole.OWNER in members_roles.values()
    if had_owner and BuiltInRole.OWNER not in after.values():
        action = {
            ChangeKind.SET_ROLE: "be demoted",
            ChangeKind.REMOVE: "be removed",
            ChangeKind.LEAVE: "leave",
        }[change.kind]
        raise Conflict(f"the last owner cannot {action}: make another member owner first")


def permission_matrix_markdown() -> str:
    """The built-in role matrix as the markdown table in this module's docstring."""
    width = max(len(f"`{p}`") for p in Permission)
    header = "| " + "Permission".ljust(width) + " | " + " | ".join(BUILT_IN_ROLES) + " |"
    rule = "|" + "-" * (width + 2) + "|" + "|".join(":" + "-" * (len(r)) + ":" for r in BUILT_IN_ROLES) + "|"
    rows = [header, rule]
    for permission in Permission:
        cells = [("✓" if permission in ROLE_PERMISSIONS[role] else " ").center(len(role) + 2)
                 for role in BUILT_IN_ROLES]
        rows.append("| " + f"`{permission}`".ljust(width) + " |" + "|".join(cells) + "|")
    return "\n".join(rows)


def _sorted(permissions: Iterable[str]) -> list[str]:
    order: dict[str, int] = {p.value: i for i, p in enumerate(Permission)}
    return sorted((str(p) for p in permissions), key=lambda p: (order.get(p, len(order)), p))


def _names(permissions: Iterable[str]) -> str:
    return ", ".join(_sorted(permissions))
