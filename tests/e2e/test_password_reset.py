"""Password reset over HTTP: ask for a token by email (always 202), the email arrives, the token
sets a new password once; earlier sessions end, the lockout clears, and the tenants' audit logs
show the reset and the failed sign-ins."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import requests

from tests.support import PASSWORD, LocalClock, call, emails_to, join, signup, table, token_in, wait_for
from wrapper.store.schema import OUTBOX_SK_PREFIX, TOKEN_SK, reset_token_pk, tenant_pk

PROBLEM = "application/problem+json"
NEW_PASSWORD = "a brand new passphrase"
FORGOT = "/v1/auth/password/forgot"
RESET = "/v1/auth/password/reset"


def _email() -> str:
    return f"reset-{uuid.uuid4().hex[:10]}@tests.example"


def _post(cloud: Any, path: str, body: Any) -> requests.Response:
    answer: requests.Response = call(cloud, "POST", path, None, body=body)
    return answer


def _login(cloud: Any, email: str, password: str) -> requests.Response:
    return _post(cloud, "/v1/auth/login", {"email": email, "password": password})


def _forgot(cloud: Any, email: str) -> str:
    """Ask for a reset and answer the token of the email that arrives."""
    before = len(emails_to(cloud, email))
    answer = _post(cloud, FORGOT, {"email": email})
    assert answer.status_code == 202, answer.text
    mails = emails_to(cloud, email)
    assert len(mails) == before + 1
    return token_in(mails[-1], "Reset token")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _outbox(cloud: Any, tenant_id: str, event_type: str) -> list[dict[str, Any]]:
    """The events of a type a tenant's writes recorded (synchronous, unlike the audit log)."""
    items, _ = table(cloud).query(tenant_pk(tenant_id), sk_prefix=OUTBOX_SK_PREFIX, limit=500)
    return [json.loads(i["envelope"]) for i in items if i["event_type"] == event_type]


def _audit_actions(cloud: Any, session: dict[str, Any], action: str) -> list[dict[str, Any]]:
    answer = call(cloud, "GET", "/v1/audit-log", session, action=action, limit=100)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["items"]
    return entries


def _sent_count(cloud: Any) -> int:
    answer = requests.get(f"{cloud.api_url}/_local/emails", timeout=10)
    return len(answer.json()["items"])


def _at_the_start_of_an_hour(local_clock: LocalClock) -> None:
    """Reset requests are counted per clock hour: a test that counts them moves the clock to the start
    of the next hour, so that it does not straddle two."""
    local_clock.set(local_clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))


# ---------------------------------------------------------------------------------------- happy path
def test_a_reset_by_emailed_token_replaces_the_password(cloud: Any) -> None:
    # Given an account
    email = _email()
    signup(cloud, "Acme Reset", email=email)

    # When its owner asks for a reset (in another case) and follows the email
    answer = _post(cloud, FORGOT, {"email": email.upper()})
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "accepted"
    mail = emails_to(cloud, email)[-1]
    token = token_in(mail, "Reset token")
    assert f"/password/reset?token={token}" in mail["text"]
    # only the token's digest is stored, and it names its user
    stored = table(cloud).get(reset_token_pk(_digest(token)), TOKEN_SK)
    assert stored and stored["email"] == email and token not in json.dumps(stored, default=str)
    assert 3500 < int(stored["expires_at"]) - time.time() <= 3600
    reset = _post(cloud, RESET, {"token": token, "password": NEW_PASSWORD})

    # Then the new password signs in and the old one does not
    assert reset.status_code == 204, reset.text
    assert _login(cloud, email, NEW_PASSWORD).status_code == 200
    assert _login(cloud, email, PASSWORD).status_code == 401


def test_forgot_answers_the_same_for_an_unknown_email_and_sends_nothing(cloud: Any) -> None:
    known = _email()
    signup(cloud, "Acme Known", email=known)
    unknown = _email()

    for_known = _post(cloud, FORGOT, {"email": known})
    for_unknown = _post(cloud, FORGOT, {"email": unknown})

    assert for_known.status_code == for_unknown.status_code == 202
    assert for_known.json() == for_unknown.json()
    assert emails_to(cloud, unknown) == []
    assert len(emails_to(cloud, known)) == 1


