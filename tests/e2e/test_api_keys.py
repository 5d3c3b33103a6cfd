"""API keys over HTTP: create (the key shown once), use with either header, list, revoke;
scopes bound what a key does; refusals across roles and tenants; bad input writes nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.support import LocalClock, call, join, signup, table, wait_for
from wrapper.identity.apikeys import minted_at
from wrapper.store.schema import (
    API_KEY_LOOKUP_SK,
    APIKEY_SK_PREFIX,
    api_key_lookup_pk,
    api_key_sk,
    digest,
    membership_sk,
    tenant_pk,
    user_pk,
)

PROBLEM = "application/problem+json"


def _create(cloud: Any, session: dict[str, Any], scopes: list[str] | None = None, **body: Any) -> dict[str, Any]:
    answer = call(cloud, "POST", "/v1/api-keys", session, body={"name": "ci", "scopes": scopes or ["read"], **body})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _with_key(cloud: Any, method: str, path: str, key: str, *, header: str = "X-Api-Key",
              tenant: str | None = None, body: Any = None, **params: Any) -> requests.Response:
    value = f"Bearer {key}" if header.lower() == "authorization" else key
    return call(cloud, method, path, None, tenant=tenant, body=body, headers={header: value}, **params)


def _keys_in(cloud: Any, tenant_id: str) -> list[dict[str, Any]]:
    items, _ = table(cloud).query(tenant_pk(tenant_id), sk_prefix=APIKEY_SK_PREFIX, limit=100)
    return items


@pytest.fixture(scope="module")
def acme(cloud: Any) -> dict[str, Any]:
    owner = signup(cloud, "Acme Keys")
    people = {"owner": owner}
    for role in ("admin", "member", "viewer"):
        people[role] = signup(cloud, f"{role}'s own")
        join(cloud, owner["tenant_id"], people[role]["user_id"], role)
    people["stranger"] = signup(cloud, "Globex Keys")
    return people


def test_a_key_is_created_used_with_either_header_listed_and_revoked(cloud: Any, acme: dict[str, Any]) -> None:
    owner, tenant_id = acme["owner"], acme["owner"]["tenant_id"]
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    created = _create(cloud, owner, ["read", "usage:write"], expires_at=expires.isoformat())
    assert set(created) == {"id", "name", "scopes", "key", "prefix", "created_at", "created_by", "expires_at",
                            "last_used_at"}
    key, key_id = created["key"], created["id"]
    assert key.startswith(f"wk_{key_id}_") and created["prefix"] == f"wk_{key_id}" and key.startswith(created["prefix"])
    assert created["scopes"] == ["read", "usage:write"] and created["created_by"] == owner["user_id"]
    assert created["expires_at"] == expires.isoformat().replace("+00:00", "Z") and created["last_used_at"] is None
    # Only the digest is stored
    stored = table(cloud).get(tenant_pk(tenant_id), api_key_sk(key_id))
    lookup = table(cloud).get(api_key_lookup_pk(digest(key)), API_KEY_LOOKUP_SK)
    assert lookup and lookup["tenant_id"] == tenant_id and lookup["key_id"] == key_id
    assert key not in str(stored) and key not in str(lookup)

    for header in ("X-Api-Key", "x-api-key", "Authorization", "authorization"):
        me = _with_key(cloud, "GET", "/v1/tenant", key, header=header)
        assert me.status_code == 200, (header, me.text)
        assert me.json()["tenant_id"] == tenant_id

    listed = call(cloud, "GET", "/v1/api-keys", owner).json()["items"]
    mine = next(k for k in listed if k["id"] == key_id)
    assert "key" not in mine and "key_digest" not in mine and key not in str(listed)
    assert mine["last_used_at"] and mine["name"] == "ci"

    assert call(cloud, "DELETE", f"/v1/api-keys/{key_id}", owner).status_code == 204
    refused = _with_key(cloud, "GET", "/v1/tenant", key)
    assert refused.status_code == 401 and refused.headers["Content-Type"] == PROBLEM
    assert key_id not in [k["id"] for k in call(cloud, "GET", "/v1/api-keys", owner).json()["items"]]
    again = call(cloud, "DELETE", f"/v1/api-keys/{key_id}", owner)
    assert again.status_code == 404 and again.headers["Content-Type"] == PROBLEM


def test_a_key_request_is_rate_limited_like_a_token(cloud: Any, acme: dict[str, Any]) -> None:
    key = _create(cloud, acme["owner"])["key"]
    answer = _with_key(cloud, "GET", "/v1/members", key)
    assert answer.status_code == 200, answer.text
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(answer.headers)
    created = call(cloud, "POST", "/v1/api-keys", acme["owner"], body={"name": "x", "scopes": ["read"]})
    assert "RateLimit-Remaining" in created.headers


def test_a_keys_scopes_bound_what_it_may_do(cloud: Any, acme: dict[str, Any]) -> None:
    usage_only = _create(cloud, acme["owner"], ["usage:write"])["key"]
    assert _with_key(cloud, "GET", "/v1/members", usage_only).status_code == 403
    read = _create(cloud, acme["owner"], ["read"])["key"]
    assert _with_key(cloud, "GET", "/v1/members", read).status_code == 200
    # No scope reaches API keys or the audit log, nor writes the tenant
    before = len(_keys_in(cloud, acme["owner"]["tenant_id"]))
    minted = _with_key(cloud, "POST", "/v1/api-keys", read, body={"name": "x", "scopes": ["read"]})
    assert minted.status_code == 403 and minted.headers["Content-Type"] == PROBLEM
    assert len(_keys_in(cloud, acme["owner"]["tenant_id"])) == before
    assert _with_key(cloud, "GET", "/v1/api-keys", read).status_code == 403
    assert _with_key(cloud, "GET", "/v1/audit-log", read).status_code == 403
    assert _with_key(cloud, "PATCH", "/v1/tenant", read, body={"name": "Pwned"}).status_code == 403


def test_a_key_does_no_more_than_its_creator_may_do_now(cloud: Any, local_clock: LocalClock) -> None:
    owner = signup(cloud, "Demoting Co")
    creator = signup(cloud, "creator's own")
    join(cloud, owner["tenant_id"], creator["user_id"], "admin")
    created = call(cloud, "POST", "/v1/api-keys", creator, tenant=owner["tenant_id"],
                   body={"name": "ci", "scopes": ["read"]})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert _with_key(cloud, "GET", "/v1/credits/ledger", key).status_code == 200  # billing:read: an admin has it

    demoted = call(cloud, "PATCH", f"/v1/members/{creator['user_id']}", owner, body={"role": "member"})
    assert demoted.status_code == 200, demoted.text
    narrowed = _with_key(cloud, "GET", "/v1/credits/ledger", key)
    assert narrowed.status_code == 403 and narrowed.headers["Content-Type"] == PROBLEM
    assert _with_key(cloud, "GET", "/v1/members", key).status_code == 200  # a member still reads members

    assert call(cloud, "DELETE", f"/v1/members/{creator['user_id']}", owner).status_code == 204
    assert _with_key(cloud, "GET", "/v1/tenant", key).status_code == 401
    # Invited back a minute later (joining times are kept to the second): the key of the earlier membership
    # stays dead
    rejoined_at = local_clock.advance(60).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert minted_at(created.json()["id"]) < datetime.fromisoformat(rejoined_at)
    join(cloud, owner["tenant_id"], creator["user_id"], "admin")
    items = table(cloud)
    link = items.get(user_pk(creator['user_id']), membership_sk(owner['tenant_id']))
    items.put({**link, "joined_at": rejoined_at})  # as accepting an invite stores it
    assert call(cloud, "GET", "/v1/tenant", creator, tenant=owner["tenant_id"]).status_code == 200
    assert _with_key(cloud, "GET", "/v1/tenant", key).status_code == 401
    # The key stays listed, for its tenant to see and revoke
    assert len(_keys_in(cloud, owner["tenant_id"])) == 1


def test_an_expired_key_is_refused(cloud: Any, acme: dict[str, Any]) -> None:
    key = _create(cloud, acme["owner"])["key"]
    items = table(cloud)
    lookup_key = api_key_lookup_pk(digest(key))
    # moto never runs TTL; the authorizer checks the expiry itself
    items.put({**items.get(lookup_key, API_KEY_LOOKUP_SK), "expires_at": 1})
    assert _with_key(cloud, "GET", "/v1/tenant", key).status_code == 401


@pytest.mark.parametrize("credential", [
    {"X-Api-Key": "wk_nonsense"},
    {"X-Api-Key": "wk_" + "0" * 26 + "_" + "A" * 43},      # well-formed, never issued
    {"Authorization": "Bearer wk_" + "0" * 26 + "_" + "A" * 43},
    {"X-Api-Key": ""},
])
def test_unknown_or_malformed_keys_are_refused(cloud: Any, credential: dict[str, str]) -> None:
    answer = call(cloud, "GET", "/v1/tenant", None, headers=credential)
    assert answer.status_code == 401 and answer.headers["Content-Type"] == PROBLEM


def test_a_request_with_a_key_and_a_token_is_refused(cloud: Any, acme: dict[str, Any]) -> None:
    key = _create(cloud, acme["owner"])["key"]
    answer = call(cloud, "GET", "/v1/tenant", acme["owner"], headers={"X-Api-Key": key})
    assert answer.status_code == 401


def test_roles_without_api_key_permissions_are_refused(cloud: Any, acme: dict[str, Any]) -> None:
    tenant_id = acme["owner"]["tenant_id"]
    before = len(_keys_in(cloud, tenant_id))
    assert call(cloud, "POST", "/v1/api-keys", acme["member"],
                body={"name": "x", "scopes": ["read"]}).status_code == 403
    assert call(cloud, "GET", "/v1/api-keys", acme["viewer"]).status_code == 403
    key_id = _create(cloud, acme["owner"])["id"]
    assert call(cloud, "DELETE", f"/v1/api-keys/{key_id}", acme["member"]).status_code == 403
    assert len(_keys_in(cloud, tenant_id)) == before + 1
    # An admin runs API keys day to day
    assert call(cloud, "GET", "/v1/api-keys", acme["admin"]).status_code == 200
    assert call(cloud, "DELETE", f"/v1/api-keys/{key_id}", acme["admin"]).status_code == 204


def test_nobody_creates_a_key_holding_permissions_they_lack(cloud: Any) -> None:
    owner = signup(cloud, "Delegating Co")
    keeper = signup(cloud, "keeper's own")
    role = call(cloud, "POST", "/v1/roles", owner,
                body={"name": "key-keeper", "permissions": ["api-keys:read", "api-keys:write", "usage:write"]})
    assert role.status_code == 201, role.text
    join(cloud, owner["tenant_id"], keeper["user_id"], "key-keeper")
    refused = call(cloud, "POST", "/v1/api-keys", keeper, tenant=owner["tenant_id"],
                   body={"name": "x", "scopes": ["read"]})  # read grants tenant:read etc., which it lacks
    assert refused.status_code == 403 and refused.headers["Content-Type"] == PROBLEM
    assert _keys_in(cloud, owner["tenant_id"]) == []
    allowed = call(cloud, "POST", "/v1/api-keys", keeper, tenant=owner["tenant_id"],
                   body={"name": "x", "scopes": ["usage:write"]})
    assert allowed.status_code == 201, allowed.text


def test_another_tenant_never_sees_nor_revokes_this_tenants_keys(cloud: Any, acme: dict[str, Any]) -> None:
    acme_id, stranger = acme["owner"]["tenant_id"], acme["stranger"]
    created = _create(cloud, acme["owner"])
    _create(cloud, acme["owner"])
    # The stranger acting for its own tenant: A's key id is not there
    listed = call(cloud, "GET", "/v1/api-keys", stranger)
    assert listed.status_code == 200 and created["id"] not in str(listed.json())
    assert call(cloud, "DELETE", f"/v1/api-keys/{created['id']}", stranger).status_code == 404
    # ... and naming A's tenant it is not a member
    assert call(cloud, "GET", "/v1/api-keys", stranger, tenant=acme_id).status_code == 403
    assert call(cloud, "DELETE", f"/v1/api-keys/{created['id']}", stranger, tenant=acme_id).status_code == 403
    assert call(cloud, "POST", "/v1/api-keys", stranger, tenant=acme_id,
                body={"name": "x", "scopes": ["read"]}).status_code == 403
    assert table(cloud).get(tenant_pk(acme_id), api_key_sk(created['id'])) is not None
    # A's key cannot act for B
    as_b = _with_key(cloud, "GET", "/v1/tenant", created["key"], tenant=stranger["tenant_id"])
    assert as_b.status_code == 403 and acme_id not in as_b.text
    # A cursor from A's list does not page B's
    cursor = call(cloud, "GET", "/v1/api-keys", acme["owner"], limit=1).json()["next_cursor"]
    assert cursor and call(cloud, "GET", "/v1/api-keys", stranger, cursor=cursor).status_code == 422


def test_a_deleted_tenants_keys_are_refused(cloud: Any) -> None:
    owner = signup(cloud, "Closing Keys")
    key = _create(cloud, owner)["key"]
    assert call(cloud, "DELETE", "/v1/tenant", owner).status_code == 200
    assert _with_key(cloud, "GET", "/v1/tenant", key).status_code == 403


def test_keys_page_by_cursor(cloud: Any) -> None:
    owner = signup(cloud, "Many Keys")
    made = {_create(cloud, owner, name=f"k{n}")["id"] for n in range(3)}
    seen: list[str] = []
    cursor = None
    while True:
        page = call(cloud, "GET", "/v1/api-keys", owner, limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [k["id"] for k in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made)


def test_a_retried_create_makes_a_second_key(cloud: Any, acme: dict[str, Any]) -> None:
    first = _create(cloud, acme["owner"], name="retried")
    second = _create(cloud, acme["owner"], name="retried")
    assert first["id"] != second["id"] and first["key"] != second["key"]
    for created in (first, second):
        assert _with_key(cloud, "GET", "/v1/tenant", created["key"]).status_code == 200


def test_revoking_twice_at_once_revokes_once(cloud: Any, acme: dict[str, Any]) -> None:
    key_id = _create(cloud, acme["owner"])["id"]
    statuses: list[int] = []

    def revoke() -> None:
        statuses.append(call(cloud, "DELETE", f"/v1/api-keys/{key_id}", acme["owner"]).status_code)

    threads = [threading.Thread(target=revoke) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [204, 404]


def test_last_use_is_written_at_most_once_a_minute(cloud: Any, acme: dict[str, Any]) -> None:
    created = _create(cloud, acme["owner"])
    items = table(cloud)
    item_key = (tenant_pk(acme['owner']['tenant_id']), api_key_sk(created['id']))
    assert _with_key(cloud, "GET", "/v1/tenant", created["key"]).status_code == 200
    first = items.get(*item_key)["last_used_at"]
    recent = "2999-01-01T00:00:00Z"  # "later than now": a stamp within the minute must not be rewritten
    items.put({**items.get(*item_key), "last_used_at": recent})
    assert _with_key(cloud, "GET", "/v1/tenant", created["key"]).status_code == 200
    assert items.get(*item_key)["last_used_at"] == recent
    items.put({**items.get(*item_key), "last_used_at": "2000-01-01T00:00:00Z"})
    assert _with_key(cloud, "GET", "/v1/tenant", created["key"]).status_code == 200
    assert items.get(*item_key)["last_used_at"] >= first


@pytest.mark.parametrize("body", [
    {"name": "x", "scopes": ["admin"]},
    {"name": "x", "scopes": []},
    {"name": "x", "scopes": ["read", "read"]},
    {"name": "x", "scopes": ["read"], "extra": 1},
    {"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"},
    {"name": "x", "scopes": ["read"], "expires_at": "2999-01-01T00:00:00"},     # no time zone
    {"name": "x", "scopes": ["read"], "expires_at": 32503680000},               # a number, not ISO 8601
    {"name": "x", "scopes": ["read"], "expires_at": "tomorrow"},
    {"name": "", "scopes": ["read"]},
    {"name": "   ", "scopes": ["read"]},
    {"name": "x" * 101, "scopes": ["read"]},
    {"name": 5, "scopes": ["read"]},
    {"name": "x", "scopes": "read"},
    {"scopes": ["read"]},
    {"name": "x"},
    [],
    "{not json",
])
def test_bad_requests_are_4xx_problems_and_create_nothing(cloud: Any, acme: dict[str, Any], body: Any) -> None:
    tenant_id = acme["owner"]["tenant_id"]
    before = len(_keys_in(cloud, tenant_id))
    answer = call(cloud, "POST", "/v1/api-keys", acme["owner"], body=body)
    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert len(_keys_in(cloud, tenant_id)) == before


@pytest.mark.parametrize("key_id", ["not-a-ulid", "0" * 27, "01HZZZZZZZZZZZZZZZZZZZZZZZ"])
def test_malformed_key_ids_are_refused(cloud: Any, acme: dict[str, Any], key_id: str) -> None:
    answer = call(cloud, "DELETE", f"/v1/api-keys/{key_id}", acme["owner"])
    assert answer.status_code == 422 and answer.headers["Content-Type"] == PROBLEM


def test_creating_and_revoking_are_audited(cloud: Any, acme: dict[str, Any]) -> None:
    key_id = _create(cloud, acme["owner"], name="audited")["id"]
    assert call(cloud, "DELETE", f"/v1/api-keys/{key_id}", acme["owner"]).status_code == 204

    def entries() -> list[dict[str, Any]]:
        items = call(cloud, "GET", "/v1/audit-log", acme["owner"], limit=100).json()["items"]
        found = [e for e in items if e["target"] == key_id]
        return found if len(found) == 2 else []

    found = wait_for(entries, message="the api key's audit entries")
    assert sorted(e["action"] for e in found) == ["api_key.created", "api_key.revoked"]
    assert all(e["actor"] == acme["owner"]["user_id"] and e["request_id"] and e["source_ip"] for e in found)
