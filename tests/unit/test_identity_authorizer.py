"""The authorizer's decision: which credential a request carries, and the context an API key or a
JWT becomes (with in-memory memberships and key lookups)."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.unit.authorizer_fakes import CREATOR, ISS, ISSUER, METHOD_ARN, FakeKeys, FakeMemberships
from wrapper.identity.apikeys import SCOPE_PERMISSIONS, Scope, key_digest, mint_key, minted_at
from wrapper.identity.authorizer import authorize, credential_of
from wrapper.identity.tokens import InvalidToken, Issuer, JwksCache
from wrapper.kernel.actor import actor_from
from wrapper.kernel.errors import PermissionDenied
from wrapper.kernel.permissions import Permission
from wrapper.store.table import Item

NOW = 1_700_000_000.0


def _unused_jwks(jwks_url: str) -> dict[str, Any]:
    raise AssertionError("an API key never needs the JWKS")


def decide(headers: dict[str, str], *, api_keys: FakeKeys | None, memberships: FakeMemberships | None = None,
           keys: JwksCache | None = None) -> dict[str, Any]:
    return authorize({"headers": headers, "methodArn": METHOD_ARN}, issuers=(ISSUER,),
                     keys=keys or JwksCache(_unused_jwks), memberships=memberships or FakeMemberships(),
                     now=lambda: NOW, api_keys=api_keys)


# --- which credential -----------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "kind", "value"), [
    ({"Authorization": "Bearer eyJ.a.b"}, "jwt", "eyJ.a.b"),
    ({"authorization": "bearer  wk_x "}, "api_key", "wk_x"),
    ({"X-Api-Key": "wk_x"}, "api_key", "wk_x"),
    ({"x-api-key": " wk_x"}, "api_key", "wk_x"),
    ({"X-API-KEY": "not-ours"}, "api_key", "not-ours"),
])
def test_the_credential_is_read_from_either_header_in_any_case(headers: dict[str, str], kind: str,
                                                               value: str) -> None:
    credential = credential_of(headers)
    assert (credential.kind, credential.value) == (kind, value)


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "no bearer token"),
    ({"Authorization": "Basic abc"}, "no bearer token"),
    ({"Authorization": "Bearer wk_x", "X-Api-Key": "wk_y"}, "two credentials"),
])
def test_no_credential_or_two_are_refused(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidToken) as refused:
        credential_of(headers)
    assert refused.value.reason == reason


# --- API keys ---------------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["X-Api-Key", "Authorization"])
def test_a_key_becomes_its_tenants_context_with_its_scopes_permissions(header: str) -> None:
    keys = FakeKeys()
    key = keys.add(scopes=["read"])
    answer = decide({header: f"Bearer {key}" if header == "Authorization" else key}, api_keys=keys)
    key_id = key.split("_")[1]
    context = answer["context"]
    assert answer["principalId"] == f"apikey:{key_id}"
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert context["user_id"] == context["principal"] == f"apikey:{key_id}"
    assert context["default_tenant_id"] == "acme"
    assert json.loads(context["tenants"]) == {"acme": {
        "role": "api-key", "status": "active", "tier": "pro",
        "permissions": sorted(SCOPE_PERMISSIONS[Scope.READ]), "creator_role": "owner"}}
    assert all(isinstance(v, str | int | bool) for v in context.values())
    assert keys.used == [("acme", key_id, NOW)]


def test_the_functions_see_exactly_the_scopes_permissions() -> None:
    keys = FakeKeys()
    context = decide({"X-Api-Key": keys.add(scopes=["usage:write"])}, api_keys=keys)["context"]
    actor = actor_from(context, {})
    assert actor.permissions == {Permission.USAGE_WRITE} and actor.plan_tier == "pro"
    assert actor.user_id.startswith("apikey:") and actor.tenant.tenant_id == "acme"
    with pytest.raises(PermissionDenied):
        actor_from(context, {"X-Tenant-Id": "globex"})


@pytest.mark.parametrize(("creator_role", "custom", "held"), [
    ("owner", None, SCOPE_PERMISSIONS[Scope.READ]),
    ("member", None, SCOPE_PERMISSIONS[Scope.READ] - {Permission.BILLING_READ}),
    ("viewer", None, SCOPE_PERMISSIONS[Scope.READ] - {Permission.BILLING_READ}),
    ("reader", frozenset({Permission.USAGE_READ, Permission.AUDIT_READ}), {Permission.USAGE_READ}),
    ("deleted-custom-role", None, frozenset()),
])
def test_a_key_does_no_more_than_its_creators_current_role_allows(creator_role: str, custom: Any,
                                                                   held: frozenset[Permission]) -> None:
    class Roles:
        def permissions_of(self, tenant_id: str, role_name: str) -> frozenset[Permission] | None:
            return custom if (tenant_id, role_name) == ("acme", "reader") else None

    keys = FakeKeys()
    demoted = FakeMemberships(rows={CREATOR: [{"tenant_id": "acme", "role": creator_role}]})
    context = decide({"X-Api-Key": keys.add(scopes=["read"])}, api_keys=keys, memberships=demoted)["context"]
    assert actor_from(context, {}, Roles()).permissions == held


def test_a_key_whose_creator_left_the_tenant_is_refused() -> None:
    keys = FakeKeys()
    key = keys.add(scopes=["read"])
    elsewhere = FakeMemberships(rows={CREATOR: [{"tenant_id": "globex", "role": "owner"}]})
    with pytest.raises(InvalidToken, match="creator is no longer a member"):
        decide({"X-Api-Key": key}, api_keys=keys, memberships=elsewhere)
    assert keys.used == []


@pytest.mark.parametrize(("joined", "accepted"), [
    (None, True),                                   # a membership with no joining time on record
    ("2020-01-01T00:00:00Z", True),                 # joined long before the key was made
    ("2999-01-01T00:00:00Z", False),                # joined (again) after the key was made
    ("2999-01-01T00:00:00.123456+00:00", False),    # as sign-up stores it
    ("2999-01-01T00:00:00", False),                 # naive: taken as UTC
])
def test_a_key_made_before_its_creator_left_and_joined_again_stays_dead(joined: str | None, accepted: bool) -> None:
    keys = FakeKeys()
    key = keys.add(scopes=["read"])
    rejoined = FakeMemberships(rows={CREATOR: [{"tenant_id": "acme", "role": "owner", "joined_at": joined}]})
    if accepted:
        assert decide({"X-Api-Key": key}, api_keys=keys, memberships=rejoined)["principalId"].startswith("apikey:")
    else:
        with pytest.raises(InvalidToken, match="creator is no longer a member"):
            decide({"X-Api-Key": key}, api_keys=keys, memberships=rejoined)


def test_a_key_made_in_its_creators_joining_second_works() -> None:
    keys = FakeKeys()
    key = keys.add(scopes=["read"])
    made = minted_at(key.split("_")[1])
    same_second = made.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    joined = FakeMemberships(rows={CREATOR: [{"tenant_id": "acme", "role": "owner", "joined_at": same_second}]})
    assert decide({"X-Api-Key": key}, api_keys=keys, memberships=joined)["principalId"].startswith("apikey:")


def test_a_keys_context_without_its_creators_role_holds_nothing() -> None:
    keys = FakeKeys()
    context = decide({"X-Api-Key": keys.add(scopes=["read"])}, api_keys=keys)["context"]
    tenants = json.loads(context["tenants"])
    del tenants["acme"]["creator_role"]
    assert actor_from({**context, "tenants": json.dumps(tenants)}, {}).permissions == frozenset()


@pytest.mark.parametrize("status", ["suspended", "deleted"])
def test_a_key_of_a_suspended_or_deleted_tenant_is_refused_by_the_functions(status: str) -> None:
    keys = FakeKeys()
    memberships = FakeMemberships({"acme": {"status": status, "tier": "free"}})
    context = decide({"X-Api-Key": keys.add(scopes=["read"])}, api_keys=keys, memberships=memberships)["context"]
    with pytest.raises(PermissionDenied):
        actor_from(context, {})


def test_a_key_of_a_tenant_with_no_profile_is_refused_by_the_functions() -> None:
    keys = FakeKeys()
    context = decide({"X-Api-Key": keys.add(scopes=["read"])}, api_keys=keys,
                     memberships=FakeMemberships({}))["context"]
    with pytest.raises(PermissionDenied):
        actor_from(context, {})


@pytest.mark.parametrize(("expires_at", "accepted"), [(None, True), (int(NOW) + 1, True), (int(NOW), False),
                                                       (int(NOW) - 1, False)])
def test_a_key_works_until_its_expiry(expires_at: int | None, accepted: bool) -> None:
    keys = FakeKeys()
    key = keys.add(scopes=["read"], expires_at=expires_at)
    if accepted:
        assert decide({"X-Api-Key": key}, api_keys=keys)["principalId"].startswith("apikey:")
    else:
        with pytest.raises(InvalidToken, match="expired"):
            decide({"X-Api-Key": key}, api_keys=keys)
        assert keys.used == []


def test_an_unknown_or_revoked_key_is_refused() -> None:
    keys = FakeKeys()
    key = keys.add(scopes=["read"])
    keys.lookups.clear()  # what revoking does
    with pytest.raises(InvalidToken, match="unknown api key"):
        decide({"X-Api-Key": key}, api_keys=keys)


def test_a_lookup_that_names_another_key_id_is_refused() -> None:
    keys = FakeKeys()
    key = keys.add(scopes=["read"])
    keys.lookups[key_digest(key)]["key_id"] = "0" * 26
    with pytest.raises(InvalidToken, match="unknown api key"):
        decide({"X-Api-Key": key}, api_keys=keys)


@pytest.mark.parametrize("value", ["wk_short", "not-a-key", "", "wk_" + "0" * 26 + "_" + "A" * 10])
def test_a_malformed_key_is_refused_without_a_lookup(value: str) -> None:
    class NoLookups(FakeKeys):
        def find(self, key: str) -> Item | None:
            raise AssertionError("a malformed key is never looked up")

    with pytest.raises(InvalidToken, match="malformed api key"):
        decide({"X-Api-Key": value}, api_keys=NoLookups())


def test_a_failed_last_used_write_never_refuses_a_valid_key() -> None:
    keys = FakeKeys()
    key = keys.add(scopes=["read"])
    keys.failing = True
    assert decide({"X-Api-Key": key}, api_keys=keys)["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_keys_are_refused_when_the_authorizer_has_no_key_lookup() -> None:
    with pytest.raises(InvalidToken):
        decide({"X-Api-Key": mint_key()[1]}, api_keys=None)


# --- JWTs still work as before ----------------------------------------------------------------

@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_bearer_jwt_still_becomes_the_users_context(signing_key: rsa.RSAPrivateKey) -> None:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True)
    cache = JwksCache(lambda url: {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})
    token = jwt.encode({"iss": ISS, "sub": "u-1", "token_use": "access", "client_id": "client",
                        "exp": int(NOW) + 600}, signing_key, algorithm="RS256", headers={"kid": "k1"})
    memberships = FakeMemberships(rows={"u-1": [{"tenant_id": "acme", "role": "admin"}]})
    answer = decide({"Authorization": f"Bearer {token}"}, api_keys=FakeKeys(), memberships=memberships, keys=cache)
    context = answer["context"]
    assert answer["principalId"] == "user:u-1" and context["user_id"] == "u-1"
    assert json.loads(context["tenants"]) == {"acme": {"role": "admin", "status": "active", "tier": "pro"}}
    assert context["token_expires_at"] == int(NOW) + 600


def test_a_bearer_that_is_neither_a_jwt_nor_a_key_is_refused_as_a_malformed_token() -> None:
    with pytest.raises(InvalidToken, match="malformed token"):
        decide({"Authorization": "Bearer garbage"}, api_keys=FakeKeys())


# --- another OIDC provider's tokens -------------------------------------------------------------

KINDE = "https://acme.kinde.com"
KINDE_ISSUER = Issuer(issuer=KINDE, jwks_url=f"{KINDE}/.well-known/jwks", audiences=("wrapper-api",))


class FakeLinks:
    """Kinde subject kp_ann is Wrapper user u-1; every other subject is nobody."""

    def handles(self, issuer: str) -> bool:
        return issuer == KINDE

    def user_for(self, claims: Any) -> str | None:
        return "u-1" if claims.subject == "kp_ann" else None


def _oidc_decide(signing_key: rsa.RSAPrivateKey, subject: str) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True)
    cache = JwksCache(lambda url: {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})
    token = jwt.encode({"iss": KINDE, "sub": subject, "aud": ["wrapper-api"], "exp": int(NOW) + 600},
                       signing_key, algorithm="RS256", headers={"kid": "k1"})
    memberships = FakeMemberships(rows={"u-1": [{"tenant_id": "acme", "role": "member"}],
                                        subject: [{"tenant_id": "acme", "role": "owner"}]})
    return authorize({"headers": {"Authorization": f"Bearer {token}"}, "methodArn": METHOD_ARN},
                     issuers=(ISSUER, KINDE_ISSUER), keys=cache, memberships=memberships, now=lambda: NOW,
                     external_users=FakeLinks())


def test_an_oidc_token_acts_as_the_wrapper_user_its_subject_is_linked_to(signing_key: rsa.RSAPrivateKey) -> None:
    context = _oidc_decide(signing_key, "kp_ann")["context"]

    assert context["user_id"] == "u-1"
    assert json.loads(context["tenants"])["acme"]["role"] == "member"


def test_an_oidc_subject_never_counts_as_a_wrapper_user_id(signing_key: rsa.RSAPrivateKey) -> None:
    # A provider whose subjects happen to look like (or be chosen as) our user ids gains nothing.
    with pytest.raises(InvalidToken, match="no account"):
        _oidc_decide(signing_key, "u-2")
