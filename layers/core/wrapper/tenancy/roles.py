"""A tenant's custom roles: ``TENANT#<t>`` / ``ROLE#<name>``.

(Listing, creating, changing and deleting them: #3, in progress.)
"""

from __future__ import annotations

from wrapper.store.keys import tenant_pk
from wrapper.store.table import Table
from wrapper.tenancy.permissions import ALL_PERMISSIONS, Permission

ROLE_PREFIX = "ROLE#"


class Roles:
    def __init__(self, table: Table, *, outbox_ttl_days: int) -> None:
        self.table = table
        self.outbox_ttl_days = outbox_ttl_days

    def permissions_of(self, tenant_id: str, role_name: str) -> frozenset[Permission] | None:
        item = self.table.get(tenant_pk(tenant_id), f"{ROLE_PREFIX}{role_name}")
        if item is None:
            return None
        return frozenset(Permission(p) for p in item.get("permissions", []) if p in ALL_PERMISSIONS)
