"""Verifying bearer JWTs: what the authorizer accepts, and every forgery it must refuse."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_decode, base64url_encode

from tests.unit.fakes import Clock
from wrapper.identity.tokens import (
    Claims,
    InvalidToken,
    Issuer,
    JwksCache,
    KeysUnavailable,
    parse_issuers,
    verify,
)

NOW = 1_700_000_000.0
CLIENT_ID = "app-client-1"
COGNITO_ISS = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Wrapper"
COGNITO_JWKS = f"{COGNITO_ISS}/.well-known/jwks.json"
KINDE_ISS = "https://wrapper.kinde.com"
KINDE_JWKS = f"{KINDE_ISS}/.well-known/jwks"
API_AUDIENCE = "https://api.wrapper.example"

COGNITO = Issuer(issuer=COGNITO_ISS, jwks_url=COGNITO_JWKS, audiences=(CLIENT_ID,), token_use="access")
KINDE = Issuer(issuer=KINDE_ISS, jwks_url=KINDE_JWKS, audiences=(API_AUDIENCE,))
ISSUERS = (COGNITO, KINDE)


# --- keys, an identity provider in memory, a clock -------------------------------------------

@pytest.fixture(scope="module")
def private_keys() -> dict[str, rsa.RSAPrivateKey]:
    """The IdP's current key, the one it rotates to, and one only an attacker holds."""
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048)
            for name in ("key-1", "key-2", "attacker")}


