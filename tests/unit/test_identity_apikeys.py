"""API keys: the scope map, the key's shape, the request rules, and what creating and revoking
write (against an in-memory table)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from pydantic import ValidationError

from wrapper.identity.apikeys import (
    SCOPE_PERMISSIONS,
    ApiKeyRequest,
    ApiKeys,
    Scope,
    key_digest,
    key_id_of,
    looks_like_key,
    mint_key,
    permissions_of_scopes,
)
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import InvalidInput, NotFound, PermissionDenied
from wrapper.kernel.permissions import ROLE_PERMISSIONS, Permission
from wrapper.kernel.request_meta import NO_REQUEST, RequestMeta
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import API_KEY_LOOKUP_SK, OUTBOX_SK_PREFIX, api_key_lookup_pk, api_key_sk, tenant_pk
from wrapper.store.table import from_dynamo

NOW = 1_700_000_000.0
P = Permission


# --- the scope map ----------------------------------------------------------------------------

def test_read_grants_every_read_but_the_audit_log_and_the_keys() -> None:
    assert SCOPE_PERMISSIONS[Scope.READ] == {P.TENANT_READ, P.MEMBERS_READ, P.ROLES_READ, P.ORGANIZATIONS_READ,
                                             P.BILLING_READ, P.USAGE_READ}


def test_usage_write_grants_recording_usage_only() -> None:
    assert SCOPE_PERMISSIONS[Scope.USAGE_WRITE] == {P.USAGE_WRITE}


def test_no_scope_lets_a_key_mint_keys_read_the_audit_log_or_write_the_tenant() -> None:
    everything = permissions_of_scopes(list(Scope))
    assert not everything & {P.API_KEYS_READ, P.API_KEYS_WRITE, P.AUDIT_READ, P.TENANT_WRITE, P.TENANT_DELETE,
                             P.MEMBERS_WRITE, P.ROLES_WRITE, P.BILLING_WRITE}


def test_every_scope_fits_inside_the_owner_and_admin_roles() -> None:
    for role in ("owner", "admin"):
        assert permissions_of_scopes(list(Scope)) <= ROLE_PERMISSIONS[role]


def test_scopes_combine_and_unknown_names_grant_nothing() -> None:
    assert permissions_of_scopes(["read", "usage:write"]) == SCOPE_PERMISSIONS[Scope.READ] | {P.USAGE_WRITE}
    assert permissions_of_scopes(["admin", "usage:write"]) == {P.USAGE_WRITE}
    assert permissions_of_scopes([]) == frozenset()


# --- the key --------------------------------------------------------------------------------------

def test_a_minted_key_names_its_id_and_carries_a_long_secret() -> None:
    key_id, key = mint_key()
    assert len(key_id) == 26 and key_id == key_id.lower()
    assert key.startswith(f"wk_{key_id}_") and len(key) == len("wk_") + 26 + 1 + 43
    assert key_id_of(key) == key_id and looks_like_key(key)


def test_two_keys_never_repeat() -> None:
    keys = {mint_key()[1] for _ in range(200)}
    assert len(keys) == 200


@pytest.mark.parametrize("value", [
    "", "wk_", "wk_abc_def", "wk_" + "0" * 26, "wk_" + "0" * 26 + "_" + "A" * 42, "wk_" + "0" * 26 + "_" + "A" * 44,
    "wk_" + "O" * 26 + "_" + "A" * 43, "WK_" + "0" * 26 + "_" + "A" * 43, "wk_" + "0" * 26 + "_" + "A" * 42 + "=",
    " wk_" + "0" * 26 + "_" + "A" * 43, "eyJhbGciOiJSUzI1NiJ9.e30.sig",
])
def test_malformed_keys_name_no_id(value: str) -> None:
    assert key_id_of(value) is None


def test_the_digest_is_the_sha256_of_the_whole_key() -> None:
    _, key = mint_key()
    assert key_digest(key) == hashlib.sha256(key.encode()).hexdigest()


# --- the request ----------------------------------------------------------------------------------

def test_a_request_takes_a_name_scopes_and_an_optional_aware_expiry() -> None:
    request = ApiKeyRequest.model_validate({"name": "  ci  ", "scopes": ["usage:write", "read"],
                                            "expires_at": "2030-01-01T00:00:00+02:00"})
    assert request.name == "ci" and request.scopes == [Scope.USAGE_WRITE, Scope.READ]
    assert request.expires_at is not None and request.expires_at.utcoffset() is not None
    assert ApiKeyRequest.model_validate({"name": "ci", "scopes": ["read"]}).expires_at is None


@pytest.mark.parametrize("body", [
    {"name": "ci", "scopes": []},
    {"name": "ci", "scopes": ["read", "read"]},
    {"name": "ci", "scopes": ["admin"]},
    {"name": "ci", "scopes": "read"},
    {"name": "", "scopes": ["read"]},
    {"name": "x" * 101, "scopes": ["read"]},
    {"name": 5, "scopes": ["read"]},
    {"name": "ci", "scopes": ["read"], "expires_at": "2030-01-01T00:00:00"},
    {"name": "ci", "scopes": ["read"], "expires_at": 1_900_000_000},
    {"name": "ci", "scopes": ["read"], "tenant_id": "other"},
])
def test_bad_requests_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ApiKeyRequest.model_validate(body)


# --- creating, listing, revoking against an in-memory table ---------------------------------------

class MemoryTable:
    """The Table operations ApiKeys uses, over a dict; transactions are all-or-nothing."""

    name = "wrapper"

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
        return self.items.get((pk, sk))

    def query(self, pk: str, *, sk_prefix: str, limit: int, start_key: Any = None,
              **_: Any) -> tuple[list[dict[str, Any]], None]:
        found = [v for (p, s), v in sorted(self.items.items()) if p == pk and s.startswith(sk_prefix)]
        return found[:limit], None

    def transact(self, operations: list[dict[str, Any]]) -> None:
        from botocore.exceptions import ClientError

        staged = dict(self.items)
        for op in operations:
            ((kind, body),) = op.items()
            if kind == "Put":
                item = from_dynamo(body["Item"])
                key = (item["PK"], item["SK"])
                if body.get("ConditionExpression") == "attribute_not_exists(PK)" and key in staged:
                    raise ClientError({"Error": {"Code": "TransactionCanceledException"}}, "TransactWriteItems")
                staged[key] = item
            elif kind == "Delete":
                k = from_dynamo(body["Key"])
                key = (k["PK"], k["SK"])
                if body.get("ConditionExpression") == "attribute_exists(PK)" and key not in staged:
                    raise ClientError({"Error": {"Code": "TransactionCanceledException"}}, "TransactWriteItems")
                staged.pop(key, None)
        self.items = staged

    def outbox(self) -> list[dict[str, Any]]:
        # In the order written (the dict keeps it), not by key: two events of one millisecond get ULIDs whose
        # random tails sort either way, which made a test that expects created-then-revoked flaky.
        return [json.loads(v["envelope"]) for (_, s), v in self.items.items() if s.startswith(OUTBOX_SK_PREFIX)]


def actor(role: str = "owner", tenant_id: str = "acme", permissions: frozenset[Permission] | None = None,
          request_meta: RequestMeta = NO_REQUEST) -> Actor:
    return Actor(tenant=TenantContext(tenant_id=tenant_id, principal="user:u-1", role=role), user_id="u-1",
                 permissions=ROLE_PERMISSIONS[role] if permissions is None else permissions,
                 request_meta=request_meta)


@pytest.fixture
def store() -> tuple[ApiKeys, MemoryTable]:
    memory = MemoryTable()
    return ApiKeys(memory, outbox_ttl_days=7, clock=lambda: NOW), memory  # type: ignore[arg-type]


def _request(**changes: Any) -> ApiKeyRequest:
    return ApiKeyRequest.model_validate({"name": "ci", "scopes": ["read"], **changes})


def test_creating_stores_the_key_and_its_lookup_without_the_secret_and_records_the_event(
        store: tuple[ApiKeys, MemoryTable]) -> None:
    keys, memory = store
    created = keys.create(actor(request_meta=RequestMeta(request_id="r-1", source_ip="192.0.2.1")),
                          _request(expires_at="2030-01-01T00:00:00Z"))
    tenant_item = memory.items[(tenant_pk("acme"), api_key_sk(created.id))]
    lookup = memory.items[(api_key_lookup_pk(key_digest(created.key)), API_KEY_LOOKUP_SK)]
    assert created.key not in json.dumps(list(memory.items.values()), default=str)
    assert lookup["tenant_id"] == "acme" and lookup["key_id"] == created.id and lookup["scopes"] == ["read"]
    assert lookup["expires_at"] == 1_893_456_000 and tenant_item["expires_at"] == "2030-01-01T00:00:00Z"
    assert created.created_at == "2023-11-14T22:13:20Z" and created.created_by == "u-1"
    (event,) = memory.outbox()
    assert event["type"] == "api_key.created" and event["tenant_id"] == "acme"
    assert event["data"] == {"actor": "u-1", "target": created.id, "name": "ci", "scopes": ["read"],
                             "request_id": "r-1", "source_ip": "192.0.2.1"}


def test_an_expiry_that_is_not_in_the_future_is_refused_and_writes_nothing(
        store: tuple[ApiKeys, MemoryTable]) -> None:
    keys, memory = store
    with pytest.raises(InvalidInput):
        keys.create(actor(), _request(expires_at="2023-11-14T22:13:20Z"))
    assert memory.items == {}


def test_creating_needs_api_keys_write_and_every_permission_the_scopes_grant(
        store: tuple[ApiKeys, MemoryTable]) -> None:
    keys, memory = store
    with pytest.raises(PermissionDenied):
        keys.create(actor("member"), _request())
    lacking_billing = frozenset({P.API_KEYS_WRITE, P.TENANT_READ, P.MEMBERS_READ, P.ROLES_READ,
                                 P.ORGANIZATIONS_READ, P.USAGE_READ})
    with pytest.raises(PermissionDenied, match="billing:read"):
        keys.create(actor("custom", permissions=lacking_billing), _request())
    assert memory.items == {}


def test_listing_shows_no_secret_nor_digest(store: tuple[ApiKeys, MemoryTable]) -> None:
    keys, _ = store
    created = keys.create(actor(), _request())
    page = keys.page(actor("admin"), limit=None, cursor=None)
    assert [k.id for k in page.items] == [created.id]
    dumped = page.model_dump_json()
    assert created.key not in dumped and key_digest(created.key) not in dumped
    with pytest.raises(PermissionDenied):
        keys.page(actor("manager"), limit=None, cursor=None)


def test_revoking_deletes_both_items_with_its_event_and_a_second_revoke_is_not_found(
        store: tuple[ApiKeys, MemoryTable]) -> None:
    keys, memory = store
    created = keys.create(actor(), _request())
    keys.revoke(actor(), created.id)
    assert [k for k in memory.items if not k[1].startswith(OUTBOX_SK_PREFIX)] == []
    assert [e["type"] for e in memory.outbox()] == ["api_key.created", "api_key.revoked"]
    with pytest.raises(NotFound):
        keys.revoke(actor(), created.id)


def test_another_tenant_cannot_revoke_the_key(store: tuple[ApiKeys, MemoryTable]) -> None:
    keys, memory = store
    created = keys.create(actor(), _request())
    with pytest.raises(NotFound):
        keys.revoke(actor(tenant_id="globex"), created.id)
    assert (tenant_pk("acme"), api_key_sk(created.id)) in memory.items