# ---------------------------------------------------------------------------------------- single use, expiry
def test_a_token_works_once(cloud: Any) -> None:
    email = _email()
    signup(cloud, "Acme Once", email=email)
    token = _forgot(cloud, email)
    assert _post(cloud, RESET, {"token": token, "password": NEW_PASSWORD}).status_code == 204

    again = _post(cloud, RESET, {"token": token, "password": "yet another passphrase"})

    assert again.status_code == 404 and again.headers["Content-Type"] == PROBLEM
    assert "invalid, expired or already used" in again.json()["detail"]
    assert _login(cloud, email, NEW_PASSWORD).status_code == 200


def test_two_concurrent_uses_of_one_token_set_one_password(cloud: Any) -> None:
    email = _email()
    signup(cloud, "Acme Race", email=email)
    token = _forgot(cloud, email)
    passwords = ["first racing passphrase", "second racing passphrase"]

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda p: _post(cloud, RESET, {"token": token, "password": p}), passwords))

    assert sorted(a.status_code for a in answers) == [204, 404]
    winner = passwords[[a.status_code for a in answers].index(204)]
    assert _login(cloud, email, winner).status_code == 200


def test_an_expired_token_is_refused_and_changes_nothing(cloud: Any) -> None:
    # Given a token whose hour has passed (written as forgot writes it, an hour ago)
    email = _email()
    session = signup(cloud, "Acme Expired", email=email)
    token = f"expired-{uuid.uuid4().hex}"
    table(cloud).put({"PK": reset_token_pk(_digest(token)), "SK": TOKEN_SK, "record_type": "reset_token",
                      "user_id": session["user_id"], "email": email, "expires_at": int(time.time()) - 1})

    answer = _post(cloud, RESET, {"token": token, "password": NEW_PASSWORD})

    assert answer.status_code == 404 and answer.headers["Content-Type"] == PROBLEM
    assert _login(cloud, email, PASSWORD).status_code == 200


def test_an_unknown_token_is_refused_like_a_used_one(cloud: Any) -> None:
    answer = _post(cloud, RESET, {"token": "A" * 43, "password": NEW_PASSWORD})
    assert answer.status_code == 404 and answer.headers["Content-Type"] == PROBLEM


def test_a_new_request_invalidates_the_previous_token(cloud: Any) -> None:
    email = _email()
    signup(cloud, "Acme Twice", email=email)
    first = _forgot(cloud, email)
    second = _forgot(cloud, email)

    assert table(cloud).get(reset_token_pk(_digest(first)), TOKEN_SK) is None
    assert _post(cloud, RESET, {"token": first, "password": NEW_PASSWORD}).status_code == 404
    assert _post(cloud, RESET, {"token": second, "password": NEW_PASSWORD}).status_code == 204


def test_concurrent_requests_leave_one_live_token(cloud: Any, local_clock: LocalClock) -> None:
    _at_the_start_of_an_hour(local_clock)
    email = _email()
    signup(cloud, "Acme Concurrent", email=email)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: _post(cloud, FORGOT, {"email": email}), range(2)))

    assert [a.status_code for a in answers] == [202, 202]
    tokens = [token_in(mail, "Reset token") for mail in emails_to(cloud, email)]
    live = [t for t in tokens if table(cloud).get(reset_token_pk(_digest(t)), TOKEN_SK)]
    assert len(tokens) in (1, 2) and len(live) == 1


# ---------------------------------------------------------------------------------------- rate limit
def test_the_fourth_request_in_an_hour_is_accepted_but_sends_no_email(cloud: Any,
                                                                     local_clock: LocalClock) -> None:
    _at_the_start_of_an_hour(local_clock)
    email = _email()
    signup(cloud, "Acme Limited", email=email)
    for _ in range(3):
        _forgot(cloud, email)
    live = token_in(emails_to(cloud, email)[-1], "Reset token")

    fourth = _post(cloud, FORGOT, {"email": email})

    assert fourth.status_code == 202 and fourth.json()["status"] == "accepted"
    assert len(emails_to(cloud, email)) == 3
    # and the last emailed token still works
    assert _post(cloud, RESET, {"token": live, "password": NEW_PASSWORD}).status_code == 204


