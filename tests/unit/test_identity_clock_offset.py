"""The authorizer with the local cloud's clock moved forward: expiries we stamped (API keys) follow
the clock; a JWT's times, stamped by its issuer on the real time, are held against the real time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.unit.authorizer_fakes import CREATOR, ISS, ISSUER, METHOD_ARN, FakeKeys, FakeMemberships
from wrapper.identity.authorizer import authorize
from wrapper.identity.tokens import InvalidToken, JwksCache
from wrapper.kernel import clock

REAL = 1_767_225_600.0
TWO_DAYS = 2 * 86_400


@pytest.fixture(autouse=True)
def real_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(clock.time, "time", lambda: REAL)
    yield
    clock.set_offset(0)


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _with_token(signing_key: rsa.RSAPrivateKey, **times: int) -> dict[str, Any]:
    """The authorizer's answer to a Cognito-like access token, with its default clock."""
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True)
    cache = JwksCache(lambda url: {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})
    token = jwt.encode({"iss": ISS, "sub": CREATOR, "token_use": "access", "client_id": "client", **times},
                       signing_key, algorithm="RS256", headers={"kid": "k1"})
    return authorize({"headers": {"Authorization": f"Bearer {token}"}, "methodArn": METHOD_ARN},
                     issuers=(ISSUER,), keys=cache, memberships=FakeMemberships())


def _with_key(keys: FakeKeys, key: str) -> dict[str, Any]:
    return authorize({"headers": {"X-Api-Key": key}, "methodArn": METHOD_ARN}, issuers=(ISSUER,),
                     keys=JwksCache(lambda url: {}), memberships=FakeMemberships(), api_keys=keys)


def test_a_token_issued_on_the_real_time_still_passes_with_the_clock_two_days_ahead(
        signing_key: rsa.RSAPrivateKey) -> None:
    # Given a token its issuer stamped an hour's life on the real time
    # When the local clock runs two days ahead
    clock.set_offset(TWO_DAYS)

    # Then moving the clock signs nobody out
    answer = _with_token(signing_key, iat=int(REAL), exp=int(REAL) + 3600)
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_a_token_expired_on_the_real_time_is_refused_whatever_the_clock(signing_key: rsa.RSAPrivateKey) -> None:
    clock.set_offset(TWO_DAYS)

    with pytest.raises(InvalidToken, match="token expired"):
        _with_token(signing_key, iat=int(REAL) - 7200, exp=int(REAL) - 3600)


def test_an_api_key_expires_when_the_clock_passes_its_expiry() -> None:
    # Given a key that expires in a day
    keys = FakeKeys()
    key = keys.add(scopes=["read"], expires_at=int(REAL) + 86_400)
    assert _with_key(keys, key)["policyDocument"]["Statement"][0]["Effect"] == "Allow"

    # When the clock moves two days ahead, then it is refused; back to the real time, it passes again
    clock.set_offset(TWO_DAYS)
    with pytest.raises(InvalidToken, match="api key expired"):
        _with_key(keys, key)
    clock.set_offset(0)
    assert _with_key(keys, key)["policyDocument"]["Statement"][0]["Effect"] == "Allow"
