"""Stripe webhook signatures: Stripe's scheme, an injected clock, two secrets while rotating."""

from __future__ import annotations

import json

import pytest
import stripe

from wrapper.payments.webhooks import InvalidSignature, sign, verify

SECRET = "whsec_test_secret"
OTHER_SECRET = "whsec_other_secret"
T = 1_700_000_000
BODY = json.dumps({"id": "evt_1", "object": "event", "type": "setup_intent.succeeded",
                   "data": {"object": {"id": "seti_1", "object": "setup_intent"}}}).encode()

# The vector of ../shared/fixtures/stripe/README.md, computed with the stripe Python SDK 16.1.0: exact bytes.
VECTOR_BODY = (b'{\n  "id": "evt_test_webhook",\n  "object": "event",\n'
               b'  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }\n}')
VECTOR_HEADER = "t=1700000000,v1=3bfab77baf5f7b6991a46c9b53b6547d7afc56148b10468fcad9f35c1992ffbd"


def _reason(payload: bytes, header: str | None, secrets: list[str], now: float = T) -> str:
    with pytest.raises(InvalidSignature) as caught:
        verify(payload, header, secrets, now=now)
    return caught.value.reason


def test_a_body_signed_with_the_secret_within_tolerance_verifies_to_the_parsed_event() -> None:
    # Given a body signed now
    header = sign(BODY, SECRET, T)

    # When it is verified a little later
    event = verify(BODY, header, [SECRET], now=T + 10)

    # Then the parsed event comes back
    assert event["id"] == "evt_1"
    assert event["data"]["object"]["id"] == "seti_1"


def test_the_fixed_vector_is_reproduced_and_verified_exactly() -> None:
    assert sign(VECTOR_BODY, SECRET, 1_700_000_000) == VECTOR_HEADER
    assert verify(VECTOR_BODY, VECTOR_HEADER, [SECRET], now=1_700_000_000)["id"] == "evt_test_webhook"


def test_the_fixed_vector_fails_once_a_single_byte_of_the_body_changes() -> None:
    # A trailing newline is a different body: signatures are over raw bytes, not over parsed JSON.
    assert _reason(VECTOR_BODY + b"\n", VECTOR_HEADER, [SECRET], now=1_700_000_000) == (
        "no v1 signature matches the payload")


def test_what_the_stripe_sdk_generates_verifies() -> None:
    # Given the header the official SDK's own test helper builds
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, timestamp=T)

    # Then our verifier accepts it, and produces the same header itself
    assert verify(BODY, header, [SECRET], now=T)["id"] == "evt_1"
    assert sign(BODY, SECRET, T) == header


def test_what_we_sign_the_stripe_sdk_accepts() -> None:
    stripe.WebhookSignature.verify_header(BODY, sign(BODY, SECRET, T), SECRET, tolerance=None)


def test_a_wrong_secret_is_refused() -> None:
    assert _reason(BODY, sign(BODY, OTHER_SECRET, T), [SECRET]) == "no v1 signature matches the payload"


def test_a_tampered_body_is_refused() -> None:
    header = sign(BODY, SECRET, T)
    tampered = BODY.replace(b"seti_1", b"seti_2")
    assert _reason(tampered, header, [SECRET]) == "no v1 signature matches the payload"


def test_a_timestamp_changed_after_signing_is_refused() -> None:
    signature = sign(BODY, SECRET, T).split(",")[1]
    assert _reason(BODY, f"t={T + 1},{signature}", [SECRET]) == "no v1 signature matches the payload"


@pytest.mark.parametrize("age", [301, 3600])
def test_a_stale_timestamp_is_refused(age: int) -> None:
    assert _reason(BODY, sign(BODY, SECRET, T), [SECRET], now=T + age) == "timestamp outside the tolerance window"


@pytest.mark.parametrize("ahead", [301, 86_400])
def test_a_timestamp_beyond_tolerance_in_the_future_is_refused(ahead: int) -> None:
    assert _reason(BODY, sign(BODY, SECRET, T), [SECRET], now=T - ahead) == "timestamp outside the tolerance window"


