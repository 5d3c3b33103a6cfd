"""Key building. Every tenant-owned partition key begins with ``TENANT#<tenant_id>``;
platform-owned ones with ``PLATFORM#``. Keys come from a context, never from request input.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

TENANT_PREFIX = "TENANT#"
PLATFORM_PREFIX = "PLATFORM#"
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


def platform_pk(kind: str) -> str:
    return f"{PLATFORM_PREFIX}{kind}"


def digest(value: str) -> str:
    """The SHA-256 of a secret or a caller's value, in hex: what keys hold instead of the value.
    A token or key carrying 128+ random bits needs no salt or stretching."""
    return hashlib.sha256(value.encode()).hexdigest()
