"""Key building. Every tenant-owned partition key begins with ``TENANT#<tenant_id>``;
platform-owned ones with ``PLATFORM#``. Keys come from a context, never from request input.
"""

from __future__ import annotations

import hashlib

# The tenant's partition key is the kernel's isolation rule; the store builds every other key beside it.
from wrapper.kernel.tenant import TENANT_PREFIX as TENANT_PREFIX
from wrapper.kernel.tenant import tenant_pk as tenant_pk

PLATFORM_PREFIX = "PLATFORM#"


def platform_pk(kind: str) -> str:
    return f"{PLATFORM_PREFIX}{kind}"


def digest(value: str) -> str:
    """The SHA-256 of a secret or a caller's value, in hex: what keys hold instead of the value.
    A token or key carrying 128+ random bits needs no salt or stretching."""
    return hashlib.sha256(value.encode()).hexdigest()
