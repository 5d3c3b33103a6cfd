"""A tenant's custom roles: ``TENANT#<t>`` / ``ROLE#<name>``.

| item | PK | SK |
|---|---|---|
| a custom role {name, permissions, description, holders, version} | `TENANT#<t>` | `ROLE#<name>` |
| how many custom roles the tenant has {count} | `TENANT#<t>` | `ROLECOUNT` |

``holders`` is exact: every transaction that gives a member a custom role adds 1 to it on the
condition that the role still exists (so a deleted role cannot be handed out), every one that
takes it away subtracts 1, and deleting a role is conditioned on ``holders = 0``.

Choices: built-in roles cannot be changed or deleted (422, they are not data); a role can be
changed or deleted only by someone holding every permission it has, before and after the
change; a tenant has at most ``MAX_CUSTOM_ROLES`` custom roles (409 past it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from wrapper.events.catalog import EventType
from wrapper.events.envelope import audit_fields, new_event
from wrapper.events.outbox import write_with_outbox
from wrapper.kernel import clock
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound
from wrapper.kernel.model import Model
from wrapper.kernel.pagination import Page
from wrapper.kernel.permissions import (
    ALL_PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
    built_in_roles,
    ensure_can_assign,
    validate_custom_role,
)
from wrapper.kernel.timestamps import iso_z
from wrapper.store.schema import ROLE_COUNT_SK, ROLE_PREFIX, role_sk, tenant_pk
from wrapper.store.table import Item, Table, WriteRefused, delete_op, put_op, to_dynamo, update_op

MAX_CUSTOM_ROLES = 50
ROLE_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,31}$"

PermissionNames = Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=64)]],
                            Field(max_length=len(Permission))]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class RoleView(Model):
    name: str
    permissions: list[str]
    description: str | None = None
    built_in: bool
    members: int | None = None


class NewRole(Model):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    permissions: PermissionNames
    description: Description | None = None


class RoleUpdate(Model):
    model_config = ConfigDict(extra="forbid")
    permissions: PermissionNames | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> RoleUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of permissions, description")
        if "permissions" in self.model_fields_set and self.permissions is None:
            raise ValueError("permissions cannot be null")
        return self


class Roles:
    def __init__(self, table: Table, *, outbox_ttl_days: int) -> None:
        self.table = table
        self.outbox_ttl_days = outbox_ttl_days

    # ------------------------------------------------------------------ lookups
    def permissions_of(self, tenant_id: str, role_name: str) -> frozenset[Permission] | None:
        item = self.table.get(tenant_pk(tenant_id), role_sk(role_name))
        if item is None:
            return None
        return _permissions(item)

    def permissions_for(self, tenant_id: str, role_name: str) -> frozenset[Permission]:
        """A built-in or custom role's permissions; ``InvalidInput`` for a role the tenant lacks."""
        if role_name in ROLE_PERMISSIONS:
            return ROLE_PERMISSIONS[role_name]
        found = self.permissions_of(tenant_id, role_name)
        if found is None:
            raise InvalidInput(f"unknown role: {role_name!r}", errors=[{"field": "role", "message": "no such role"}])
        return found

    # ------------------------------------------------------------------ holders
    def gain_ops(self, tenant_id: str, role_name: str) -> list[dict[str, Any]]:
        """Operations for a member taking ``role_name``: the role must still exist."""
        return self._holders_ops(tenant_id, role_name, +1)

    def loss_ops(self, tenant_id: str, role_name: str) -> list[dict[str, Any]]:
        """Operations for a member giving ``role_name`` up."""
        return self._holders_ops(tenant_id, role_name, -1)

    def _holders_ops(self, tenant_id: str, role_name: str, delta: int) -> list[dict[str, Any]]:
        if role_name in ROLE_PERMISSIONS:
            return []
        # attribute_exists: ADD on a missing key would create a ghost role instead of failing.
        return [update_op(tenant_pk(tenant_id), role_sk(role_name), update="ADD holders :d",
                          condition="attribute_exists(PK)", values={":d": delta})]

    # ------------------------------------------------------------------ the API
    def page(self, actor: Actor) -> Page[RoleView]:
        actor.require(Permission.ROLES_READ)
        custom = [_view(i) for i in self._custom_items(actor.tenant.tenant_id)]
        built_in = [RoleView(name=r.name, permissions=_ordered(r.permissions), built_in=True)
                    for r in built_in_roles()]
        return Page[RoleView](items=built_in + custom, next_cursor=None)

    def create(self, actor: Actor, request: NewRole) -> RoleView:
        actor.require(Permission.ROLES_WRITE)
        role = validate_custom_role(request.name, request.permissions, actor_permissions=actor.permissions)
        pk = actor.tenant.pk
        now = _now()
        item: Item = {"PK": pk, "SK": role_sk(role.name), "record_type": "role", "name": role.name,
                      "permissions": _ordered(role.permissions), "description": request.description,
                      "holders": 0, "version": 1, "created_at": now, "updated_at": now}
        operations = [
            put_op(item, condition="attribute_not_exists(PK)"),
            update_op(pk, ROLE_COUNT_SK, update="ADD #n :one SET record_type = :t",
                      condition="attribute_not_exists(#n) OR #n < :cap", names={"#n": "count"},
                      values={":one": 1, ":cap": MAX_CUSTOM_ROLES, ":t": "role_count"}),
        ]
        event = new_event(EventType.ROLE_CREATED, actor.tenant.tenant_id, {
            **audit_fields(actor.user_id, role.name, actor.request_meta), "permissions": item["permissions"]})
        refused = self._write(operations, event)
        if refused is not None:
            if refused.failed_at(0):
                raise Conflict(f"A role named {role.name!r} already exists.")
            if refused.failed_at(1):
                raise Conflict(f"A tenant has at most {MAX_CUSTOM_ROLES} custom roles; delete one first.")
            raise Conflict("The roles changed meanwhile; retry.")
        return _view(item)

    def update(self, actor: Actor, role_name: str, change: RoleUpdate) -> RoleView:
        actor.require(Permission.ROLES_WRITE)
        current = self._custom_item(actor.tenant.tenant_id, role_name)
        # Changing a role changes what its holders may do: only someone above it, before and after.
        ensure_can_assign(actor.permissions, _permissions(current))
        fields = change.model_dump(exclude_unset=True)
        permissions = _ordered(_permissions(current))
        if "permissions" in fields:
            permissions = _ordered(validate_custom_role(role_name, fields["permissions"],
                                                        actor_permissions=actor.permissions).permissions)
        description = fields.get("description", current.get("description"))
        version = int(current["version"])
        updated: Item = {**current, "permissions": permissions, "description": description,
                         "version": version + 1, "updated_at": _now()}
        # An update, not a put: member changes add to ``holders`` meanwhile and must not be overwritten.
        values: dict[str, Any] = {":p": permissions, ":next": version + 1, ":at": updated["updated_at"],
                                  ":v": version}
        update = "SET #p = :p, version = :next, updated_at = :at"
        if description is None:
            update += " REMOVE description"
        else:
            update += ", description = :d"
            values[":d"] = description
        operation = update_op(actor.tenant.pk, role_sk(role_name), update=update,
                              condition="version = :v", names={"#p": "permissions"}, values=values)
        event = new_event(EventType.ROLE_UPDATED, actor.tenant.tenant_id, {
            **audit_fields(actor.user_id, role_name, actor.request_meta), "permissions": permissions,
            "fields": sorted(fields)})
        if self._write([operation], event) is not None:
            raise Conflict("The role changed meanwhile; read it again and retry.")
        return _view(updated)

    def delete(self, actor: Actor, role_name: str) -> None:
        actor.require(Permission.ROLES_WRITE)
        current = self._custom_item(actor.tenant.tenant_id, role_name)
        ensure_can_assign(actor.permissions, _permissions(current))
        if int(current.get("holders", 0)) != 0:
            raise Conflict(_still_held(current))
        pk = actor.tenant.pk
        operations = [
            _delete_if(pk, role_sk(role_name), condition="attribute_exists(PK) AND holders = :zero",
                       values={":zero": 0}),
            update_op(pk, ROLE_COUNT_SK, update="ADD #n :minus", condition="#n > :zero", names={"#n": "count"},
                      values={":minus": -1, ":zero": 0}),
        ]
        event = new_event(EventType.ROLE_DELETED, actor.tenant.tenant_id, {
            **audit_fields(actor.user_id, role_name, actor.request_meta),
            "permissions": _ordered(_permissions(current))})
        if self._write(operations, event) is not None:
            now = self.table.get(pk, role_sk(role_name))
            if now is None:
                raise NotFound("No such role in this tenant.")
            raise Conflict(_still_held(now))

    # ------------------------------------------------------------------ helpers
    def _custom_item(self, tenant_id: str, role_name: str) -> Item:
        if role_name in ROLE_PERMISSIONS:
            raise InvalidInput(f"{role_name!r} is a built-in role; built-in roles cannot be changed or deleted.",
                               errors=[{"field": "role_name", "message": "is a built-in role"}])
        item = self.table.get(tenant_pk(tenant_id), role_sk(role_name))
        if item is None:
            raise NotFound("No such role in this tenant.")
        return item

    def _custom_items(self, tenant_id: str) -> list[Item]:
        found: list[Item] = []
        start: dict[str, Any] | None = None
        while True:
            items, start = self.table.query(tenant_pk(tenant_id), sk_prefix=ROLE_PREFIX, limit=100,
                                            start_key=start)
            found.extend(items)
            if not start:
                return found

    def _write(self, operations: list[dict[str, Any]], event: Any) -> WriteRefused | None:
        """Commit; answer the refusal (which conditions failed) instead of raising it."""
        try:
            write_with_outbox(self.table, operations, [event], ttl_days=self.outbox_ttl_days)
        except WriteRefused as refused:
            return refused
        return None


def _delete_if(pk: str, sk: str, *, condition: str, values: dict[str, Any]) -> dict[str, Any]:
    """``delete_op`` with condition values (it takes none)."""
    operation = delete_op(pk, sk, condition=condition)
    operation["Delete"]["ExpressionAttributeValues"] = to_dynamo(values)
    return operation


def _permissions(item: Item) -> frozenset[Permission]:
    return frozenset(Permission(p) for p in item.get("permissions", []) if p in ALL_PERMISSIONS)


def _ordered(permissions: Iterable[str]) -> list[str]:
    """In the matrix's order, so lists and events read the same everywhere."""
    held = set(permissions)
    return [p.value for p in Permission if p in held]


def _view(item: Item) -> RoleView:
    return RoleView(name=str(item["name"]), permissions=_ordered(_permissions(item)),
                    description=item.get("description"), built_in=False, members=int(item.get("holders", 0)))


def _still_held(item: Item) -> str:
    return (f"The role is held by {int(item.get('holders', 0))} member(s); give them another role first.")


def _now() -> str:
    return iso_z(clock.now())
