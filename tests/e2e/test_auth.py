"""Sign-up, sign-in, refresh and sign-out over HTTP through the local cloud."""

from __future__ import annotations

import json
import uuid
from typing import Any

import jwt
import pytest
import requests

from tests.support import wait_for
from wrapper.store.schema import (
    AUDIT_SK_PREFIX,
    MEMBERSHIP_PREFIX,
    PROFILE_SK,
    USER_SK,
    email_pk,
    member_sk,
    tenant_pk,
    user_pk,
)
from wrapper.store.table import Table

PASSWORD = "correct horse battery staple"
PROBLEM = "application/problem+json"


def _email() -> str:
    return f"User.{uuid.uuid4().hex[:10]}@Example.COM"


def _post(cloud: Any, path: str, body: Any, **kwargs: Any) -> requests.Response:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return requests.post(f"{cloud.api_url}{path}", data=data, headers=headers, timeout=20, **kwargs)


def _signup(cloud: Any, email: str | None = None, password: str = PASSWORD, name: str = "Acme") -> requests.Response:
    return _post(cloud, "/v1/auth/signup", {"email": email or _email(), "password": password, "tenant_name": name})


def _table(cloud: Any) -> Table:
    return Table(cloud.client("dynamodb"), cloud.stack.outputs["TableName"])


def _email_item(cloud: Any, email: str) -> dict[str, Any] | None:
    return _table(cloud).get(email_pk(email.casefold()), USER_SK)


def test_signup_creates_the_tenant_and_its_owner_and_signs_in(cloud: Any) -> None:
    email = _email()
    answer = _signup(cloud, email)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert set(body) == {"tenant_id", "user_id", "access_token", "refresh_token", "expires_in", "token_type"}
    assert body["token_type"] == "Bearer"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == body["user_id"]
    assert claims["token_use"] == "access"
    table = _table(cloud)
    assert table.get(tenant_pk(body['tenant_id']), PROFILE_SK)["name"] == "Acme"
    assert table.get(tenant_pk(body['tenant_id']), member_sk(body['user_id']))["role"] == "owner"
    assert _email_item(cloud, email)["user_id"] == body["user_id"]


def test_signup_events_reach_the_tenants_audit_log(cloud: Any) -> None:
    body = _signup(cloud).json()

    def audit() -> list[dict[str, Any]]:
        items, _ = _table(cloud).query(tenant_pk(body['tenant_id']), sk_prefix=AUDIT_SK_PREFIX)
        return items if len(items) == 2 else []

    actions = sorted(entry["action"] for entry in wait_for(audit, message="the sign-up's audit entries"))
    assert actions == ["member.joined", "tenant.created"]


def test_a_second_signup_with_the_same_email_in_other_case_is_409_and_changes_nothing(cloud: Any) -> None:
    email = _email()
    first = _signup(cloud, email).json()
    again = _signup(cloud, email.upper(), name="Other")
    assert again.status_code == 409
    assert again.headers["Content-Type"] == PROBLEM
    items, _ = _table(cloud).query(user_pk(first['user_id']), sk_prefix=MEMBERSHIP_PREFIX)
    assert [i["tenant_id"] for i in items] == [first["tenant_id"]]


@pytest.mark.parametrize(("body", "status"), [
    ({"email": "a@b.example", "password": PASSWORD}, 422),                                  # missing field
    ({"email": "a@b.example", "password": PASSWORD, "tenant_name": "X", "role": "admin"}, 422),  # extra field
    ({"email": "a@b.example", "password": 123456789012, "tenant_name": "X"}, 422),        # wrong type
    ({"email": "not-an-email", "password": PASSWORD, "tenant_name": "X"}, 422),
    ({"email": "a@b.example", "password": "short", "tenant_name": "X"}, 422),
    ({"email": "a@b.example", "password": PASSWORD, "tenant_name": "   "}, 422),
    ({"email": "a@b.example", "password": "x" * 1_000_000, "tenant_name": "X"}, 422),  # a 1 MB body
    ({"email": "a@b.example", "password": f" {PASSWORD} ", "tenant_name": "X"}, 422),  # Cognito would refuse it
    ("{not json", 400),
])
def test_bad_signup_input_is_a_4xx_problem_and_writes_nothing(cloud: Any, body: Any, status: int) -> None:
    answer = _post(cloud, "/v1/auth/signup", body)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert _email_item(cloud, "a@b.example") is None


