"""Custom roles: holder-count operations, request models and the listing order."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from wrapper.kernel.errors import InvalidInput
from wrapper.store.schema import role_sk, tenant_pk
from wrapper.tenancy.roles import NewRole, Roles, RoleUpdate


class _Items:
    """Just enough of ``Table`` for lookups: a dict of items by key."""

    def __init__(self, items: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.items = items

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
        return self.items.get((pk, sk))


def _roles(**items: list[str]) -> Roles:
    stored = {(tenant_pk("acme"), role_sk(name)): {"name": name, "permissions": perms} for name, perms in items.items()}
    return Roles(_Items(stored), outbox_ttl_days=7)  # type: ignore[arg-type]


def test_built_in_roles_need_no_holder_count() -> None:
    roles = _roles()
    assert roles.gain_ops("acme", "admin") == [] and roles.loss_ops("acme", "viewer") == []


def test_taking_a_custom_role_adds_one_holder_only_if_the_role_exists() -> None:
    (operation,) = _roles().gain_ops("acme", "support")
    update = operation["Update"]
    assert update["Key"] == {"PK": {"S": tenant_pk("acme")}, "SK": {"S": role_sk("support")}}
    assert update["UpdateExpression"] == "ADD holders :d"
    assert update["ConditionExpression"] == "attribute_exists(PK)"
    assert update["ExpressionAttributeValues"] == {":d": {"N": "1"}}


def test_giving_a_custom_role_up_removes_one_holder() -> None:
    (operation,) = _roles().loss_ops("acme", "support")
    assert operation["Update"]["ExpressionAttributeValues"] == {":d": {"N": "-1"}}


def test_a_role_resolves_to_built_in_or_custom_permissions() -> None:
    roles = _roles(support=["members:read", "no-such-permission"])
    assert roles.permissions_for("acme", "support") == {"members:read"}
    assert "tenant:delete" in roles.permissions_for("acme", "owner")
    with pytest.raises(InvalidInput):
        roles.permissions_for("acme", "emperor")


@pytest.mark.parametrize("body", [{}, {"name": "x"}, {"permissions": ["usage:read"]},
                                  {"name": "x", "permissions": "usage:read"},
                                  {"name": "x", "permissions": ["usage:read"], "extra": 1},
                                  {"name": 5, "permissions": ["usage:read"]},
                                  {"name": "x", "permissions": ["usage:read"], "description": "d" * 201}])
def test_bad_new_roles_are_refused_by_the_model(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NewRole.model_validate(body)


@pytest.mark.parametrize("body", [{}, {"permissions": None}, {"name": "renamed"}, {"permissions": [1]}])
def test_bad_role_changes_are_refused_by_the_model(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RoleUpdate.model_validate(body)


def test_a_role_change_may_clear_the_description() -> None:
    change = RoleUpdate.model_validate({"description": None})
    assert change.model_dump(exclude_unset=True) == {"description": None}
