"""Key building: tenant partitions from a checked tenant context, platform partitions by kind."""

from __future__ import annotations

import pytest
from ulid import ULID

from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import platform_pk, tenant_pk

NOT_TENANT_IDS = pytest.mark.parametrize("tenant_id", ["acme#admin", "acme/other", "", "a" * 65, "acme corp"],
                                         ids=["hash", "slash", "empty", "65-chars", "space"])


@NOT_TENANT_IDS
def test_a_tenant_context_refuses_an_id_that_could_break_out_of_its_key(tenant_id: str) -> None:
    # Given / When a context is made for an id with a key separator, none at all, or too long
    # Then it is refused
    with pytest.raises(ValueError, match="not a tenant id"):
        TenantContext(tenant_id)


@NOT_TENANT_IDS
def test_a_tenant_partition_key_refuses_the_same_ids(tenant_id: str) -> None:
    # Given / When a partition key is built from such an id
    # Then it is refused
    with pytest.raises(ValueError, match="not a tenant id"):
        tenant_pk(tenant_id)


@pytest.mark.parametrize("tenant_id", [str(ULID()), "a" * 64, "acme-corp_2"], ids=["ulid", "64-chars", "slug"])
def test_a_tenant_context_takes_ulids_and_slugs(tenant_id: str) -> None:
    # Given / When a context is made for a ULID or a slug of up to 64 characters
    context = TenantContext(tenant_id)

    # Then its partition key is TENANT#<id>
    assert context.pk == f"TENANT#{tenant_id}"


def test_a_tenant_context_refuses_an_id_with_a_trailing_newline() -> None:
    # Given / When a context is made for an id followed by a newline
    # Then it is refused
    with pytest.raises(ValueError, match="not a tenant id"):
        TenantContext("acme\n")


def test_a_tenant_context_acts_as_system_unless_told() -> None:
    # Given / When a context is made with only a tenant id
    context = TenantContext("acme")

    # Then its principal and role are "system"
    assert (context.principal, context.role) == ("system", "system")


def test_a_tenant_context_cannot_be_retargeted() -> None:
    # Given a context of tenant acme
    context = TenantContext("acme")

    # When its tenant is changed
    # Then the change is refused
    with pytest.raises(AttributeError):
        context.tenant_id = "other"  # type: ignore[misc]


def test_a_tenant_partition_key_begins_with_tenant() -> None:
    # Given / When a tenant partition key is built / Then it is TENANT#<id>
    assert tenant_pk("acme") == "TENANT#acme"


def test_a_platform_partition_key_begins_with_platform() -> None:
    # Given / When a platform partition key is built / Then it is PLATFORM#<kind>
    assert platform_pk("CATALOG") == "PLATFORM#CATALOG"
