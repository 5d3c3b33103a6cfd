"""API keys: credentials for a tenant's machine clients (scripts, servers, CI).

A key reads ``wk_<id>_<secret>``: ``id`` is a lower-cased ULID (it names the key in the API and
the audit log), ``secret`` is ``secrets.token_urlsafe(32)`` (256 random bits). The whole key is
shown once, in the answer to ``POST /v1/api-keys``; only its SHA-256 is stored (256 random bits
need no slow hash).

| item | PK | SK |
|---|---|---|
| the key as its tenant sees it (no secret) | `TENANT#<t>` | `APIKEY#<id>` |
| the authorizer's lookup (TTL at its expiry) | `PLATFORM#APIKEY#<sha256(key)>` | `KEY` |

Both items and the ``api_key.created`` event are one transaction. The tenant item keeps the
digest so revoking can find the lookup item; a digest of 256 random bits gives nothing away,
and it never leaves through the API.

Scopes, not roles, say what a key may do; each scope stands for a fixed set of permissions
(``SCOPE_PERMISSIONS``), looked up by the authorizer on every request. Nobody creates a key
that holds a permission they do not hold, and a key never does more than its creator may do
now: the authorizer refuses a key whose creator is no longer a member, or who left and joined
again after making it (a key never outlives the membership it was made in), and hands the
creator's current role to the functions, which narrow the scopes to it (``wrapper.api.tenant``;
a custom role is read there, so its edits apply at once). No scope grants ``api-keys:*`` (a key cannot
mint keys) or ``audit:read``.

Revoking deletes both items (one transaction with ``api_key.revoked``): the next request with
the key is refused, and revoking the same key again is 404. There is no "revoked" state to
list. **Rotation** is create-then-revoke: create a new key, deploy it, revoke the old one.

``POST /v1/api-keys`` honours no ``Idempotency-Key``: the secret is in the first answer only,
so a replayed answer could not carry it. A retried create makes a second key, which shows in
the list and can be revoked.

``last_used_at`` is written by the authorizer at most once a minute per key (a conditional
update whose failed condition is ignored), so a busy key costs one write a minute, not one per
request.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, field_validator
from ulid import ULID

from wrapper.events.catalog import EventType
from wrapper.events.envelope import audit_fields, new_event
from wrapper.events.outbox import write_with_outbox
from wrapper.kernel.clock import EpochClock, epoch
from wrapper.kernel.errors import InvalidInput, NotFound
from wrapper.kernel.model import Model
from wrapper.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from wrapper.kernel.permissions import Permission, ensure_can_assign
from wrapper.store.schema import (
    API_KEY_LOOKUP_SK,
    APIKEY_SK_PREFIX,
    api_key_lookup_pk,
    api_key_sk,
    digest,
    tenant_pk,
)
from wrapper.store.table import Item, Table, WriteRefused, delete_op, put_op

if TYPE_CHECKING:  # the authorizer imports this module and should not load the HTTP resolver
    from wrapper.kernel.actor import Actor

KEY_PREFIX = "wk_"
# The role name API keys carry in the authorizer's context; their permissions come with it.
API_KEY_ROLE = "api-key"
# A write per key per minute at most: enough to tell a live key from a forgotten one.
LAST_USED_RESOLUTION_SECONDS = 60

_KEY_SHAPE = re.compile(r"wk_([0-9a-z]{26})_([A-Za-z0-9_-]{43})")
KEY_ID_PATTERN = r"^[0-9a-z]{26}$"


class Scope(StrEnum):
    READ = "read"
    USAGE_WRITE = "usage:write"


_P = Permission

SCOPE_PERMISSIONS: Mapping[Scope, frozenset[Permission]] = MappingProxyType({
    # Everything a viewer reads plus billing, but not who did what (audit:read) nor the keys.
    Scope.READ: frozenset({_P.TENANT_READ, _P.MEMBERS_READ, _P.ROLES_READ, _P.ORGANIZATIONS_READ,
                           _P.BILLING_READ, _P.USAGE_READ}),
    # Reporting usage, the one write a machine client needs.
    Scope.USAGE_WRITE: frozenset({_P.USAGE_WRITE}),
})


def permissions_of_scopes(scopes: Iterable[str]) -> frozenset[Permission]:
    """What a key with these scopes may do. Unknown scope names (stored by a newer version) grant nothing."""
    granted: set[Permission] = set()
    for scope in scopes:
        if scope in SCOPE_PERMISSIONS:
            granted |= SCOPE_PERMISSIONS[Scope(scope)]
    return frozenset(granted)


def key_digest(key: str) -> str:
    return digest(key)


def mint_key(at: float | None = None) -> tuple[str, str]:
    """A new key's id (a ULID of the time it is minted: ``at``, else now) and the key itself."""
    key_id = str(ULID.from_timestamp(float(epoch() if at is None else at))).lower()
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def minted_at(key_id: str) -> datetime:
    """When a key was created: its id is a ULID, whose first 48 bits are the time in milliseconds."""
    return ULID.from_str(key_id.upper()).datetime


def looks_like_key(value: str) -> bool:
    """Whether a credential is meant as an API key (rather than a JWT), well-formed or not."""
    return value.startswith(KEY_PREFIX)


def key_id_of(key: str) -> str | None:
    """The id a well-formed key names, or None."""
    found = _KEY_SHAPE.fullmatch(key)
    return found.group(1) if found else None


