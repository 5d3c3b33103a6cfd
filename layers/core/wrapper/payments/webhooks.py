"""Stripe webhook signatures (the ``Stripe-Signature`` header), verified with an injected clock.

We do not use ``stripe.Webhook``: it reads the wall clock and takes one secret, while a rotation needs the
old and the new secret to pass side by side and tests need to fix the time. The scheme is Stripe's:
``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`` (other schemes such as ``v0`` are ignored),
``v1`` = HMAC-SHA256(key = endpoint secret, message = ``f"{t}.{raw body}"``), any ``v1`` matching any
secret passes, and ``t`` must lie within ``tolerance`` seconds of now on either side.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from typing import Any

DEFAULT_TOLERANCE_SECONDS = 300
MAX_SECRETS = 2
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


class InvalidSignature(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _signature(payload: bytes, secret: str, timestamp: int) -> str:
    message = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str, t: int) -> str:
    """The ``Stripe-Signature`` header Stripe would send for this body (tests and the local Stripe server)."""
    return f"t={t},v1={_signature(payload, secret, t)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise InvalidSignature("malformed Stripe-Signature header")
        if key == "t":
            # Stripe signs the decimal form of t: anything else ("+1", " 1", "1.0") could not have been signed.
            if timestamp is not None or not _TIMESTAMP.fullmatch(value):
                raise InvalidSignature("malformed timestamp in Stripe-Signature header")
            timestamp = int(value)
        elif key == "v1" and _HEX_SHA256.fullmatch(value):
            signatures.append(value)
    if timestamp is None:
        raise InvalidSignature("no timestamp in Stripe-Signature header")
    if not signatures:
        raise InvalidSignature("no v1 signature in Stripe-Signature header")
    return timestamp, signatures


def verify(payload: bytes, header: str | None, secrets: Sequence[str], *, now: float,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> dict[str, Any]:
    """The parsed event if ``header`` signs ``payload`` with one of ``secrets`` (one, or two while rotating)
    at a time within ``tolerance`` of ``now``; InvalidSignature(reason) otherwise."""
    if isinstance(secrets, str):
        raise TypeError("secrets is a sequence of secrets, not one secret")
    if not 1 <= len(secrets) <= MAX_SECRETS or not all(secrets):
        raise ValueError(f"between 1 and {MAX_SECRETS} non-empty webhook secrets are required")
    if not header:
        raise InvalidSignature("missing Stripe-Signature header")
    timestamp, signatures = _parse(header)
    expected = [_signature(payload, secret, timestamp) for secret in secrets]
    # Compare every pair, without stopping at the first match, so timing tells nothing about which one matched.
    matched = False
    for candidate in signatures:
        for good in expected:
            matched |= hmac.compare_digest(candidate, good)
    if not matched:
        raise InvalidSignature("no v1 signature matches the payload")
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("timestamp outside the tolerance window")
    try:
        event = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise InvalidSignature("payload is not JSON") from None
    if not isinstance(event, dict):
        raise InvalidSignature("payload is not a JSON object")
    return event