def public_jwk(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


class FakeIdp:
    """Serves JWKS documents by URL and counts every fetch."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    def publish(self, jwks_url: str, *jwks: dict[str, Any]) -> None:
        self.documents[jwks_url] = {"keys": list(jwks)}

    def __call__(self, jwks_url: str) -> dict[str, Any]:
        self.calls.append(jwks_url)
        return self.documents[jwks_url]


@pytest.fixture
def clock() -> Clock[float]:
    return Clock(NOW)


@pytest.fixture
def idp(private_keys: dict[str, rsa.RSAPrivateKey]) -> FakeIdp:
    fake = FakeIdp()
    fake.publish(COGNITO_JWKS, public_jwk(private_keys["key-1"], "key-1"))
    fake.publish(KINDE_JWKS, public_jwk(private_keys["key-1"], "key-1"))
    return fake


@pytest.fixture
def cache(idp: FakeIdp, clock: Clock) -> JwksCache:
    return JwksCache(idp, clock=clock)


# --- tokens ------------------------------------------------------------------------------------

def access_claims(**changes: Any) -> dict[str, Any]:
    """A Cognito access token's claims; a change to ``None`` removes the claim."""
    claims: dict[str, Any] = {
        "iss": COGNITO_ISS, "sub": "user-123", "client_id": CLIENT_ID, "token_use": "access",
        "scope": "openid usage:write", "username": "ada", "auth_time": int(NOW) - 60,
        "iat": int(NOW) - 60, "exp": int(NOW) + 1800, "jti": "jti-1",
    }
    return {k: v for k, v in {**claims, **changes}.items() if v is not None}


def oidc_claims(**changes: Any) -> dict[str, Any]:
    """A Kinde-style access token's claims: ``aud`` list, ``scp``, no ``token_use``."""
    claims: dict[str, Any] = {
        "iss": KINDE_ISS, "sub": "kp_42", "aud": [API_AUDIENCE], "azp": "kinde-client",
        "scp": ["openid", "read"], "iat": int(NOW) - 60, "exp": int(NOW) + 3600, "jti": "jti-2",
    }
    return {k: v for k, v in {**claims, **changes}.items() if v is not None}


def sign(claims: dict[str, Any], private_key: rsa.RSAPrivateKey, *, kid: str = "key-1",
         alg: str = "RS256") -> str:
    return jwt.encode(claims, private_key, algorithm=alg, headers={"kid": kid})


def segment(obj: dict[str, Any]) -> str:
    return base64url_encode(json.dumps(obj).encode()).decode()


def check(token: str, cache: JwksCache, clock: Clock) -> Claims:
    return verify(token, ISSUERS, cache, clock)


# --- what is accepted -----------------------------------------------------------------------------

def test_a_valid_cognito_access_token_yields_its_subject_client_and_scopes(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock) -> None:
    # Given an access token signed by the user pool's key
    token = sign(access_claims(), private_keys["key-1"])

    # When it is verified
    claims = check(token, cache, clock)

    # Then its identity, client and scopes come back
    assert (claims.subject, claims.issuer, claims.token_use) == ("user-123", COGNITO_ISS, "access")
    assert claims.client_id == CLIENT_ID
    assert claims.scopes == ("openid", "usage:write")
    assert claims.expires_at == int(NOW) + 1800
    assert claims.raw["username"] == "ada"


def test_a_valid_oidc_token_is_accepted_by_its_audience_without_a_token_use(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock) -> None:
    # Given a token from a plain OIDC issuer, which has no token_use claim
    token = sign(oidc_claims(), private_keys["key-1"])

    # When it is verified
    claims = check(token, cache, clock)

    # Then it is accepted on its aud, with the scp scopes and azp as the client
    assert (claims.subject, claims.issuer, claims.token_use) == ("kp_42", KINDE_ISS, None)
    assert claims.audience == (API_AUDIENCE,)
    assert claims.client_id == "kinde-client"
    assert claims.scopes == ("openid", "read")


def test_a_small_clock_skew_is_tolerated_within_the_issuers_leeway(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock) -> None:
    # Given an issuer allowing 30 s of skew, and a token that expired 10 s ago
    lenient = Issuer(issuer=COGNITO_ISS, jwks_url=COGNITO_JWKS, audiences=(CLIENT_ID,), token_use="access",
                     leeway_seconds=30)
    token = sign(access_claims(exp=int(NOW) - 10), private_keys["key-1"])

    # When / Then it is still accepted
    assert verify(token, (lenient,), cache, clock).subject == "user-123"


# --- forgeries that never reach a key -------------------------------------------------------------

def test_an_unsigned_alg_none_token_is_refused_before_any_key_is_fetched(cache: JwksCache, clock: Clock,
                                                                          idp: FakeIdp) -> None:
    # Given a token crafted by hand with alg none and an empty signature
    token = f"{segment({'alg': 'none', 'typ': 'JWT', 'kid': 'key-1'})}.{segment(access_claims())}."

    # When it is verified
    with pytest.raises(InvalidToken) as refused:
        check(token, cache, clock)

    # Then it is refused on its algorithm, and the IdP was never asked for keys
    assert refused.value.reason == "algorithm not allowed"
    assert idp.calls == []


def test_an_hs256_token_keyed_with_the_public_key_is_refused(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock, idp: FakeIdp) -> None:
    # Given a token HMAC-signed with the published public key's PEM bytes as the secret
    pem = private_keys["key-1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT', 'kid': 'key-1'})}.{segment(access_claims())}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64url_encode(mac).decode()}"

    # When it is verified
    with pytest.raises(InvalidToken) as refused:
        check(token, cache, clock)

    # Then it is refused on its algorithm before any key is used
    assert refused.value.reason == "algorithm not allowed"
    assert idp.calls == []


def test_an_algorithm_the_issuer_does_not_pin_is_refused_even_with_the_right_key(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock) -> None:
    # Given a genuine signature with the IdP's key, but RS512 where RS256 is pinned
    token = sign(access_claims(), private_keys["key-1"], alg="RS512")

    # When / Then it is refused
    with pytest.raises(InvalidToken, match="algorithm not allowed"):
        check(token, cache, clock)


def test_a_token_from_an_unconfigured_issuer_is_refused_without_fetching_its_keys(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock, idp: FakeIdp) -> None:
    # Given a well-signed token whose iss is not one we trust
    token = sign(access_claims(iss="https://evil.example"), private_keys["key-1"])

    # When / Then it is refused as an unknown issuer, and no JWKS was fetched
    with pytest.raises(InvalidToken, match="unknown issuer"):
        check(token, cache, clock)
    assert idp.calls == []


def test_a_token_without_a_kid_is_refused(private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache,
                                           clock: Clock) -> None:
    # Given a token signed with the right key but no kid header
    token = jwt.encode(access_claims(), private_keys["key-1"], algorithm="RS256")

    # When / Then it is refused
    with pytest.raises(InvalidToken, match="missing key id"):
        check(token, cache, clock)


def test_garbage_is_refused_as_malformed(cache: JwksCache, clock: Clock) -> None:
    # Given / When / Then a string that is not a JWT is refused
    with pytest.raises(InvalidToken, match="malformed token"):
        check("not.a.jwt", cache, clock)


# --- forgeries caught by the signature --------------------------------------------------------------

def test_a_tampered_payload_is_refused(private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache,
                                       clock: Clock) -> None:
    # Given a genuine token whose subject is swapped, the signature kept
    header, payload, signature = sign(access_claims(), private_keys["key-1"]).split(".")
    claims = json.loads(base64url_decode(payload))
    tampered = f"{header}.{segment({**claims, 'sub': 'someone-else'})}.{signature}"

    # When / Then it is refused on its signature
    with pytest.raises(InvalidToken, match="bad signature"):
        check(tampered, cache, clock)


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock) -> None:
    # Given a token an attacker signed with their own key, claiming the IdP's kid
    token = sign(access_claims(), private_keys["attacker"], kid="key-1")

    # When / Then it is refused on its signature
    with pytest.raises(InvalidToken, match="bad signature"):
        check(token, cache, clock)


# --- claims ----------------------------------------------------------------------------------------

def test_an_expired_token_is_refused(private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache,
                                     clock: Clock) -> None:
    # Given a token that expired a second ago
    token = sign(access_claims(exp=int(NOW) - 1), private_keys["key-1"])

    # When / Then it is refused
    with pytest.raises(InvalidToken, match="token expired"):
        check(token, cache, clock)


def test_a_token_expires_as_the_clock_moves_past_exp(private_keys: dict[str, rsa.RSAPrivateKey],
                                                     cache: JwksCache, clock: Clock) -> None:
    # Given a token valid now
    token = sign(access_claims(exp=int(NOW) + 60), private_keys["key-1"])
    check(token, cache, clock)

    # When the injected clock reaches its exp
    clock.advance(60)

    # Then it is refused
    with pytest.raises(InvalidToken, match="token expired"):
        check(token, cache, clock)


def test_a_token_not_valid_before_a_future_time_is_refused(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock) -> None:
    # Given a token whose nbf is a minute ahead
    token = sign(access_claims(nbf=int(NOW) + 60), private_keys["key-1"])

    # When / Then it is refused
    with pytest.raises(InvalidToken, match="token not yet valid"):
        check(token, cache, clock)


def test_a_token_issued_in_the_future_is_refused(private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache,
                                                 clock: Clock) -> None:
    # Given a token whose iat is a minute ahead
    token = sign(access_claims(iat=int(NOW) + 60), private_keys["key-1"])

    # When / Then it is refused
    with pytest.raises(InvalidToken, match="token issued in the future"):
        check(token, cache, clock)


def test_a_token_without_exp_is_refused(private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache,
                                        clock: Clock) -> None:
    # Given a well-signed token that never expires
    token = sign(access_claims(exp=None), private_keys["key-1"])

    # When / Then it is refused
    with pytest.raises(InvalidToken, match="missing claim: exp"):
        check(token, cache, clock)


def test_a_token_whose_exp_is_infinity_is_refused(private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache,
                                                  clock: Clock) -> None:
    # Given a well-signed token with exp Infinity (Python's json writes and reads it)
    token = sign(access_claims(exp=float("inf")), private_keys["key-1"])

    # When / Then it is refused
    with pytest.raises(InvalidToken, match="malformed claim: exp"):
        check(token, cache, clock)


def test_an_access_token_for_another_client_is_refused(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock) -> None:
    # Given an access token the pool issued to a client we do not accept
    token = sign(access_claims(client_id="someone-elses-client"), private_keys["key-1"])

    # When / Then it is refused
    with pytest.raises(InvalidToken, match="wrong client"):
        check(token, cache, clock)


def test_an_oidc_token_for_another_audience_is_refused(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock) -> None:
    # Given an OIDC token minted for another API
    token = sign(oidc_claims(aud=["https://api.other.example"]), private_keys["key-1"])

    # When / Then it is refused
    with pytest.raises(InvalidToken, match="wrong audience"):
        check(token, cache, clock)


def test_an_oidc_token_without_aud_is_refused(private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache,
                                              clock: Clock) -> None:
    # Given an OIDC token with no audience at all
    token = sign(oidc_claims(aud=None), private_keys["key-1"])

    # When / Then it is refused
    with pytest.raises(InvalidToken, match="wrong audience"):
        check(token, cache, clock)


def test_an_id_token_where_an_access_token_is_required_is_refused(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock) -> None:
    # Given a genuine Cognito ID token (aud instead of client_id, token_use id)
    token = sign(access_claims(token_use="id", client_id=None, aud=CLIENT_ID), private_keys["key-1"])

    # When / Then it is refused on its token_use
    with pytest.raises(InvalidToken, match="wrong token use"):
        check(token, cache, clock)


# --- the key cache ----------------------------------------------------------------------------------

def test_keys_are_reused_within_the_ttl(private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache,
                                        clock: Clock, idp: FakeIdp) -> None:
    # Given keys fetched for a first token
    check(sign(access_claims(), private_keys["key-1"]), cache, clock)

    # When another token comes just before the TTL runs out
    clock.advance(3599)
    check(sign(access_claims(exp=int(clock()) + 60), private_keys["key-1"]), cache, clock)

    # Then the IdP was asked once
    assert idp.calls == [COGNITO_JWKS]


def test_keys_are_refetched_once_the_ttl_has_passed(private_keys: dict[str, rsa.RSAPrivateKey],
                                                    cache: JwksCache, clock: Clock, idp: FakeIdp) -> None:
    # Given keys fetched for a first token
    check(sign(access_claims(), private_keys["key-1"]), cache, clock)

    # When a token comes after the TTL
    clock.advance(3600)
    check(sign(access_claims(exp=int(clock()) + 60), private_keys["key-1"]), cache, clock)

    # Then the keys were fetched again
    assert idp.calls == [COGNITO_JWKS, COGNITO_JWKS]


def test_an_unknown_kid_is_refetched_once_then_refused(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock, idp: FakeIdp) -> None:
    # Given a filled cache, past the minimum refetch interval
    check(sign(access_claims(), private_keys["key-1"]), cache, clock)
    clock.advance(61)

    # When a token names a kid the IdP never published
    with pytest.raises(InvalidToken) as refused:
        check(sign(access_claims(), private_keys["attacker"], kid="forged-1"), cache, clock)

    # Then the JWKS was refetched exactly once, and the token refused
    assert refused.value.reason == "unknown signing key"
    assert idp.calls == [COGNITO_JWKS, COGNITO_JWKS]


def test_a_second_unknown_kid_within_the_refetch_interval_does_not_refetch(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock, idp: FakeIdp) -> None:
    # Given a refetch just caused by one forged kid
    check(sign(access_claims(), private_keys["key-1"]), cache, clock)
    clock.advance(61)
    with pytest.raises(InvalidToken):
        check(sign(access_claims(), private_keys["attacker"], kid="forged-1"), cache, clock)

    # When another forged kid comes within the minimum refetch interval
    clock.advance(30)
    with pytest.raises(InvalidToken, match="unknown signing key"):
        check(sign(access_claims(), private_keys["attacker"], kid="forged-2"), cache, clock)

    # Then the IdP was not asked again
    assert idp.calls == [COGNITO_JWKS, COGNITO_JWKS]


def test_a_rotated_key_is_accepted_after_one_refetch(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock, idp: FakeIdp) -> None:
    # Given a cache holding key-1, and the IdP then publishing key-2 beside it
    check(sign(access_claims(), private_keys["key-1"]), cache, clock)
    clock.advance(61)
    idp.publish(COGNITO_JWKS, public_jwk(private_keys["key-1"], "key-1"), public_jwk(private_keys["key-2"], "key-2"))

    # When a token signed with key-2 arrives
    claims = check(sign(access_claims(), private_keys["key-2"], kid="key-2"), cache, clock)

    # Then it is accepted after exactly one refetch
    assert claims.subject == "user-123"
    assert idp.calls == [COGNITO_JWKS, COGNITO_JWKS]


def test_a_symmetric_key_in_the_jwks_is_never_loaded(
        private_keys: dict[str, rsa.RSAPrivateKey], cache: JwksCache, clock: Clock, idp: FakeIdp) -> None:
    # Given a JWKS that (wrongly) publishes an HMAC secret under kid "shared"
    idp.publish(COGNITO_JWKS, {"kty": "oct", "kid": "shared", "k": base64url_encode(b"s" * 32).decode()})

    # When a token names that kid
    with pytest.raises(InvalidToken) as refused:
        check(sign(access_claims(), private_keys["attacker"], kid="shared"), cache, clock)

    # Then no such signing key exists for it
    assert refused.value.reason == "unknown signing key"


def test_an_unreachable_jwks_is_reported_as_unavailable_not_as_a_bad_token(
        private_keys: dict[str, rsa.RSAPrivateKey], clock: Clock) -> None:
    # Given an IdP whose JWKS endpoint fails
    def failing(jwks_url: str) -> dict[str, Any]:
        raise TimeoutError(jwks_url)

    # When / Then verification says the keys are unavailable
    with pytest.raises(KeysUnavailable):
        verify(sign(access_claims(), private_keys["key-1"]), ISSUERS, JwksCache(failing, clock=clock), clock)


# --- configuration and reasons -----------------------------------------------------------------------

@pytest.mark.parametrize("algorithms", [("HS256",), ("none",), ("RS256", "HS256"), ()])
def test_an_issuer_cannot_pin_symmetric_or_no_algorithms(algorithms: tuple[str, ...]) -> None:
    # Given / When / Then an issuer pinning anything but public-key algorithms is refused
    with pytest.raises(ValueError, match="algorithms"):
        Issuer(issuer=COGNITO_ISS, jwks_url=COGNITO_JWKS, audiences=(CLIENT_ID,), algorithms=algorithms)


@pytest.mark.parametrize("forge", ["expired", "tampered", "alg-none", "wrong-aud", "unknown-kid"])
def test_the_reason_never_repeats_the_token(forge: str, private_keys: dict[str, rsa.RSAPrivateKey],
                                            cache: JwksCache, clock: Clock) -> None:
    # Given a refused token of some kind
    good = sign(access_claims(), private_keys["key-1"])
    header, payload, signature = good.split(".")
    token = {
        "expired": sign(access_claims(exp=int(NOW) - 1), private_keys["key-1"]),
        "tampered": f"{header}.{segment(access_claims(sub='root'))}.{signature}",
        "alg-none": f"{segment({'alg': 'none', 'kid': 'key-1'})}.{payload}.",
        "wrong-aud": sign(access_claims(client_id="other"), private_keys["key-1"]),
        "unknown-kid": sign(access_claims(), private_keys["attacker"], kid="forged"),
    }[forge]

    # When it is verified
    with pytest.raises(InvalidToken) as refused:
        check(token, cache, clock)

    # Then neither the reason nor the error's text holds the token or any of its parts
    said = f"{refused.value.reason} {refused.value} {refused.value!r} {refused.value.detail}"
    assert token not in said
    assert not any(part and part in said for part in token.split("."))


def test_keys_already_held_keep_serving_while_the_jwks_is_unreachable(
        private_keys: dict[str, rsa.RSAPrivateKey], clock: Clock, idp: FakeIdp) -> None:
    # Given keys fetched once, then an IdP that stops answering
    answers: list[str] = []

    def flaky(jwks_url: str) -> dict[str, Any]:
        answers.append(jwks_url)
        if len(answers) > 1:
            raise TimeoutError(jwks_url)
        return idp(jwks_url)

    cache = JwksCache(flaky, clock=clock)
    check(sign(access_claims(), private_keys["key-1"]), cache, clock)

    # When a token comes after the TTL, and another right after it
    clock.advance(3600)
    check(sign(access_claims(exp=int(clock()) + 60), private_keys["key-1"]), cache, clock)
    clock.advance(10)
    claims = check(sign(access_claims(exp=int(clock()) + 60), private_keys["key-1"]), cache, clock)

    # Then both are verified with the held key, and the IdP was retried once, not per token
    assert claims.subject == "user-123"
    assert len(answers) == 2


def test_held_keys_stop_serving_once_stale_for_too_long(
        private_keys: dict[str, rsa.RSAPrivateKey], clock: Clock, idp: FakeIdp) -> None:
    # Given keys fetched once, then an IdP down for longer than the TTL and the stale allowance
    down = False

    def fetch(jwks_url: str) -> dict[str, Any]:
        if down:
            raise TimeoutError(jwks_url)
        return idp(jwks_url)

    cache = JwksCache(fetch, ttl_seconds=3600, stale_seconds=600, clock=clock)
    check(sign(access_claims(), private_keys["key-1"]), cache, clock)
    down = True

    # When a token comes past both
    clock.advance(3600 + 600)

    # Then the keys are unavailable: a key is not trusted forever
    with pytest.raises(KeysUnavailable):
        check(sign(access_claims(exp=int(clock()) + 60), private_keys["key-1"]), cache, clock)


def test_a_key_never_fetched_is_not_trusted_while_the_jwks_is_unreachable(
        private_keys: dict[str, rsa.RSAPrivateKey], clock: Clock, idp: FakeIdp) -> None:
    # Given keys fetched once, then an IdP that stops answering
    calls: list[str] = []

    def fetch(jwks_url: str) -> dict[str, Any]:
        calls.append(jwks_url)
        if len(calls) > 1:
            raise TimeoutError(jwks_url)
        return idp(jwks_url)

    cache = JwksCache(fetch, clock=clock)
    check(sign(access_claims(), private_keys["key-1"]), cache, clock)
    clock.advance(61)

    # When a token names a kid that was never published
    with pytest.raises(InvalidToken, match="unknown signing key"):
        check(sign(access_claims(), private_keys["attacker"], kid="forged"), cache, clock)


def test_oidc_issuers_are_read_from_their_json_configuration() -> None:
    issuers = parse_issuers(json.dumps([{"issuer": KINDE_ISS, "audiences": [API_AUDIENCE], "jwks_url": KINDE_JWKS,
                                         "leeway_seconds": 5}]))

    assert issuers == (Issuer(issuer=KINDE_ISS, jwks_url=KINDE_JWKS, audiences=(API_AUDIENCE,), leeway_seconds=5),)
    assert parse_issuers("[]") == ()


@pytest.mark.parametrize("document", [
    "{", "{}", '[{"issuer": "https://x", "jwks_url": "https://x/jwks"}]',
    '[{"issuer": "https://x", "jwks_url": "https://x/jwks", "audiences": "api"}]',
    '[{"issuer": "https://x", "jwks_url": "https://x/jwks", "audiences": ["api"], "algorithms": ["HS256"]}]',
    '[{"issuer": "https://x", "jwks_url": "https://x/jwks", "audiences": ["api"], "token_use": "id"}]',
    '[{"issuer": "", "jwks_url": "https://x/jwks", "audiences": ["api"]}]',
])
def test_a_bad_oidc_configuration_fails_loudly(document: str) -> None:
    with pytest.raises(ValueError):
        parse_issuers(document)