# ---------------------------------------------------------------------------------------- models
class ApiKeyRequest(Model):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(Scope))]
    expires_at: Annotated[AwareDatetime | None, Field(
        description="When the key stops working (ISO 8601 with a time zone); never if absent")] = None

    @field_validator("scopes")
    @classmethod
    def _distinct(cls, scopes: list[Scope]) -> list[Scope]:
        if len(set(scopes)) != len(scopes):
            raise ValueError("each scope may appear once")
        return scopes

    @field_validator("expires_at", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        # Pydantic would read a bare number as a Unix time; the wire format is ISO 8601.
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError("an ISO 8601 date and time")
        return value


class ApiKey(Model):
    id: str
    name: str
    scopes: list[str]
    prefix: str = Field(description="The start of the key, to tell keys apart")
    created_at: str
    created_by: str
    expires_at: str | None = None
    last_used_at: str | None = None


class CreatedApiKey(ApiKey):
    key: str = Field(description="The key itself; shown only in this answer")


# ---------------------------------------------------------------------------------------- logic
class ApiKeys:
    """A tenant's API keys (for the auth function) and their lookup (for the authorizer)."""

    def __init__(self, table: Table, *, outbox_ttl_days: int, clock: EpochClock = epoch) -> None:
        self.table = table
        self.outbox_ttl_days = outbox_ttl_days
        self.clock = clock

    def create(self, actor: Actor, request: ApiKeyRequest) -> CreatedApiKey:
        actor.require(Permission.API_KEYS_WRITE)
        ensure_can_assign(actor.permissions, permissions_of_scopes(request.scopes))
        now = self.clock()
        expires_at = int(request.expires_at.timestamp()) if request.expires_at else None
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("expires_at must be in the future",
                               errors=[{"field": "expires_at", "message": "must be in the future"}])
        key_id, key = mint_key(now)
        digest = key_digest(key)
        scopes = [str(s) for s in request.scopes]
        item: Item = {
            "PK": actor.tenant.pk, "SK": api_key_sk(key_id), "record_type": "api_key",
            "key_id": key_id, "name": request.name, "scopes": scopes, "prefix": f"{KEY_PREFIX}{key_id}",
            "created_at": _iso(now), "created_by": actor.user_id, "key_digest": digest,
            # ISO text, not a number: the tenant's item outlives the key's expiry (TTL reads numbers only).
            "expires_at": _iso(expires_at) if expires_at is not None else None,
        }
        lookup: Item = {
            "PK": api_key_lookup_pk(digest), "SK": API_KEY_LOOKUP_SK, "record_type": "api_key_lookup",
            "tenant_id": actor.tenant.tenant_id, "key_id": key_id, "scopes": scopes,
            "created_by": actor.user_id, "expires_at": expires_at,
        }
        event = new_event(EventType.API_KEY_CREATED, actor.tenant.tenant_id, {
            **audit_fields(actor.user_id, key_id, actor.request_meta), "name": request.name, "scopes": scopes})
        write_with_outbox(self.table, [put_op(item, condition="attribute_not_exists(PK)"),
                                       put_op(lookup, condition="attribute_not_exists(PK)")],
                          [event], ttl_days=self.outbox_ttl_days)
        return CreatedApiKey(**_api_key(item).model_dump(), key=key)

    def page(self, actor: Actor, *, limit: int | None, cursor: str | None) -> Page[ApiKey]:
        actor.require(Permission.API_KEYS_READ)
        pk = actor.tenant.pk
        items, last = self.table.query(pk, sk_prefix=APIKEY_SK_PREFIX, limit=clamp_limit(limit),
                                       start_key=decode_cursor(cursor, partition_key=pk))
        return Page[ApiKey](items=[_api_key(i) for i in items], next_cursor=encode_cursor(last))

    def revoke(self, actor: Actor, key_id: str) -> None:
        actor.require(Permission.API_KEYS_WRITE)
        sk = api_key_sk(key_id)
        item = self.table.get(actor.tenant.pk, sk)
        if item is None:
            raise NotFound("No such API key.")
        event = new_event(EventType.API_KEY_REVOKED, actor.tenant.tenant_id, {
            **audit_fields(actor.user_id, key_id, actor.request_meta), "name": item.get("name")})
        operations = [delete_op(actor.tenant.pk, sk, condition="attribute_exists(PK)"),
                      delete_op(api_key_lookup_pk(item['key_digest']), API_KEY_LOOKUP_SK)]
        try:
            write_with_outbox(self.table, operations, [event], ttl_days=self.outbox_ttl_days)
        except WriteRefused:
            raise NotFound("No such API key.") from None  # revoked by a concurrent request

    # ------------------------------------------------------------------ the authorizer's side
    def find(self, key: str) -> Item | None:
        """The lookup item of a presented key, or None if no such key exists (or it was revoked)."""
        return self.table.get(api_key_lookup_pk(key_digest(key)), API_KEY_LOOKUP_SK)

    def mark_used(self, tenant_id: str, key_id: str, now: float) -> bool:
        """Stamp ``last_used_at`` unless it was stamped within the last minute; True if stamped.
        Never recreates a revoked key's item."""
        try:
            self.table.update(tenant_pk(tenant_id), api_key_sk(key_id), update="SET last_used_at = :now",
                              condition="attribute_exists(PK) AND "
                                        "(attribute_not_exists(last_used_at) OR last_used_at < :cutoff)",
                              values={":now": _iso(now), ":cutoff": _iso(now - LAST_USED_RESOLUTION_SECONDS)})
        except WriteRefused:
            return False
        return True


def _iso(epoch: float) -> str:
    # One fixed width, so stored times compare correctly as text (the last-used condition does).
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _api_key(item: Item) -> ApiKey:
    return ApiKey(id=str(item["key_id"]), name=str(item["name"]), scopes=[str(s) for s in item["scopes"]],
                  prefix=str(item["prefix"]), created_at=str(item["created_at"]),
                  created_by=str(item["created_by"]),
                  expires_at=str(item["expires_at"]) if item.get("expires_at") else None,
                  last_used_at=str(item["last_used_at"]) if item.get("last_used_at") else None)
