"""A tenant's members: list them, change a role, remove one or leave.

Every change is one transaction: both membership items (``TENANT#<t>/MEMBER#<u>`` and the
user's own ``PLATFORM#USER#<u>/TENANT#<t>``), a check that every other owner is still an owner
(so two owners demoting each other at once cannot leave the tenant ownerless), the custom
roles' ``holders`` counts, and the event. Removing a member also takes them out of every
organization unit; the member item's removal is conditioned on the role and unit count read,
so a concurrent role change or unit assignment makes it fail rather than leave counts wrong.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, StringConstraints

from wrapper.events.catalog import EventType
from wrapper.events.envelope import audit_fields, new_event
from wrapper.events.outbox import write_with_outbox
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import Conflict, NotFound
from wrapper.kernel.model import Model
from wrapper.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from wrapper.kernel.permissions import (
    ROLE_PERMISSIONS,
    BuiltInRole,
    MemberChange,
    Permission,
    ensure_can_assign,
    ensure_can_manage_member,
    ensure_owner_remains,
)
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import MEMBER_PREFIX, member_sk, membership_sk, user_pk
from wrapper.store.table import Item, Table, WriteRefused, check_op, delete_op, put_op, to_dynamo, update_op
from wrapper.tenancy.organizations import Organizations
from wrapper.tenancy.roles import Roles


class Member(Model):
    user_id: str
    email: str | None = None
    role: str
    joined_at: str | None = None


class RoleChange(Model):
    model_config = ConfigDict(extra="forbid")
    role: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class Members:
    def __init__(self, table: Table, *, outbox_ttl_days: int) -> None:
        self.table = table
        self.outbox_ttl_days = outbox_ttl_days
        self.roles = Roles(table, outbox_ttl_days=outbox_ttl_days)
        self.organizations = Organizations(table, outbox_ttl_days=outbox_ttl_days)

    def page(self, actor: Actor, *, limit: int | None, cursor: str | None) -> Page[Member]:
        actor.require(Permission.MEMBERS_READ)
        pk = actor.tenant.pk
        items, last = self.table.query(pk, sk_prefix=MEMBER_PREFIX, limit=clamp_limit(limit),
                                       start_key=decode_cursor(cursor, partition_key=pk))
        return Page[Member](items=[_member(i) for i in items], next_cursor=encode_cursor(last))

    def change_role(self, actor: Actor, user_id: str, change: RoleChange) -> Member:
        actor.require(Permission.MEMBERS_WRITE)
        tenant_id = actor.tenant.tenant_id
        members = self._all(actor.tenant)
        target = members.get(user_id)
        if target is None:
            raise NotFound("No such member in this tenant.")
        old_role = str(target["role"])
        new_permissions = self.roles.permissions_for(tenant_id, change.role)
        ensure_can_manage_member(actor.permissions, self._held(tenant_id, old_role))
        ensure_can_assign(actor.permissions, new_permissions)
        roles = {u: str(m["role"]) for u, m in members.items()}
        ensure_owner_remains(roles, MemberChange.set_role(user_id, change.role))
        updated = {**target, "role": change.role}
        link = self.table.get(user_pk(user_id), membership_sk(tenant_id)) or {}
        operations = [
            # An update, not a put: unit assignments change org_count on this item meanwhile.
            update_op(actor.tenant.pk, member_sk(user_id), update="SET #r = :new", condition="#r = :old",
                      names={"#r": "role"}, values={":new": change.role, ":old": old_role}),
            put_op({**link, "PK": user_pk(user_id), "SK": membership_sk(tenant_id),
                    "tenant_id": tenant_id, "role": change.role}),
            *self._other_owners_stay(actor.tenant, roles, user_id),
        ]
        if change.role != old_role:
            operations += [*self._release(tenant_id, old_role), *self.roles.gain_ops(tenant_id, change.role)]
        event = new_event(EventType.MEMBER_ROLE_CHANGED, tenant_id, {
            **audit_fields(actor.user_id, user_id, actor.request_meta), "from": old_role, "to": change.role})
        self._write(operations, event)
        return _member(updated)

    def remove(self, actor: Actor, user_id: str) -> None:
        """Remove a member, or leave (a member removing themself needs no permission)."""
        leaving = user_id == actor.user_id
        tenant_id = actor.tenant.tenant_id
        members = self._all(actor.tenant)
        target = members.get(user_id)
        if not leaving:
            actor.require(Permission.MEMBERS_WRITE)
        if target is None:
            raise NotFound("No such member in this tenant.")
        role = str(target["role"])
        if not leaving:
            ensure_can_manage_member(actor.permissions, self._held(tenant_id, role))
        roles = {u: str(m["role"]) for u, m in members.items()}
        ensure_owner_remains(roles, MemberChange.leave(user_id) if leaving else MemberChange.remove(user_id))
        unit_ops, units = self.organizations.removal_ops(actor.tenant, user_id)
        values: dict[str, Any] = {":role": role}
        condition = "attribute_exists(PK) AND #r = :role AND "
        if units:
            condition += "org_count = :units"
            values[":units"] = units
        else:
            condition += "(attribute_not_exists(org_count) OR org_count = :units)"
            values[":units"] = 0
        member_gone = delete_op(actor.tenant.pk, member_sk(user_id), condition=condition)
        member_gone["Delete"].update(ExpressionAttributeNames={"#r": "role"},
                                     ExpressionAttributeValues=to_dynamo(values))
        operations = [
            member_gone,
            delete_op(user_pk(user_id), membership_sk(tenant_id)),
            *self._other_owners_stay(actor.tenant, roles, user_id),
            *self._release(tenant_id, role),
            *unit_ops,
        ]
        event = new_event(EventType.MEMBER_REMOVED, tenant_id, {
            **audit_fields(actor.user_id, user_id, actor.request_meta), "left": leaving})
        self._write(operations, event)

    def _held(self, tenant_id: str, role: str) -> frozenset[Permission]:
        """What a member's current role grants; nothing if its custom role is gone."""
        if role in ROLE_PERMISSIONS:
            return ROLE_PERMISSIONS[role]
        return self.roles.permissions_of(tenant_id, role) or frozenset()

    def _release(self, tenant_id: str, role: str) -> list[dict[str, Any]]:
        # A custom role deleted before holders were counted has no count to lower.
        if role not in ROLE_PERMISSIONS and self.roles.permissions_of(tenant_id, role) is None:
            return []
        return self.roles.loss_ops(tenant_id, role)

    def _all(self, tenant: TenantContext) -> dict[str, Item]:
        members: dict[str, Item] = {}
        start: dict[str, Any] | None = None
        while True:
            items, start = self.table.query(tenant.pk, sk_prefix=MEMBER_PREFIX, limit=100, start_key=start)
            members.update({str(i["user_id"]): i for i in items})
            if not start:
                return members

    def _other_owners_stay(self, tenant: TenantContext, roles: dict[str, str], changed: str) -> list[dict[str, Any]]:
        return [check_op(tenant.pk, member_sk(user), condition="#r = :owner", names={"#r": "role"},
                         values={":owner": BuiltInRole.OWNER.value})
                for user, role in roles.items() if role == BuiltInRole.OWNER and user != changed]

    def _write(self, operations: list[dict[str, Any]], event: Any) -> None:
        try:
            write_with_outbox(self.table, operations, [event], ttl_days=self.outbox_ttl_days)
        except WriteRefused:
            raise Conflict("The members changed meanwhile; read them again and retry.") from None


def _member(item: Item) -> Member:
    return Member(user_id=str(item["user_id"]), email=item.get("email"), role=str(item["role"]),
                  joined_at=item.get("joined_at"))
