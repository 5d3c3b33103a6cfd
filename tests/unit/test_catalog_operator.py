"""The platform operator flag: the authorizer sets it only for flagged users' tokens (never for API
keys, never from a tenant role), and the operator gate admits only a context that carries it."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from wrapper.api.operator import Operator, operator_from
from wrapper.identity.apikeys import key_digest, mint_key
from wrapper.identity.authorizer import authorize
from wrapper.identity.tokens import InvalidToken, Issuer, JwksCache
from wrapper.kernel.actor import actor_from
from wrapper.kernel.errors import PermissionDenied, Unauthorized
from wrapper.store.table import Item

NOW = 1_700_000_000.0
ISS = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Wrapper"
ISSUER = Issuer(issuer=ISS, jwks_url=f"{ISS}/.well-known/jwks.json", audiences=("client",), token_use="access")
METHOD_ARN = "arn:aws:execute-api:us-east-1:123:abc/dev/GET/v1/admin/plans"


class Memberships:
    def __init__(self, rows: dict[str, list[Item]]) -> None:
        self.rows = rows

    def tenants_of(self, user_id: str) -> list[Item]:
        return self.rows.get(user_id, [])

    def tenant_states(self, tenant_ids: Any) -> dict[str, dict[str, str]]:
        assert tenant_ids, "no tenant, no lookup"
        return {t: {"status": "active", "tier": "free"} for t in tenant_ids}

    def membership_in(self, tenant_id: str, user_id: str) -> Item | None:
        return next((r for r in self.tenants_of(user_id) if r["tenant_id"] == tenant_id), None)


class Operators:
    def __init__(self, *user_ids: str) -> None:
        self.user_ids = set(user_ids)
        self.asked: list[str] = []

    def is_operator(self, user_id: str) -> bool:
        self.asked.append(user_id)
        return user_id in self.user_ids


class Keys:
    def __init__(self) -> None:
        self.key_id, self.key = mint_key()

    def find(self, key: str) -> Item | None:
        if key_digest(key) != key_digest(self.key):
            return None
        return {"tenant_id": "acme", "key_id": self.key_id, "scopes": ["read"], "created_by": "u-op"}

    def mark_used(self, tenant_id: str, key_id: str, now: float) -> bool:
        return True


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _decide(signing_key: rsa.RSAPrivateKey, user_id: str, *, rows: dict[str, list[Item]],
            operators: Operators | None) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True)
    cache = JwksCache(lambda url: {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})
    token = jwt.encode({"iss": ISS, "sub": user_id, "token_use": "access", "client_id": "client",
                        "exp": int(NOW) + 600}, signing_key, algorithm="RS256", headers={"kid": "k1"})
    return authorize({"headers": {"Authorization": f"Bearer {token}"}, "methodArn": METHOD_ARN}, issuers=(ISSUER,),
                     keys=cache, memberships=Memberships(rows), now=lambda: NOW, operators=operators)


def test_a_flagged_users_context_says_platform_operator(signing_key: rsa.RSAPrivateKey) -> None:
    operators = Operators("u-op")
    context = _decide(signing_key, "u-op", rows={"u-op": [{"tenant_id": "acme", "role": "member"}]},
                      operators=operators)["context"]

    assert context["platform_operator"] == "true"
    assert json.loads(context["tenants"]) == {"acme": {"role": "member", "status": "active", "tier": "free"}}
    assert operators.asked == ["u-op"]  # one lookup per request


def test_an_owner_without_the_flag_is_no_operator(signing_key: rsa.RSAPrivateKey) -> None:
    context = _decide(signing_key, "u-1", rows={"u-1": [{"tenant_id": "acme", "role": "owner"}]},
                      operators=Operators("u-op"))["context"]

    assert "platform_operator" not in context
    with pytest.raises(PermissionDenied):
        operator_from(context)


def test_an_operator_with_no_tenant_is_let_through_with_none(signing_key: rsa.RSAPrivateKey) -> None:
    answer = _decide(signing_key, "u-op", rows={}, operators=Operators("u-op"))
    context = answer["context"]

    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert context["tenants"] == "{}" and context["default_tenant_id"] == ""
    assert operator_from(context) == Operator(user_id="u-op")
    with pytest.raises(PermissionDenied):  # and acts for no tenant
        actor_from(context, {})
    with pytest.raises(PermissionDenied):
        actor_from(context, {"X-Tenant-Id": "acme"})


@pytest.mark.parametrize("operators", [Operators(), None], ids=["not-flagged", "no-lookup"])
def test_a_user_with_no_tenant_and_no_flag_is_refused(signing_key: rsa.RSAPrivateKey,
                                                      operators: Operators | None) -> None:
    with pytest.raises(InvalidToken, match="no account"):
        _decide(signing_key, "u-2", rows={}, operators=operators)


def test_an_api_key_is_never_an_operator() -> None:
    # Not even a key its tenant's operator created
    keys = Keys()
    operators = Operators("acme", "u-op", f"apikey:{keys.key_id}")
    memberships = Memberships({"u-op": [{"tenant_id": "acme", "role": "owner"}]})
    answer = authorize({"headers": {"X-Api-Key": keys.key}, "methodArn": METHOD_ARN}, issuers=(ISSUER,),
                       keys=JwksCache(lambda url: {}), memberships=memberships, now=lambda: NOW,
                       api_keys=keys, operators=operators)

    assert "platform_operator" not in answer["context"] and operators.asked == []


@pytest.mark.parametrize("context", [
    {"user_id": "u-1", "principal": "user:u-1", "platform_operator": "false"},
    {"user_id": "u-1", "principal": "user:u-1", "platform_operator": ""},
    {"user_id": "u-1", "principal": "user:u-1"},
    # A forged or mistaken flag on an API key's context still opens nothing
    {"user_id": "apikey:01J0", "principal": "apikey:01J0", "platform_operator": "true"},
], ids=["false", "empty", "absent", "api-key"])
def test_the_gate_refuses_any_context_without_a_users_flag(context: dict[str, str]) -> None:
    with pytest.raises(PermissionDenied):
        operator_from(context)


@pytest.mark.parametrize("context", [None, {}, {"principalId": "x"}], ids=["none", "empty", "no-user"])
def test_the_gate_answers_401_without_a_context(context: dict[str, str] | None) -> None:
    with pytest.raises(Unauthorized):
        operator_from(context)
