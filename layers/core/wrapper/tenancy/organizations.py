"""A tenant's organization units: a tree (departments, teams, ...) and who belongs to which unit.

| item | PK | SK |
|---|---|---|
| a unit {org_id, name, parent_id, member_count, created_at, version} | `TENANT#<t>` | `ORG#<org_id>` |
| the tree's shape {version, parents: {org_id: parent_id or null}} | `TENANT#<t>` | `ORGTREE` |
| a member's place in a unit | `TENANT#<t>` | `ORGMEMBER#<user_id>#<org_id>` |

The tree item is read with one consistent GetItem and rewritten, conditioned on the version
read, by every structural change (create, move, delete): a move checked for cycles against
the tree it read cannot race another structural change. Renaming a unit is not structural
and only bumps the unit's own version. ``member_count`` on a unit and ``org_count`` on the
member's ``MEMBER#`` item change in the same transaction as the assignment, so a unit with
members cannot be deleted and a removed member cannot be assigned.

Limits and answers: at most ``MAX_UNITS`` units per tenant (409), at most ``MAX_DEPTH``
levels (a root is level 1; 422), at most ``MAX_UNITS_PER_MEMBER`` units per member (409, it
keeps removing a member within one transaction). Moving a unit under itself or one of its
descendants is 409; an unknown parent is 422; deleting a unit with child units or members
is 409. Assigning needs ``organizations:write``; assigning again changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import ConfigDict, StringConstraints, computed_field, model_validator
from ulid import ULID

from wrapper.events.catalog import EventType
from wrapper.events.envelope import EventEnvelope, audit_fields, new_event
from wrapper.events.outbox import write_with_outbox
from wrapper.kernel import clock
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound
from wrapper.kernel.model import Model
from wrapper.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from wrapper.kernel.permissions import Permission
from wrapper.kernel.tenant import TenantContext
from wrapper.kernel.timestamps import iso_z
from wrapper.store.schema import (
    ORG_PREFIX,
    ORG_TREE_SK,
    member_sk,
    org_assignment_sk,
    org_assignments_prefix,
    org_sk,
)
from wrapper.store.table import Item, Table, WriteRefused, delete_op, put_op, to_dynamo, update_op

MAX_UNITS = 1000
MAX_DEPTH = 10
MAX_UNITS_PER_MEMBER = 20
ORG_ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"

OrgId = Annotated[str, StringConstraints(pattern=ORG_ID_PATTERN)]
UnitName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Parents = Mapping[str, str | None]


# ---------------------------------------------------------------------- the tree, pure

def depth_of(parents: Parents, org_id: str) -> int:
    """A unit's level: 1 for a root."""
    depth, current = 1, parents[org_id]
    while current is not None:
        depth += 1
        current = parents[current]
    return depth


