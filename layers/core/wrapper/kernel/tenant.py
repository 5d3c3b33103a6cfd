"""The tenant a request acts for. Its partition-key prefix is the isolation rule every key obeys: all of a
tenant's items sit under ``TENANT#<tenant_id>``, and ``wrapper.store.schema`` builds the rest from here."""

from __future__ import annotations

import re
from dataclasses import dataclass

TENANT_PREFIX = "TENANT#"
# Tenant ids are ULIDs or slugs we mint; the shape check keeps '#' and friends out of keys.
_TENANT_ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class TenantContext:
    """Who is acting, for which tenant. Built by the authorizer, trusted by the functions."""

    tenant_id: str
    principal: str = "system"
    role: str = "system"

    def __post_init__(self) -> None:
        if not _TENANT_ID_SHAPE.fullmatch(self.tenant_id):
            raise ValueError(f"not a tenant id: {self.tenant_id!r}")

    @property
    def pk(self) -> str:
        return tenant_pk(self.tenant_id)


def tenant_pk(tenant_id: str) -> str:
    if not _TENANT_ID_SHAPE.fullmatch(tenant_id):
        raise ValueError(f"not a tenant id: {tenant_id!r}")
    return f"{TENANT_PREFIX}{tenant_id}"