@pytest.mark.parametrize("offset", [-300, 300])
def test_the_tolerance_bound_itself_passes(offset: int) -> None:
    assert verify(BODY, sign(BODY, SECRET, T), [SECRET], now=T + offset)["id"] == "evt_1"


def test_a_custom_tolerance_is_honoured() -> None:
    header = sign(BODY, SECRET, T)
    assert verify(BODY, header, [SECRET], now=T + 1000, tolerance=1000)["id"] == "evt_1"
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(BODY, header, [SECRET], now=T + 61, tolerance=60)


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_header_is_refused(header: str | None) -> None:
    assert _reason(BODY, header, [SECRET]) == "missing Stripe-Signature header"


@pytest.mark.parametrize(("header", "reason"), [
    ("garbage", "malformed Stripe-Signature header"),
    (f"t={T}", "no v1 signature in Stripe-Signature header"),
    ("v1=" + "0" * 64, "no timestamp in Stripe-Signature header"),
    (f"t=abc,v1={'0' * 64}", "malformed timestamp in Stripe-Signature header"),
    (f"t=+{T},v1={'0' * 64}", "malformed timestamp in Stripe-Signature header"),
    (f"t={T},t={T},v1={'0' * 64}", "malformed timestamp in Stripe-Signature header"),
    (f"t={T},v1=nothex", "no v1 signature in Stripe-Signature header"),
    (f"t={T},v0={'0' * 64}", "no v1 signature in Stripe-Signature header"),
])
def test_a_malformed_header_is_refused(header: str, reason: str) -> None:
    assert _reason(BODY, header, [SECRET]) == reason


def test_a_v0_signature_is_ignored_even_when_it_would_match() -> None:
    v1 = sign(BODY, SECRET, T).split("v1=")[1]
    assert _reason(BODY, f"t={T},v0={v1}", [SECRET]) == "no v1 signature in Stripe-Signature header"


def test_any_one_of_several_v1_values_matching_passes() -> None:
    # Given a header with a stale signature before the right one (as Stripe sends while rolling a secret)
    right = sign(BODY, SECRET, T).split("v1=")[1]
    wrong = sign(BODY, OTHER_SECRET, T).split("v1=")[1]

    # Then the right one wins, in any position
    assert verify(BODY, f"t={T},v1={wrong},v1={right}", [SECRET], now=T)["id"] == "evt_1"
    assert verify(BODY, f"t={T},v1={right},v1={wrong}", [SECRET], now=T)["id"] == "evt_1"
    assert verify(BODY, f"t={T}, v1={wrong}, v0={wrong}, v1={right}", [SECRET], now=T)["id"] == "evt_1"


def test_during_rotation_a_body_signed_with_either_secret_passes() -> None:
    for used in (SECRET, OTHER_SECRET):
        assert verify(BODY, sign(BODY, used, T), [SECRET, OTHER_SECRET], now=T)["id"] == "evt_1"
    assert _reason(BODY, sign(BODY, "whsec_third", T), [SECRET, OTHER_SECRET]) == (
        "no v1 signature matches the payload")


@pytest.mark.parametrize("secrets", [[], ["a", "b", "c"], [""]])
def test_no_secret_or_more_than_two_is_a_configuration_error(secrets: list[str]) -> None:
    with pytest.raises(ValueError, match="webhook secrets"):
        verify(BODY, sign(BODY, SECRET, T), secrets, now=T)


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_a_correctly_signed_body_that_is_not_a_json_object_is_refused(payload: bytes) -> None:
    with pytest.raises(InvalidSignature, match="JSON"):
        verify(payload, sign(payload, SECRET, T), [SECRET], now=T)


def test_one_secret_passed_as_a_bare_string_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        verify(BODY, sign(BODY, "ab", T), "ab", now=T)
