"""Invites over HTTP: invite by email, the email arrives, the invitee accepts (new or existing
account) and becomes a member with the invited role; refusals across roles and tenants."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.support import PASSWORD, call, emails_to, join, signup, table, token_in, wait_for
from wrapper.store.schema import (
    AUDIT_SK_PREFIX,
    INVITE_TOKEN_SK,
    MEMBER_PREFIX,
    PROFILE_SK,
    USER_SK,
    email_pk,
    invite_token_pk,
    member_sk,
    tenant_pk,
    user_pk,
)

PROBLEM = "application/problem+json"


def _email() -> str:
    return f"invitee-{uuid.uuid4().hex[:10]}@tests.example"


def _accept(cloud: Any, token: str, body: Any) -> requests.Response:
    return call(cloud, "POST", f"/v1/invites/{token}/accept", None, body=body)


def _invite(cloud: Any, session: dict[str, Any], email: str, role: str = "member") -> str:
    """Invite, and answer the token from the email that was sent."""
    before = len(emails_to(cloud, email))
    answer = call(cloud, "POST", "/v1/invites", session, body={"email": email, "role": role})
    assert answer.status_code == 201, answer.text
    mails = emails_to(cloud, email)
    assert len(mails) == before + 1
    return token_in(mails[-1], "Invite token")


@pytest.fixture(scope="module")
def acme(cloud: Any) -> dict[str, Any]:
    owner = signup(cloud, "Acme Invites")
    people = {"owner": owner}
    for role in ("manager", "member"):
        people[role] = signup(cloud, f"{role}'s own")
        join(cloud, owner["tenant_id"], people[role]["user_id"], role)
    people["stranger"] = signup(cloud, "Globex Invites")
    return people


def test_a_new_person_accepts_an_invite_and_signs_in_as_a_member(cloud: Any, acme: dict[str, Any]) -> None:
    email = _email()
    answer = call(cloud, "POST", "/v1/invites", acme["owner"], body={"email": email.upper(), "role": "viewer"})
    assert answer.status_code == 201, answer.text
    invite = answer.json()
    assert invite["email"] == email and invite["role"] == "viewer" and invite["status"] == "pending"
    assert "token" not in invite
    mail = emails_to(cloud, email)[-1]
    assert "Acme Invites" in mail["subject"] and "/invites/accept?token=" in mail["text"]
    listed = call(cloud, "GET", "/v1/invites", acme["member"]).json()["items"]
    assert email in [i["email"] for i in listed]

    session = _accept(cloud, token_in(mail, "Invite token"), {"password": PASSWORD})
    assert session.status_code == 200, session.text
    joined = session.json()
    assert joined["tenant_id"] == acme["owner"]["tenant_id"] and joined["access_token"]
    me = call(cloud, "GET", "/v1/tenant", joined)
    assert me.status_code == 200 and me.json()["tenant_id"] == acme["owner"]["tenant_id"]
    assert call(cloud, "PATCH", "/v1/tenant", joined, body={"name": "Mine"}).status_code == 403  # a viewer
    member = table(cloud).get(tenant_pk(joined["tenant_id"]), member_sk(joined["user_id"]))
    assert member and member["role"] == "viewer"
    assert email not in [i["email"] for i in call(cloud, "GET", "/v1/invites", acme["owner"]).json()["items"]]
    # The new account signs in like any other
    login = requests.post(f"{cloud.api_url}/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=20)
    assert login.status_code == 200


def test_an_invite_works_once(cloud: Any, acme: dict[str, Any]) -> None:
    token = _invite(cloud, acme["owner"], _email())
    assert _accept(cloud, token, {"password": PASSWORD}).status_code == 200
    again = _accept(cloud, token, {"password": PASSWORD})
    assert again.status_code == 404 and again.headers["Content-Type"] == PROBLEM


def test_an_existing_user_accepts_with_their_password_and_belongs_to_both_tenants(
        cloud: Any, acme: dict[str, Any]) -> None:
    email = _email()
    own = signup(cloud, "Own Co", email=email)
    token = _invite(cloud, acme["owner"], email, role="member")
    wrong = _accept(cloud, token, {"password": "not the password at all"})
    assert wrong.status_code == 401 and wrong.headers["Content-Type"] == PROBLEM
    joined = _accept(cloud, token, {"password": PASSWORD})
    assert joined.status_code == 200, joined.text
    assert joined.json()["user_id"] == own["user_id"]
    acme_id = acme["owner"]["tenant_id"]
    assert call(cloud, "GET", "/v1/tenant", joined.json(), tenant=acme_id).json()["tenant_id"] == acme_id
    assert call(cloud, "GET", "/v1/tenant", joined.json(), tenant=own["tenant_id"]).status_code == 200


def test_inviting_again_replaces_the_pending_invite(cloud: Any, acme: dict[str, Any]) -> None:
    email = _email()
    first = _invite(cloud, acme["owner"], email, role="viewer")
    second = _invite(cloud, acme["owner"], email, role="member")
    assert _accept(cloud, first, {"password": PASSWORD}).status_code == 404
    joined = _accept(cloud, second, {"password": PASSWORD}).json()
    assert table(cloud).get(tenant_pk(joined["tenant_id"]), member_sk(joined["user_id"]))["role"] == "member"


def test_inviting_a_member_is_a_conflict(cloud: Any, acme: dict[str, Any]) -> None:
    member_email = table(cloud).get(user_pk(acme["member"]["user_id"]), PROFILE_SK)["email"]
    answer = call(cloud, "POST", "/v1/invites", acme["owner"], body={"email": member_email, "role": "viewer"})
    assert answer.status_code == 409 and answer.headers["Content-Type"] == PROBLEM


def test_who_may_invite_whom(cloud: Any, acme: dict[str, Any]) -> None:
    # A member lacks members:write; a manager may not grant admin (permissions it does not hold)
    assert call(cloud, "POST", "/v1/invites", acme["member"],
                body={"email": _email(), "role": "viewer"}).status_code == 403
    assert call(cloud, "POST", "/v1/invites", acme["manager"],
                body={"email": _email(), "role": "admin"}).status_code == 403
    assert call(cloud, "POST", "/v1/invites", acme["manager"],
                body={"email": _email(), "role": "member"}).status_code == 201


def test_another_tenant_cannot_invite_into_or_list_this_tenant(cloud: Any, acme: dict[str, Any]) -> None:
    acme_id, stranger = acme["owner"]["tenant_id"], acme["stranger"]
    email = _email()
    refused = call(cloud, "POST", "/v1/invites", stranger, tenant=acme_id, body={"email": email, "role": "owner"})
    assert refused.status_code == 403
    assert emails_to(cloud, email) == []
    assert call(cloud, "GET", "/v1/invites", stranger, tenant=acme_id).status_code == 403
    _invite(cloud, acme["owner"], email)
    assert email not in [i["email"] for i in call(cloud, "GET", "/v1/invites", stranger).json()["items"]]


def test_an_expired_invite_cannot_be_accepted(cloud: Any, acme: dict[str, Any]) -> None:
    from wrapper.tenancy.invites import token_digest

    token = _invite(cloud, acme["owner"], _email())
    items = table(cloud)
    lookup = items.get(invite_token_pk(token_digest(token)), INVITE_TOKEN_SK)
    items.put({**lookup, "expires_at": 1})  # moto never runs TTL; the code checks the time itself
    assert _accept(cloud, token, {"password": PASSWORD}).status_code == 404


def test_accepting_a_deleted_tenants_invite_is_refused_and_creates_no_member(cloud: Any) -> None:
    owner = signup(cloud, "Closing Co")
    token = _invite(cloud, owner, _email())
    assert call(cloud, "DELETE", "/v1/tenant", owner).status_code == 200
    refused = _accept(cloud, token, {"password": PASSWORD})
    assert refused.status_code == 409
    members, _ = table(cloud).query(tenant_pk(owner["tenant_id"]), sk_prefix=MEMBER_PREFIX)
    assert len(members) == 1


@pytest.mark.parametrize("body", [
    {}, {"email": "a@b.example"}, {"role": "viewer"}, {"email": "not-an-email", "role": "viewer"},
    {"email": "a@b.example", "role": "viewer", "extra": 1}, {"email": 5, "role": "viewer"},
    {"email": "a@b.example", "role": "no-such-role"}, "{not json",
])
def test_bad_invites_are_4xx_problems_and_send_nothing(cloud: Any, acme: dict[str, Any], body: Any) -> None:
    before = len(emails_to(cloud, "a@b.example"))
    answer = call(cloud, "POST", "/v1/invites", acme["owner"], body=body)
    assert 400 <= answer.status_code < 500 and answer.headers["Content-Type"] == PROBLEM
    assert len(emails_to(cloud, "a@b.example")) == before


@pytest.mark.parametrize("body", [{}, {"password": PASSWORD, "extra": True}, {"password": 12345678901234},
                                  {"password": "short"}, "{not json"])
def test_bad_acceptances_are_4xx_problems_and_change_nothing(cloud: Any, acme: dict[str, Any], body: Any) -> None:
    email = _email()
    token = _invite(cloud, acme["owner"], email)
    answer = _accept(cloud, token, body)
    assert 400 <= answer.status_code < 500 and answer.headers["Content-Type"] == PROBLEM
    assert table(cloud).get(email_pk(email), USER_SK) is None
    assert _accept(cloud, token, {"password": PASSWORD}).status_code == 200  # the invite still works


def test_joining_is_audited(cloud: Any, acme: dict[str, Any]) -> None:
    token = _invite(cloud, acme["owner"], _email())
    joined = _accept(cloud, token, {"password": PASSWORD}).json()

    def entries() -> list[dict[str, Any]]:
        items, _ = table(cloud).query(tenant_pk(joined["tenant_id"]), sk_prefix=AUDIT_SK_PREFIX, limit=100)
        return [i for i in items if i["action"] == "member.joined" and i["target"] == joined["user_id"]]

    entry = wait_for(entries, message="the member.joined audit entry")[0]
    assert entry["request_id"] and entry["source_ip"]
