"""Who a request acts as: the actor, for one tenant, with the permissions it holds now.

The authorizer's context lists the caller's tenants (role and status in each). A request names
its tenant with ``X-Tenant-Id`` or gets its default one; a tenant the caller does not belong to
is 403, a suspended one too. Keys are then built from the resulting context only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from wrapper.kernel.errors import PermissionDenied, Unauthorized
from wrapper.kernel.permissions import ALL_PERMISSIONS, ROLE_PERMISSIONS, Permission, require
from wrapper.kernel.request_meta import NO_REQUEST, RequestMeta
from wrapper.kernel.tenant import TenantContext

TENANT_HEADER = "x-tenant-id"


@dataclass(frozen=True)
class Actor:
    """The caller, acting for one tenant, and the request it acts with (what its changes' events
    carry to the audit log)."""

    tenant: TenantContext
    user_id: str
    permissions: frozenset[Permission]
    plan_tier: str = "free"
    request_meta: RequestMeta = NO_REQUEST

    def require(self, *needed: Permission) -> None:
        require(self.permissions, needed)


class CustomRoles(Protocol):
    def permissions_of(self, tenant_id: str, role_name: str) -> frozenset[Permission] | None:
        """A tenant's custom role's permissions, or None if the tenant has no such role."""
        ...


def actor_from(authorizer: Mapping[str, Any] | None, headers: Mapping[str, str] | None,
               custom_roles: CustomRoles | None = None, request_meta: RequestMeta = NO_REQUEST) -> Actor:
    """The actor for a request, carrying ``request_meta``. A membership's permissions are those of its
    built-in role or of the tenant's custom role of that name, read on every request so a role edit
    applies at once. An API key's are its scopes' (from the authorizer), within what its creator's role
    allows now."""
    if not authorizer or "tenants" not in authorizer:
        raise Unauthorized("Missing or invalid credentials.")
    tenants: dict[str, dict[str, Any]] = json.loads(authorizer["tenants"])
    wanted = next((v.strip() for k, v in (headers or {}).items() if k.lower() == TENANT_HEADER), None)
    tenant_id = wanted or str(authorizer["default_tenant_id"])
    membership = tenants.get(tenant_id)
    if membership is None:
        raise PermissionDenied("You are not a member of this tenant.")
    status = membership.get("status")
    if status == "deleted":
        raise PermissionDenied("This tenant was deleted.")
    if status != "active":
        raise PermissionDenied("This tenant is suspended.")
    role = str(membership["role"])
    return Actor(tenant=TenantContext(tenant_id=tenant_id, principal=str(authorizer["principal"]), role=role),
                 user_id=str(authorizer["user_id"]),
                 permissions=_permissions(tenant_id, role, membership, custom_roles),
                 plan_tier=str(membership.get("tier", "free")), request_meta=request_meta)


def _permissions(tenant_id: str, role: str, membership: Mapping[str, Any],
                 custom_roles: CustomRoles | None) -> frozenset[Permission]:
    granted = membership.get("permissions")
    if granted is None:
        return _role_permissions(tenant_id, role, custom_roles)
    scopes = frozenset(Permission(p) for p in granted if p in ALL_PERMISSIONS)
    # A key's context without its creator's role holds nothing: fail closed.
    creator_role = membership.get("creator_role")
    return scopes & _role_permissions(tenant_id, str(creator_role), custom_roles) if creator_role else frozenset()


def _role_permissions(tenant_id: str, role: str, custom_roles: CustomRoles | None) -> frozenset[Permission]:
    if role in ROLE_PERMISSIONS:
        return ROLE_PERMISSIONS[role]
    found = custom_roles.permissions_of(tenant_id, role) if custom_roles else None
    # A member whose custom role was deleted meanwhile holds nothing until given another role.
    return found or frozenset()
