"""Verifying the bearer JWTs the authorizer is shown: Cognito access tokens and any OIDC issuer.

Pure logic: no boto3, no environment. The caller hands in the configured issuers, a key cache
(which fetches JWKS documents through a port) and a clock.

The order of the checks is the point:

1. The header and payload are read *unverified*, only to choose an issuer by ``iss`` and a key
   by ``kid``. Nothing else is trusted from them.
2. ``alg`` must be one the chosen issuer pins, before any key is touched. So ``alg: none``
   and "HS256 with the public key as the HMAC secret" are refused without ever reaching
   a verifier. Issuers may pin asymmetric algorithms only.
3. The key comes only from the issuer's configured JWKS URL (``jku``, ``x5u`` and ``jwk``
   headers are ignored) and is bound to its own algorithm by ``PyJWK``.
4. PyJWT verifies the signature, ``iss`` and the required claims.
5. Times (``exp``, ``nbf``, ``iat``) are checked here against the injected clock with the
   issuer's leeway: PyJWT reads the wall clock itself and cannot be given one.
6. ``token_use`` (when the issuer has one), then the audience: a Cognito access token's
   ``client_id``, or an ID / OIDC token's ``aud``.

Every refusal is an :class:`InvalidToken` with a short fixed reason; none repeats the token.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import jwt

from wrapper.kernel.errors import Unauthorized, Unavailable

# Signatures that verify with a published public key. HMAC ("HS*") and "none" are never
# acceptable for keys fetched from a JWKS.
ASYMMETRIC_ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
})
TOKEN_USES = (None, "access", "id")
# API Gateway refuses headers past 10 KB; anything longer is not a token we issued.
MAX_TOKEN_CHARS = 10_240


class InvalidToken(Unauthorized):
    """The token is not one we accept. ``reason`` is short, fixed text, safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(Unavailable):
    """The issuer's JWKS could not be fetched or read: we cannot tell good tokens from bad."""


@dataclass(frozen=True)
class Issuer:
    """One identity provider we accept tokens from.

    ``audiences`` are the accepted ``aud`` values (ID and OIDC tokens) or, when ``token_use``
    is ``"access"`` (Cognito), the accepted ``client_id`` values. ``token_use`` is ``None``
    for issuers that have no such claim (plain OIDC, e.g. Kinde).
    """

    issuer: str
    jwks_url: str
    audiences: tuple[str, ...]
    token_use: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    leeway_seconds: int = 0

    def __post_init__(self) -> None:
        if not self.issuer or not self.jwks_url:
            raise ValueError("an issuer needs its iss and its JWKS URL")
        if not isinstance(self.audiences, tuple) or not self.audiences \
                or not all(isinstance(a, str) and a for a in self.audiences):
            raise ValueError("audiences must be a non-empty tuple of strings")
        if not isinstance(self.algorithms, tuple) or not self.algorithms \
                or not set(self.algorithms) <= ASYMMETRIC_ALGORITHMS:
            raise ValueError(f"algorithms must be a non-empty tuple drawn from {sorted(ASYMMETRIC_ALGORITHMS)}")
        if self.token_use not in TOKEN_USES:
            raise ValueError(f"token_use must be one of {TOKEN_USES}")
        if self.leeway_seconds < 0:
            raise ValueError("leeway_seconds cannot be negative")

    @property
    def is_access(self) -> bool:
        return self.token_use == "access"  # noqa: S105 (a claim value, not a secret)


def parse_issuers(document: str) -> tuple[Issuer, ...]:
    """OIDC issuers from their JSON configuration (a list of objects with ``issuer``,
    ``audiences``, ``jwks_url`` and optionally ``algorithms`` and ``leeway_seconds``). Anything
    else is a ``ValueError``: a misconfigured authorizer must fail at its cold start, not accept."""
    try:
        entries = json.loads(document or "[]")
    except json.JSONDecodeError as err:
        raise ValueError(f"OIDC issuers are not JSON: {err}") from None
    if not isinstance(entries, list):
        raise ValueError("OIDC issuers must be a JSON list")
    allowed = {"issuer", "audiences", "jwks_url", "algorithms", "leeway_seconds"}
    issuers = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) - allowed:
            raise ValueError(f"an OIDC issuer has exactly the keys {sorted(allowed)}")
        audiences = entry.get("audiences")
        if isinstance(audiences, str) or not isinstance(audiences, list):
            raise ValueError("an OIDC issuer's audiences are a list of strings")
        issuers.append(Issuer(issuer=str(entry.get("issuer", "")), jwks_url=str(entry.get("jwks_url", "")),
                              audiences=tuple(audiences), token_use=None,
                              algorithms=tuple(entry.get("algorithms", ["RS256"])),
                              leeway_seconds=int(entry.get("leeway_seconds", 0))))
    return tuple(issuers)


