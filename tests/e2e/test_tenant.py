"""GET/PATCH /v1/tenant behind the authorizer: who may read and change what, and forged tokens."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
import requests

from tests.support import LocalClock, join, signup, table, wait_for
from wrapper.store.schema import AUDIT_SK_PREFIX, PROFILE_SK, rate_sk, tenant_pk

PROBLEM = "application/problem+json"


def _get(cloud: Any, token: str | None, **headers: str) -> requests.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(f"{cloud.api_url}/v1/tenant", headers=headers, timeout=20)


def _patch(cloud: Any, token: str, body: Any, **headers: str) -> requests.Response:
    data = body if isinstance(body, str) else json.dumps(body)
    return requests.patch(f"{cloud.api_url}/v1/tenant", data=data, timeout=20, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers})


def _version(cloud: Any, tenant_id: str) -> int:
    return int(table(cloud).get(tenant_pk(tenant_id), PROFILE_SK)["version"])


@pytest.fixture(scope="module")
def acme(cloud: Any) -> dict[str, Any]:
    return signup(cloud, "Acme")


@pytest.fixture(scope="module")
def globex(cloud: Any) -> dict[str, Any]:
    return signup(cloud, "Globex")


def test_a_member_reads_its_own_tenant(cloud: Any, acme: dict[str, Any]) -> None:
    answer = _get(cloud, acme["access_token"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["tenant_id"] == acme["tenant_id"]
    assert answer.json()["name"] == "Acme"


def test_no_credentials_is_401_problem_json(cloud: Any) -> None:
    answer = _get(cloud, None)
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == PROBLEM
    assert answer.headers["WWW-Authenticate"] == "Bearer"


# ------------------------------------------------------------------------------------ forged tokens
def _moto_key() -> Any:
    # moto signs Cognito tokens with a key published in its package: the forger's best tool.
    from moto.utilities.utils import load_resource

    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(load_resource("cognitoidp/resources/jwks-private.json")))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _signed(claims: dict[str, Any], **header: Any) -> str:
    return jwt.encode(claims, _moto_key(), algorithm="RS256", headers={"kid": "dummy", **header})


def _forgeries() -> dict[str, Callable[[dict[str, Any]], str]]:
    public_pem = _moto_key().public_key().public_bytes(
        encoding=__import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.PEM,
        format=__import__("cryptography.hazmat.primitives.serialization", fromlist=["x"]).PublicFormat
        .SubjectPublicKeyInfo)
    return {
        "alg none": lambda c: f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'dummy'})}.{_b64(c)}.",
        "HS256 with the public key": lambda c: _hs256_with(public_pem, c),
        "expired": lambda c: _signed({**c, "exp": int(time.time()) - 60, "iat": int(time.time()) - 3600}),
        "wrong client_id": lambda c: _signed({**c, "client_id": "someone-elses-client"}),
        "wrong issuer": lambda c: _signed({**c, "iss": "https://evil.example/pool"}),
        "unknown kid": lambda c: _signed(c, kid="not-a-known-key"),
        "id token where access is required": lambda c: _signed({**c, "token_use": "id"}),
        "not yet valid": lambda c: _signed({**c, "nbf": int(time.time()) + 600}),
    }


def _hs256_with(secret: bytes, claims: dict[str, Any]) -> str:
    import hashlib
    import hmac

    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'dummy'})}.{_b64(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_the_forgery_harness_makes_tokens_the_api_accepts(cloud: Any, acme: dict[str, Any]) -> None:
    # Given a token re-signed with the same key and unchanged claims, then it is accepted: so each
    # refusal below is caused by its one change, not by the harness.
    assert _get(cloud, _signed(_claims_of(acme["access_token"]))).status_code == 200


@pytest.mark.parametrize("forgery", sorted(_forgeries()))
def test_a_forged_token_is_401(cloud: Any, acme: dict[str, Any], forgery: str) -> None:
    token = _forgeries()[forgery](_claims_of(acme["access_token"]))
    answer = _get(cloud, token)
    assert answer.status_code == 401, forgery
    assert answer.headers["Content-Type"] == PROBLEM


def test_a_tampered_payload_is_401(cloud: Any, acme: dict[str, Any], globex: dict[str, Any]) -> None:
    header, _, signature = acme["access_token"].split(".")
    claims = {**_claims_of(acme["access_token"]), "sub": globex["user_id"]}
    assert _get(cloud, f"{header}.{_b64(claims)}.{signature}").status_code == 401


def test_a_garbage_bearer_value_is_401(cloud: Any) -> None:
    assert _get(cloud, "not-a-jwt").status_code == 401


# ------------------------------------------------------------------------------------ isolation
def test_a_tenant_cannot_read_another_tenant_by_naming_it(cloud: Any, acme: dict[str, Any],
                                                          globex: dict[str, Any]) -> None:
    answer = _get(cloud, globex["access_token"], **{"X-Tenant-Id": acme["tenant_id"]})
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == PROBLEM
    assert "Acme" not in answer.text


def test_a_tenant_cannot_change_another_tenant_by_naming_it(cloud: Any, acme: dict[str, Any],
                                                            globex: dict[str, Any]) -> None:
    before = _version(cloud, acme["tenant_id"])
    answer = _patch(cloud, globex["access_token"], {"name": "Pwned"}, **{"X-Tenant-Id": acme["tenant_id"]})
    assert answer.status_code == 403
    assert _version(cloud, acme["tenant_id"]) == before
    assert table(cloud).get(tenant_pk(acme['tenant_id']), PROFILE_SK)["name"] == "Acme"


def test_a_viewer_reads_but_cannot_change_the_tenant(cloud: Any) -> None:
    owner, outsider = signup(cloud, "Initech"), signup(cloud, "Outside")
    join(cloud, owner["tenant_id"], outsider["user_id"], "viewer")
    as_viewer = {"X-Tenant-Id": owner["tenant_id"]}
    assert _get(cloud, outsider["access_token"], **as_viewer).json()["tenant_id"] == owner["tenant_id"]
    refused = _patch(cloud, outsider["access_token"], {"name": "Viewer was here"}, **as_viewer)
    assert refused.status_code == 403
    assert "tenant:write" in refused.json()["detail"]
    assert _version(cloud, owner["tenant_id"]) == 1


def test_a_suspended_tenant_is_403(cloud: Any) -> None:
    session = signup(cloud, "Suspended Co")
    items = table(cloud)
    profile = items.get(tenant_pk(session['tenant_id']), PROFILE_SK)
    items.put({**profile, "status": "suspended"})
    assert _get(cloud, session["access_token"]).status_code == 403


# ------------------------------------------------------------------------------------ deletion
def test_only_an_owner_deletes_the_tenant_and_then_nobody_reaches_it(cloud: Any) -> None:
    owner = signup(cloud, "Doomed Co")
    admin = signup(cloud, "Admin's own")
    join(cloud, owner["tenant_id"], admin["user_id"], "admin")
    stranger = signup(cloud, "Bystander")
    refused = requests.delete(f"{cloud.api_url}/v1/tenant", timeout=20, headers={
        "Authorization": f"Bearer {admin['access_token']}", "X-Tenant-Id": owner["tenant_id"]})
    assert refused.status_code == 403 and "tenant:delete" in refused.json()["detail"]
    across = requests.delete(f"{cloud.api_url}/v1/tenant", timeout=20, headers={
        "Authorization": f"Bearer {stranger['access_token']}", "X-Tenant-Id": owner["tenant_id"]})
    assert across.status_code == 403
    assert _get(cloud, stranger["access_token"]).status_code == 200  # the stranger's own tenant lives on

    deleted = requests.delete(f"{cloud.api_url}/v1/tenant", timeout=20,
                              headers={"Authorization": f"Bearer {owner['access_token']}"})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["status"] == "deleted" and deleted.json()["purge_after"] > deleted.json()["deleted_at"]
    gone = _get(cloud, owner["access_token"])
    assert gone.status_code == 403 and gone.json()["detail"] == "This tenant was deleted."
    assert _get(cloud, admin["access_token"], **{"X-Tenant-Id": owner["tenant_id"]}).status_code == 403
    # Soft: the data is still there for the grace period
    assert table(cloud).get(tenant_pk(owner['tenant_id']), PROFILE_SK)["name"] == "Doomed Co"

    def audited() -> list[dict[str, Any]]:
        items, _ = table(cloud).query(tenant_pk(owner['tenant_id']), sk_prefix=AUDIT_SK_PREFIX, limit=100)
        return [i for i in items if i["action"] == "tenant.deleted"]

    assert wait_for(audited, message="the tenant.deleted audit entry")[0]["actor"] == owner["user_id"]


# ------------------------------------------------------------------------------------ changes
def test_the_owner_changes_the_tenant_and_the_change_is_audited(cloud: Any) -> None:
    session = signup(cloud, "Hooli")
    answer = _patch(cloud, session["access_token"], {"name": "Hooli XYZ", "timezone": "Asia/Tokyo",
                                                     "settings": {"theme": "dark"}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "Hooli XYZ"
    assert answer.json()["timezone"] == "Asia/Tokyo"
    assert answer.json()["settings"] == {"theme": "dark"}
    assert answer.json()["version"] == 2

    def updated() -> list[dict[str, Any]]:
        items, _ = table(cloud).query(tenant_pk(session['tenant_id']), sk_prefix=AUDIT_SK_PREFIX)
        return [i for i in items if i["action"] == "tenant.updated"]

    assert wait_for(updated, message="the tenant.updated audit entry")[0]["actor"] == session["user_id"]


@pytest.mark.parametrize(("body", "status"), [
    ({"status": "active"}, 422),                       # not writable: no mass assignment
    ({"plan_tier": "enterprise"}, 422),
    ({"name": 42}, 422),
    ({"name": ""}, 422),
    ({"name": None}, 422),                             # required fields cannot be cleared
    ({"timezone": None}, 422),
    ({"timezone": "Mars/Olympus_Mons"}, 422),
    ({"billing_email": "nope"}, 422),
    ({"settings": {"blob": "x" * 9000}}, 422),
    ("{not json", 400),
])
def test_bad_tenant_changes_are_4xx_problems_and_change_nothing(cloud: Any, acme: dict[str, Any], body: Any,
                                                                status: int) -> None:
    before = _version(cloud, acme["tenant_id"])
    answer = _patch(cloud, acme["access_token"], body)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert _version(cloud, acme["tenant_id"]) == before


# ------------------------------------------------------------------------------------ rate limits
def _fill_window(cloud: Any, local_clock: LocalClock, tenant_id: str, hits: int) -> None:
    # The clock moves to the next window's start, so that every request of the test falls in this one
    next_window = (int(local_clock.now().timestamp()) // 900 + 1) * 900
    now = local_clock.set(datetime.fromtimestamp(next_window, UTC)).timestamp()
    start = int(now) - int(now) % 900
    table(cloud).put({"PK": tenant_pk(tenant_id), "SK": rate_sk(start), "hits": hits,
                       "expires_at": start + 1800})


def test_answers_tell_the_tenant_its_rate_limit(cloud: Any) -> None:
    session = signup(cloud, "Counted")
    answer = _get(cloud, session["access_token"])
    assert answer.headers["RateLimit-Limit"] == "800"
    assert int(answer.headers["RateLimit-Remaining"]) == 799
    assert 0 < int(answer.headers["RateLimit-Reset"]) <= 900


def test_the_request_past_the_tenants_limit_is_429_and_changes_nothing(cloud: Any, local_clock: LocalClock) -> None:
    limited, other = signup(cloud, "Busy"), signup(cloud, "Quiet")
    _fill_window(cloud, local_clock, limited["tenant_id"], 800)
    answer = _patch(cloud, limited["access_token"], {"name": "Renamed"})
    assert answer.status_code == 429
    assert answer.headers["Content-Type"] == PROBLEM
    assert 0 < int(answer.headers["Retry-After"]) <= 900
    assert answer.headers["RateLimit-Remaining"] == "0"
    assert _version(cloud, limited["tenant_id"]) == 1
    assert _get(cloud, other["access_token"]).status_code == 200  # limits are per tenant