def test_a_body_that_is_not_json_is_415(cloud: Any) -> None:
    answer = _post(cloud, "/v1/auth/signup", "email=a", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
    assert answer.headers["Content-Type"] == PROBLEM


def test_login_answers_the_session_of_the_users_tenant(cloud: Any) -> None:
    email = _email()
    signed_up = _signup(cloud, email).json()
    answer = _post(cloud, "/v1/auth/login", {"email": email.lower(), "password": PASSWORD})
    assert answer.status_code == 200
    assert answer.json()["tenant_id"] == signed_up["tenant_id"]
    assert answer.json()["user_id"] == signed_up["user_id"]


def test_a_wrong_password_and_an_unknown_email_get_the_same_401(cloud: Any) -> None:
    email = _email()
    _signup(cloud, email)
    wrong = _post(cloud, "/v1/auth/login", {"email": email, "password": "not the password"})
    unknown = _post(cloud, "/v1/auth/login", {"email": _email(), "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_repeated_failures_lock_the_email_for_a_while_even_for_the_right_password(cloud: Any) -> None:
    email = _email()
    _signup(cloud, email)
    for _ in range(5):
        assert _post(cloud, "/v1/auth/login", {"email": email, "password": "wrong password"}).status_code == 401
    locked = _post(cloud, "/v1/auth/login", {"email": email, "password": PASSWORD})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 900
    assert locked.headers["Content-Type"] == PROBLEM


def test_refresh_works_until_logout_revokes_the_token(cloud: Any) -> None:
    session = _signup(cloud).json()
    refreshed = _post(cloud, "/v1/auth/refresh", {"refresh_token": session["refresh_token"]})
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"]
    assert _post(cloud, "/v1/auth/logout", {"refresh_token": session["refresh_token"]}).status_code == 204
    assert _post(cloud, "/v1/auth/logout", {"refresh_token": session["refresh_token"]}).status_code == 204
    assert _post(cloud, "/v1/auth/refresh", {"refresh_token": session["refresh_token"]}).status_code == 401


def test_a_garbage_refresh_token_is_401(cloud: Any) -> None:
    answer = _post(cloud, "/v1/auth/refresh", {"refresh_token": "garbage"})
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == PROBLEM


def test_a_signup_that_stopped_after_creating_the_identity_is_finished_by_its_owner_only(cloud: Any) -> None:
    # Given an identity created by a sign-up that crashed before writing the tenant
    email = _email().casefold()
    idp = cloud.client("cognito-idp")
    pool = cloud.stack.resources["UserPool"].ref
    idp.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": email}])
    idp.admin_set_user_password(UserPoolId=pool, Username=email, Password=PASSWORD, Permanent=True)
    # When someone else retries with another password, then it is refused like a taken email
    assert _signup(cloud, email, password="someone else's password").status_code == 409
    assert _email_item(cloud, email) is None
    # When the owner retries, then the sign-up completes
    healed = _signup(cloud, email)
    assert healed.status_code == 201, healed.text
    assert _email_item(cloud, email)["user_id"] == healed.json()["user_id"]


def test_logout_also_revokes_the_refresh_token_at_cognito(cloud: Any) -> None:
    session = _signup(cloud).json()
    assert _post(cloud, "/v1/auth/logout", {"refresh_token": session["refresh_token"]}).status_code == 204
    # Cognito's own refresh, which anyone holding the token could call directly, refuses it too
    with pytest.raises(Exception, match="NotAuthorized"):
        cloud.client("cognito-idp").admin_initiate_auth(
            UserPoolId=cloud.stack.resources["UserPool"].ref, ClientId=cloud.stack.resources["UserPoolClient"].ref,
            AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": session["refresh_token"]})


def test_sign_in_attempts_are_counted_before_they_are_tried(cloud: Any) -> None:
    from wrapper.identity.store import IdentityStore

    store = IdentityStore(_table(cloud), outbox_ttl_days=1)
    email = _email().casefold()
    admitted = [store.try_attempt(email, 900, max_failures=5, expires_at=2700) for _ in range(7)]
    assert admitted == [True] * 5 + [False] * 2