@dataclass(frozen=True)
class Claims:
    """What a verified token says. ``raw`` is every claim, read-only, kept out of repr."""

    subject: str
    issuer: str
    token_use: str | None
    client_id: str | None
    audience: tuple[str, ...]
    scopes: tuple[str, ...]
    expires_at: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)


class KeyFetcher(Protocol):
    """Fetches a JWKS document (``{"keys": [...]}``) from its URL. Errors may be anything."""

    def __call__(self, jwks_url: str) -> dict[str, Any]: ...


@dataclass
class _KeySet:
    keys: dict[str, jwt.PyJWK]
    fetched_at: float
    # After a failed refetch, the provider is not asked again before this time.
    retry_at: float = 0.0


class JwksCache:
    """Signing keys per JWKS URL, kept ``ttl_seconds``.

    A ``kid`` the cache does not know triggers one refetch, but at most one per URL every
    ``min_refetch_seconds`` (counted from the last fetch of any kind): a flood of tokens with
    made-up ``kid``s costs the identity provider one request a minute, and a real key rotation
    is picked up on the first token that uses the new key.

    If a refetch fails, keys already held keep serving for ``stale_seconds`` past their TTL:
    an identity provider's brief outage must not sign everybody out. A key that was never
    fetched is never trusted, and a failed fetch is retried no sooner than the refetch interval.

    Not thread-safe; a Lambda execution environment serves one request at a time.
    """

    def __init__(self, fetch: KeyFetcher, *, ttl_seconds: float = 3600, min_refetch_seconds: float = 60,
                 stale_seconds: float = 6 * 3600, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._min_refetch = min_refetch_seconds
        self._stale = stale_seconds
        self._clock = clock
        self._sets: dict[str, _KeySet] = {}

    def key(self, jwks_url: str, kid: str) -> jwt.PyJWK:
        """The key ``kid`` published at ``jwks_url``; :class:`InvalidToken` if there is none."""
        now = self._clock()
        cached = self._sets.get(jwks_url)
        if cached is None or self._due(cached, kid, now):
            cached = self._refresh(jwks_url, now, cached)
        found = cached.keys.get(kid)
        if found is None:
            raise InvalidToken("unknown signing key")
        return found

    def _due(self, cached: _KeySet, kid: str, now: float) -> bool:
        """Expired, or missing ``kid`` and not fetched within the minimum refetch interval."""
        if now < cached.retry_at:
            return False
        age = now - cached.fetched_at
        return age >= self._ttl or (kid not in cached.keys and age >= self._min_refetch)

    def _refresh(self, jwks_url: str, now: float, held: _KeySet | None) -> _KeySet:
        try:
            document = self._fetch(jwks_url)
            keys = _signing_keys(document)
        except Exception as err:
            if held is not None and now - held.fetched_at < self._ttl + self._stale:
                held.retry_at = now + self._min_refetch
                return held
            raise KeysUnavailable("could not fetch the issuer's signing keys") from err
        fresh = _KeySet(keys=keys, fetched_at=now)
        self._sets[jwks_url] = fresh
        return fresh


def _signing_keys(document: object) -> dict[str, jwt.PyJWK]:
    """The usable signature keys of a JWKS document, by kid. Unusable entries are skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise KeysUnavailable("the issuer's JWKS document has no key list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or entry.get("use", "sig") != "sig" or entry.get("kty") == "oct":
            continue
        try:
            keys[kid] = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue
    return keys


def verify(token: str, issuers: Sequence[Issuer], keys: JwksCache, now: Callable[[], float]) -> Claims:
    """The claims of ``token`` if one of ``issuers`` signed it and it is valid now; else :class:`InvalidToken`.

    May raise :class:`KeysUnavailable` when an issuer's JWKS cannot be fetched.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("malformed token")
    try:
        unverified = jwt.decode_complete(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidToken("malformed token") from None
    header: dict[str, Any] = unverified["header"]
    issuer = _issuer_for(unverified["payload"].get("iss"), issuers)

    if header.get("alg") not in issuer.algorithms:
        raise InvalidToken("algorithm not allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("missing key id")
    key = keys.key(issuer.jwks_url, kid)

    payload = _decode(token, key, issuer)
    _check_times(payload, now(), issuer.leeway_seconds)
    if issuer.token_use is not None and payload.get("token_use") != issuer.token_use:
        raise InvalidToken("wrong token use")
    audience = _audience(payload, issuer)
    client_id = payload.get("client_id") if issuer.is_access else payload.get("azp", payload.get("client_id"))

    return Claims(
        subject=payload["sub"],
        issuer=issuer.issuer,
        token_use=payload.get("token_use") if isinstance(payload.get("token_use"), str) else None,
        client_id=client_id if isinstance(client_id, str) else None,
        audience=audience,
        scopes=_scopes(payload),
        expires_at=int(payload["exp"]),
        raw=MappingProxyType(payload),
    )


def _issuer_for(iss: object, issuers: Sequence[Issuer]) -> Issuer:
    for candidate in issuers:
        if isinstance(iss, str) and iss == candidate.issuer:
            return candidate
    raise InvalidToken("unknown issuer")


# PyJWT errors, most specific first, to the reason we give. Their own messages are not used.
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.InvalidIssuerError, "wrong issuer"),
    (jwt.InvalidKeyError, "unusable signing key"),
    (jwt.DecodeError, "malformed token"),
)


def _decode(token: str, key: jwt.PyJWK, issuer: Issuer) -> dict[str, Any]:
    required = ["exp", "iss", "sub"] + (["token_use"] if issuer.token_use else [])
    try:
        payload: dict[str, Any] = jwt.decode(
            token, key,
            algorithms=list(issuer.algorithms),
            issuer=issuer.issuer,
            options={
                "require": required,
                "verify_signature": True,
                "verify_iss": True,
                "verify_sub": True,
                # Checked by this module: times against the injected clock, the audience
                # after token_use so the reason names the real mismatch.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "enforce_minimum_key_length": True,
            },
        )
    except jwt.MissingRequiredClaimError as err:
        raise InvalidToken(f"missing claim: {err.claim}") from None
    except jwt.PyJWTError as err:
        reason = next((text for kind, text in _REASONS if isinstance(err, kind)), "invalid token")
        raise InvalidToken(reason) from None
    return payload


def _numeric_date(payload: Mapping[str, Any], claim: str) -> float | None:
    value = payload.get(claim)
    if value is None:
        return None
    # JSON allows true/false (bool is an int in Python) and Python's json reads NaN and Infinity.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidToken(f"malformed claim: {claim}")
    return float(value)


def _check_times(payload: Mapping[str, Any], now: float, leeway: float) -> None:
    expires = _numeric_date(payload, "exp")
    if expires is None:
        raise InvalidToken("missing claim: exp")
    if expires <= now - leeway:
        raise InvalidToken("token expired")
    not_before = _numeric_date(payload, "nbf")
    if not_before is not None and not_before > now + leeway:
        raise InvalidToken("token not yet valid")
    issued_at = _numeric_date(payload, "iat")
    if issued_at is not None and issued_at > now + leeway:
        raise InvalidToken("token issued in the future")


def _audience(payload: Mapping[str, Any], issuer: Issuer) -> tuple[str, ...]:
    """The token's ``aud`` values, once the audience is one we accept."""
    if issuer.is_access:
        if payload.get("client_id") not in issuer.audiences:
            raise InvalidToken("wrong client")
        aud = payload.get("aud")
        return (aud,) if isinstance(aud, str) else ()
    aud = payload.get("aud")
    values = [aud] if isinstance(aud, str) else aud
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidToken("wrong audience")
    if not set(values) & set(issuer.audiences):
        raise InvalidToken("wrong audience")
    return tuple(values)


def _scopes(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """``scope`` (space-separated, RFC 8693 / Cognito) or ``scp`` (a list, e.g. Kinde)."""
    for claim in ("scope", "scp"):
        value = payload.get(claim)
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list):
            return tuple(v for v in value if isinstance(v, str))
    return ()