# ---------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("body", "status"), [
    ({}, 422),                                              # missing field
    ({"email": "x@tests.example", "tenant": "acme"}, 422),  # extra field
    ({"email": 42}, 422),                                   # wrong type
    ({"email": "not-an-email"}, 422),
    ("{not json", 400),
])
def test_bad_forgot_input_is_a_4xx_problem_and_sends_nothing(cloud: Any, body: Any, status: int) -> None:
    before = _sent_count(cloud)
    answer = _post(cloud, FORGOT, body)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert _sent_count(cloud) == before


@pytest.fixture(scope="module")
def pending(cloud: Any) -> dict[str, str]:
    """An account with a live reset token, which no bad request may spend."""
    email = _email()
    signup(cloud, "Acme Bad Input", email=email)
    return {"email": email, "token": _forgot(cloud, email)}


@pytest.mark.parametrize(("body", "status"), [
    ({"password": NEW_PASSWORD}, 422),                                   # missing token
    ({"token": "{token}"}, 422),                                         # missing password
    ({"token": "{token}", "password": NEW_PASSWORD, "email": "x@y.z"}, 422),  # extra field
    ({"token": "{token}", "password": "short"}, 422),                    # weak password
    ({"token": "{token}", "password": f" {NEW_PASSWORD} "}, 422),        # surrounding spaces
    ({"token": "{token}", "password": 123456789012345}, 422),            # wrong type
    ({"token": ["{token}"], "password": NEW_PASSWORD}, 422),             # wrong type
    ({"token": "not a token!", "password": NEW_PASSWORD}, 422),          # not a token's shape
    ("{not json", 400),
])
def test_bad_reset_input_is_a_4xx_problem_and_spends_nothing(cloud: Any, pending: dict[str, str], body: Any,
                                                             status: int) -> None:
    sent = body if isinstance(body, str) else json.loads(json.dumps(body).replace("{token}", pending["token"]))
    answer = _post(cloud, RESET, sent)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert table(cloud).get(reset_token_pk(_digest(pending['token'])), TOKEN_SK) is not None
    assert _login(cloud, pending["email"], PASSWORD).status_code == 200


def test_the_token_still_works_after_rejected_requests(cloud: Any, pending: dict[str, str]) -> None:
    assert _post(cloud, RESET, {"token": pending["token"], "password": "short"}).status_code == 422
    assert _post(cloud, RESET, {"token": pending["token"], "password": NEW_PASSWORD}).status_code == 204
    assert _login(cloud, pending["email"], NEW_PASSWORD).status_code == 200


# ---------------------------------------------------------------------------------------- whose account
def test_a_token_resets_only_the_account_it_was_emailed_for(cloud: Any) -> None:
    # Given two tenants' owners, and B holding its own token (and A's tenant id)
    a_email, b_email = _email(), _email()
    a = signup(cloud, "Acme Owner A", email=a_email)
    b = signup(cloud, "Globex Owner B", email=b_email)
    b_token = _forgot(cloud, b_email)

    # When B resets with it, sending A's tenant and its own bearer token along
    answer = call(cloud, "POST", RESET, b, tenant=a["tenant_id"], body={"token": b_token, "password": NEW_PASSWORD})

    # Then only B's password changed, and only B's tenant recorded it
    assert answer.status_code == 204
    assert _login(cloud, a_email, PASSWORD).status_code == 200
    assert _login(cloud, b_email, NEW_PASSWORD).status_code == 200
    assert _outbox(cloud, a["tenant_id"], "auth.password_reset") == []
    assert len(_outbox(cloud, b["tenant_id"], "auth.password_reset")) == 1