def descendants(parents: Parents, org_id: str) -> set[str]:
    children: dict[str, list[str]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found: set[str] = set()
    pending = list(children.get(org_id, []))
    while pending:
        unit = pending.pop()
        found.add(unit)
        pending.extend(children.get(unit, []))
    return found


def height_of(parents: Parents, org_id: str) -> int:
    """How many levels a unit and the units under it span: 1 for a leaf."""
    below = descendants(parents, org_id)
    return 1 + max((depth_of(parents, u) - depth_of(parents, org_id) for u in below), default=0)


def ensure_can_add(parents: Parents, parent_id: str | None) -> None:
    if len(parents) >= MAX_UNITS:
        raise Conflict(f"A tenant has at most {MAX_UNITS} organization units.")
    if parent_id is None:
        return
    _ensure_parent_exists(parents, parent_id)
    if depth_of(parents, parent_id) + 1 > MAX_DEPTH:
        raise _too_deep()


def ensure_can_move(parents: Parents, org_id: str, new_parent: str | None) -> None:
    if new_parent is None:
        return
    _ensure_parent_exists(parents, new_parent)
    if new_parent == org_id or new_parent in descendants(parents, org_id):
        raise Conflict("A unit cannot move under itself or one of its own units.")
    if depth_of(parents, new_parent) + height_of(parents, org_id) > MAX_DEPTH:
        raise _too_deep()


def ensure_can_remove(parents: Parents, org_id: str) -> None:
    if any(parent == org_id for parent in parents.values()):
        raise Conflict("The unit has units under it; move or delete them first.")


def _ensure_parent_exists(parents: Parents, parent_id: str) -> None:
    if parent_id not in parents:
        raise InvalidInput("No such parent unit.", errors=[{"field": "parent_id", "message": "no such unit"}])


def _too_deep() -> InvalidInput:
    return InvalidInput(f"The tree is at most {MAX_DEPTH} levels deep.",
                        errors=[{"field": "parent_id", "message": f"more than {MAX_DEPTH} levels"}])


# ---------------------------------------------------------------------- models

class Organization(Model):
    org_id: str
    name: str
    parent_id: str | None = None
    member_count: int
    created_at: str
    updated_at: str | None = None
    version: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """The unit's id, named as on plans, prices and API keys; `org_id` carries the same value."""
        return self.org_id


class NewOrganization(Model):
    model_config = ConfigDict(extra="forbid")
    name: UnitName
    parent_id: OrgId | None = None


class OrganizationUpdate(Model):
    """``parent_id: null`` makes the unit a root; leaving it out keeps the unit where it is."""

    model_config = ConfigDict(extra="forbid")
    name: UnitName | None = None
    parent_id: OrgId | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> OrganizationUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, parent_id")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        return self


class OrganizationMember(Model):
    org_id: str
    user_id: str
    assigned_at: str


# ---------------------------------------------------------------------- data and rules

class Organizations:
    def __init__(self, table: Table, *, outbox_ttl_days: int) -> None:
        self.table = table
        self.outbox_ttl_days = outbox_ttl_days

    def page(self, actor: Actor, *, limit: int | None, cursor: str | None) -> Page[Organization]:
        actor.require(Permission.ORGANIZATIONS_READ)
        pk = actor.tenant.pk
        items, last = self.table.query(pk, sk_prefix=ORG_PREFIX, limit=clamp_limit(limit),
                                       start_key=decode_cursor(cursor, partition_key=pk))
        return Page[Organization](items=[_organization(i) for i in items], next_cursor=encode_cursor(last))

    def create(self, actor: Actor, request: NewOrganization) -> Organization:
        actor.require(Permission.ORGANIZATIONS_WRITE)
        version, parents = self._tree(actor.tenant)
        ensure_can_add(parents, request.parent_id)
        org_id = str(ULID())
        now = _now()
        item: Item = {"PK": actor.tenant.pk, "SK": org_sk(org_id), "record_type": "organization",
                      "org_id": org_id, "name": request.name, "parent_id": request.parent_id, "member_count": 0,
                      "created_at": now, "updated_at": now, "version": 1}
        operations = [put_op(item, condition="attribute_not_exists(PK)"),
                      self._tree_op(actor.tenant, version, {**parents, org_id: request.parent_id})]
        self._commit(operations, self._event(EventType.ORGANIZATION_CREATED, actor, org_id, {
            "name": request.name, "parent_id": request.parent_id}))
        return _organization(item)

    def update(self, actor: Actor, org_id: str, change: OrganizationUpdate) -> Organization:
        actor.require(Permission.ORGANIZATIONS_WRITE)
        # The tree first: a unit listed after it is at least as new as the version we condition on.
        tree_version, parents = self._tree(actor.tenant)
        current = self._unit(actor.tenant, org_id)
        fields = change.model_dump(exclude_unset=True)
        moving = "parent_id" in fields and fields["parent_id"] != current.get("parent_id")
        if moving:
            ensure_can_move(parents, org_id, fields["parent_id"])
        version = int(current["version"])
        updated: Item = {**current, **fields, "version": version + 1, "updated_at": _now()}
        names = {"#n": "name", "#p": "parent_id"}
        values: dict[str, Any] = {":n": updated["name"], ":next": version + 1, ":at": updated["updated_at"],
                                  ":v": version}
        update = "SET #n = :n, version = :next, updated_at = :at"
        if updated.get("parent_id") is None:
            update += " REMOVE #p"
        else:
            update += ", #p = :p"
            values[":p"] = updated["parent_id"]
        operations = [update_op(actor.tenant.pk, org_sk(org_id), update=update,
                                condition="version = :v", names=names, values=values)]
        if moving:
            operations.append(self._tree_op(actor.tenant, tree_version, {**parents, org_id: fields["parent_id"]}))
        self._commit(operations, self._event(EventType.ORGANIZATION_UPDATED, actor, org_id, {
            "fields": sorted(fields), "name": updated["name"], "parent_id": updated.get("parent_id"),
            "previous_parent_id": current.get("parent_id")}))
        return _organization(updated)

    def delete(self, actor: Actor, org_id: str) -> None:
        actor.require(Permission.ORGANIZATIONS_WRITE)
        tree_version, parents = self._tree(actor.tenant)
        current = self._unit(actor.tenant, org_id)
        ensure_can_remove(parents, org_id)
        if int(current.get("member_count", 0)) > 0:
            raise Conflict("The unit has members; take them out of it first.")
        remaining = {unit: parent for unit, parent in parents.items() if unit != org_id}
        gone = delete_op(actor.tenant.pk, org_sk(org_id),
                         condition="attribute_exists(PK) AND member_count = :zero")
        gone["Delete"]["ExpressionAttributeValues"] = to_dynamo({":zero": 0})
        self._commit([gone, self._tree_op(actor.tenant, tree_version, remaining)],
                     self._event(EventType.ORGANIZATION_DELETED, actor, org_id, {
                         "name": current["name"], "parent_id": current.get("parent_id")}))

    # ------------------------------------------------------------------ members of units
    def assign(self, actor: Actor, org_id: str, user_id: str) -> OrganizationMember:
        """Put a member in a unit; doing it again answers the same assignment and writes nothing."""
        actor.require(Permission.ORGANIZATIONS_WRITE)
        pk = actor.tenant.pk
        member = self.table.get(pk, member_sk(user_id))
        if member is None:
            raise NotFound("No such member in this tenant.")
        self._unit(actor.tenant, org_id)
        existing = self.table.get(pk, org_assignment_sk(user_id, org_id))
        if existing is not None:
            return _assignment(existing)
        if int(member.get("org_count", 0)) >= MAX_UNITS_PER_MEMBER:
            raise Conflict(f"A member belongs to at most {MAX_UNITS_PER_MEMBER} units.")
        item: Item = {"PK": pk, "SK": org_assignment_sk(user_id, org_id), "record_type": "org_member",
                      "org_id": org_id, "user_id": user_id, "assigned_at": _now()}
        operations = [
            put_op(item, condition="attribute_not_exists(PK)"),
            update_op(pk, org_sk(org_id), update="ADD member_count :one",
                      condition="attribute_exists(PK)", values={":one": 1}),
            update_op(pk, member_sk(user_id), update="ADD org_count :one",
                      condition="attribute_exists(PK) AND (attribute_not_exists(org_count) OR org_count < :cap)",
                      values={":one": 1, ":cap": MAX_UNITS_PER_MEMBER}),
        ]
        event = self._event(EventType.MEMBER_ORGANIZATIONS_CHANGED, actor, user_id, {
            "org_id": org_id, "change": "assigned"})
        try:
            self._commit(operations, event)
        except Conflict:
            # A concurrent PUT of the same assignment won: the answer is the same.
            won = self.table.get(pk, org_assignment_sk(user_id, org_id))
            if won is not None:
                return _assignment(won)
            if self.table.get(pk, member_sk(user_id)) is None:
                raise NotFound("No such member in this tenant.") from None
            self._unit(actor.tenant, org_id)
            raise
        return _assignment(item)

    def unassign(self, actor: Actor, org_id: str, user_id: str) -> None:
        actor.require(Permission.ORGANIZATIONS_WRITE)
        pk = actor.tenant.pk
        if self.table.get(pk, org_assignment_sk(user_id, org_id)) is None:
            raise NotFound("This member is not in that unit.")
        operations = [
            delete_op(pk, org_assignment_sk(user_id, org_id), condition="attribute_exists(PK)"),
            *self._leave_ops(actor.tenant, org_id),
            update_op(pk, member_sk(user_id), update="ADD org_count :minus", condition="attribute_exists(PK)",
                      values={":minus": -1}),
        ]
        event = self._event(EventType.MEMBER_ORGANIZATIONS_CHANGED, actor, user_id, {
            "org_id": org_id, "change": "unassigned"})
        try:
            self._commit(operations, event)
        except Conflict:
            if self.table.get(pk, org_assignment_sk(user_id, org_id)) is None:
                raise NotFound("This member is not in that unit.") from None
            raise

    def removal_ops(self, tenant: TenantContext, user_id: str) -> tuple[list[dict[str, Any]], int]:
        """Operations taking a member out of every unit (for removing the member), and how many
        units that is: the caller conditions the member's removal on ``org_count`` equal to it."""
        items, _ = self.table.query(tenant.pk, sk_prefix=org_assignments_prefix(user_id),
                                    limit=MAX_UNITS_PER_MEMBER + 1)
        operations: list[dict[str, Any]] = []
        for item in items:
            operations.append(delete_op(tenant.pk, str(item["SK"]), condition="attribute_exists(PK)"))
            operations.extend(self._leave_ops(tenant, str(item["org_id"])))
        return operations, len(items)

    # ------------------------------------------------------------------ helpers
    def _tree(self, tenant: TenantContext) -> tuple[int, dict[str, str | None]]:
        item = self.table.get(tenant.pk, ORG_TREE_SK)
        if item is None:
            return 0, {}
        return int(item["version"]), {str(k): (str(v) if v else None) for k, v in item.get("parents", {}).items()}

    def _tree_op(self, tenant: TenantContext, read_version: int, parents: Mapping[str, str | None]) -> dict[str, Any]:
        tree: Item = {"PK": tenant.pk, "SK": ORG_TREE_SK, "record_type": "org_tree", "version": read_version + 1,
                      "parents": dict(parents)}
        if read_version == 0:
            return put_op(tree, condition="attribute_not_exists(PK)")
        return put_op(tree, condition="version = :v", values={":v": read_version})

    def _unit(self, tenant: TenantContext, org_id: str) -> Item:
        item = self.table.get(tenant.pk, org_sk(org_id))
        if item is None:
            raise NotFound("No such organization unit in this tenant.")
        return item

    def _leave_ops(self, tenant: TenantContext, org_id: str) -> list[dict[str, Any]]:
        return [update_op(tenant.pk, org_sk(org_id), update="ADD member_count :minus",
                          condition="attribute_exists(PK)", values={":minus": -1})]

    def _event(self, event_type: EventType, actor: Actor, target: str, data: dict[str, Any]) -> EventEnvelope:
        return new_event(event_type, actor.tenant.tenant_id,
                         {**audit_fields(actor.user_id, target, actor.request_meta), **data})

    def _commit(self, operations: list[dict[str, Any]], event: EventEnvelope) -> None:
        try:
            write_with_outbox(self.table, operations, [event], ttl_days=self.outbox_ttl_days)
        except WriteRefused:
            raise Conflict("The organization units changed meanwhile; read them again and retry.") from None


def _organization(item: Item) -> Organization:
    return Organization(org_id=str(item["org_id"]), name=str(item["name"]), parent_id=item.get("parent_id"),
                        member_count=int(item.get("member_count", 0)), created_at=str(item["created_at"]),
                        updated_at=item.get("updated_at"), version=int(item["version"]))


def _assignment(item: Item) -> OrganizationMember:
    return OrganizationMember(org_id=str(item["org_id"]), user_id=str(item["user_id"]),
                              assigned_at=str(item["assigned_at"]))


def _now() -> str:
    return iso_z(clock.now())