# ---------------------------------------------------------------------------------------- sessions, lockout
def test_a_locked_out_email_signs_in_after_a_reset(cloud: Any) -> None:
    email = _email()
    signup(cloud, "Acme Locked", email=email)
    for _ in range(5):
        assert _login(cloud, email, "wrong password").status_code == 401
    assert _login(cloud, email, PASSWORD).status_code == 429

    token = _forgot(cloud, email)
    assert _post(cloud, RESET, {"token": token, "password": NEW_PASSWORD}).status_code == 204

    assert _login(cloud, email, NEW_PASSWORD).status_code == 200


def test_refresh_tokens_issued_before_a_reset_stop_refreshing(cloud: Any) -> None:
    email = _email()
    session = signup(cloud, "Acme Sessions", email=email)
    other = _login(cloud, email, PASSWORD).json()
    assert _post(cloud, "/v1/auth/refresh", {"refresh_token": session["refresh_token"]}).status_code == 200

    token = _forgot(cloud, email)
    assert _post(cloud, RESET, {"token": token, "password": NEW_PASSWORD}).status_code == 204

    for earlier in (session, other):
        refused = _post(cloud, "/v1/auth/refresh", {"refresh_token": earlier["refresh_token"]})
        assert refused.status_code == 401 and refused.headers["Content-Type"] == PROBLEM
    fresh = _login(cloud, email, NEW_PASSWORD).json()
    assert _post(cloud, "/v1/auth/refresh", {"refresh_token": fresh["refresh_token"]}).status_code == 200


# ---------------------------------------------------------------------------------------- events, audit log
def test_a_reset_is_recorded_in_every_tenant_of_the_user(cloud: Any) -> None:
    # Given a user who owns one tenant and is a member of another
    email = _email()
    user = signup(cloud, "Acme Home", email=email)
    other = signup(cloud, "Globex Host")
    join(cloud, other["tenant_id"], user["user_id"], "member")
    token = _forgot(cloud, email)

    # When the user resets the password
    answer = call(cloud, "POST", RESET, None, body={"token": token, "password": NEW_PASSWORD},
                  headers={"X-Request-Id": "reset-audit-1"})
    assert answer.status_code == 204

    # Then each tenant's audit log shows the reset, by and of the user
    for owner in (user, other):
        def logged(session: dict[str, Any] = owner) -> list[dict[str, Any]]:
            return _audit_actions(cloud, session, "auth.password_reset")

        (entry,) = wait_for(logged, message="the reset's audit entry")
        assert entry["actor"] == entry["target"] == user["user_id"]
        assert entry["request_id"] == "reset-audit-1" and entry["source_ip"]


def test_failed_sign_ins_of_a_known_email_are_recorded_and_locking_once_per_window(cloud: Any) -> None:
    # Given an owner whose email is guessed at until it locks, and then some more
    email = _email()
    owner = signup(cloud, "Acme Guessed", email=email)
    for _ in range(5):
        assert _login(cloud, email, "wrong password").status_code == 401
    for _ in range(3):
        assert _login(cloud, email, "wrong password").status_code == 429

    # Then five wrong passwords and one lockout are recorded, by nobody known, of the owner
    events = _outbox(cloud, owner["tenant_id"], "auth.login_failed")
    reasons = sorted(e["data"]["reason"] for e in events)
    assert reasons == ["locked"] + ["wrong_password"] * 5
    assert {e["data"]["actor"] for e in events} == {"anonymous"}
    assert {e["data"]["target"] for e in events} == {owner["user_id"]}
    assert all(e["data"]["request_id"] and e["data"]["source_ip"] for e in events)
    # and they reach the owner's audit log
    def logged() -> list[dict[str, Any]]:
        entries = _audit_actions(cloud, owner, "auth.login_failed")
        return entries if len(entries) == 6 else []

    assert {e["target"] for e in wait_for(logged, message="the failed sign-ins' audit entries")} == {
        owner["user_id"]}


def test_failed_sign_ins_of_an_unknown_email_record_nothing_and_answer_the_same(cloud: Any) -> None:
    email = _email()
    owner = signup(cloud, "Acme Same Answer", email=email)
    wrong = _login(cloud, email, "wrong password")
    unknown = _login(cloud, _email(), "wrong password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert len(_outbox(cloud, owner["tenant_id"], "auth.login_failed")) == 1
