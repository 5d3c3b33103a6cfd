"""Password reset and failed sign-in events in IdentityService: an in-memory identity provider,
mailbox and clock, with the real store over moto's DynamoDB (its conditions and transactions
are what make tokens single-use)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.builders import fake_aws_environment, wrapper_table
from tests.unit.fakes import Clock
from wrapper.identity.cognito import CognitoIdentityProvider
from wrapper.identity.models import ForgotPasswordRequest, LoginRequest, ResetPasswordRequest
from wrapper.identity.ports import InvalidCredentials, IssuedTokens
from wrapper.identity.service import IdentityService
from wrapper.identity.store import IdentityStore
from wrapper.kernel.errors import LimitExceeded, NotFound, Unauthorized
from wrapper.kernel.request_meta import RequestMeta
from wrapper.notifications import Email
from wrapper.store.schema import (
    OUTBOX_SK_PREFIX,
    RESET_POINTER_SK,
    TOKEN_SK,
    USER_SK,
    digest,
    email_pk,
    membership_sk,
    reset_requests_pk,
    reset_token_pk,
    tenant_pk,
    user_pk,
)
from wrapper.store.table import Table

OLD = "the old passphrase"
NEW = "the new passphrase"
START = 1_800_000_000.0  # an hour boundary: windows of 3600 s and 900 s both start here
APP_URL = "https://app.example/"


@dataclass
class FakeIdentityProvider:
    """Users by email: subject, password, and how many sign-outs everywhere they had."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, email: str, subject: str, password: str) -> None:
        self.users[email] = {"sub": subject, "password": password, "signed_out": 0}

    def create_user(self, email: str, password: str) -> str:
        raise NotImplementedError

    def authenticate(self, email: str, password: str) -> tuple[str, IssuedTokens]:
        user = self.users.get(email)
        if user is None or user["password"] != password:
            raise InvalidCredentials()
        return user["sub"], IssuedTokens("access", "refresh", 1800)

    def refresh(self, refresh_token: str) -> IssuedTokens:
        raise NotImplementedError

    def revoke(self, refresh_token: str) -> None:
        raise NotImplementedError

    def set_password(self, email: str, password: str) -> None:
        self.users[email]["password"] = password

    def sign_out_everywhere(self, email: str) -> None:
        self.users[email]["signed_out"] += 1


@dataclass
class Mailbox:
    sent: list[Email] = field(default_factory=list)

    def send(self, email: Email) -> None:
        self.sent.append(email)

    def to(self, address: str) -> list[Email]:
        return [m for m in self.sent if m.to == address]


@dataclass
class World:
    service: IdentityService
    idp: FakeIdentityProvider
    mailbox: Mailbox
    clock: Clock[float]
    table: Table

    def forgot(self, email: str) -> None:
        self.service.forgot_password(ForgotPasswordRequest(email=email), notifier=self.mailbox, app_url=APP_URL)

    def token_for(self, email: str) -> str:
        line = next(x for x in self.mailbox.to(email)[-1].text.splitlines() if x.startswith("Reset token: "))
        return line.removeprefix("Reset token: ")

    def reset(self, token: str, password: str = NEW) -> None:
        self.service.reset_password(ResetPasswordRequest(token=token, password=password),
                                    request_meta=RequestMeta(request_id="req-1", source_ip="192.0.2.7"))

    def login(self, email: str, password: str) -> Any:
        return self.service.login(LoginRequest(email=email, password=password),
                                  request_meta=RequestMeta(request_id="req-2", source_ip="192.0.2.8"))

    def events(self, tenant_id: str, event_type: str) -> list[dict[str, Any]]:
        items, _ = self.table.query(tenant_pk(tenant_id), sk_prefix=OUTBOX_SK_PREFIX, limit=500)
        return [json.loads(i["envelope"]) for i in items if i["event_type"] == event_type]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        table = wrapper_table(client)
        idp, clock = FakeIdentityProvider(), Clock(START)
        service = IdentityService(idp=idp, store=IdentityStore(table, outbox_ttl_days=7), clock=clock)
        yield World(service, idp, Mailbox(), clock, table)


def _account(world: World, email: str = "ada@example.com", *, user_id: str = "user-ada",
             tenants: tuple[str, ...] = ("acme",)) -> str:
    """A finished sign-up: the identity, the email's user, and the user's memberships."""
    world.idp.add(email, user_id, OLD)
    world.table.put({"PK": email_pk(email), "SK": USER_SK, "user_id": user_id})
    for tenant in tenants:
        world.table.put({"PK": user_pk(user_id), "SK": membership_sk(tenant), "tenant_id": tenant, "role": "owner"})
    return email


def _stored(world: World, token: str) -> dict[str, Any] | None:
    return world.table.get(reset_token_pk(hashlib.sha256(token.encode()).hexdigest()), TOKEN_SK)


# ---------------------------------------------------------------------------------------- forgot
def test_forgot_emails_a_token_whose_digest_alone_is_stored_for_an_hour(world: World) -> None:
    email = _account(world)

    world.forgot(email)

    (mail,) = world.mailbox.to(email)
    token = world.token_for(email)
    assert len(token) == 43  # token_urlsafe(32)
    assert f"https://app.example/password/reset?token={token}" in mail.text
    stored = _stored(world, token)
    assert stored is not None and stored["user_id"] == "user-ada" and stored["email"] == email
    assert int(stored["expires_at"]) == START + 3600
    assert token not in json.dumps(stored, default=str)
    pointer = world.table.get(user_pk("user-ada"), RESET_POINTER_SK)
    assert pointer is not None and pointer["digest"] == hashlib.sha256(token.encode()).hexdigest()


def test_forgot_for_an_unknown_email_sends_nothing_and_writes_no_token(world: World) -> None:
    world.forgot("nobody@example.com")

    assert world.mailbox.sent == []
    items = world.table.client.scan(TableName="wrapper")["Items"]
    # Only the request was counted
    assert [i["PK"]["S"] for i in items] == [reset_requests_pk(digest("nobody@example.com"))]


def test_a_new_request_deletes_the_previous_token(world: World) -> None:
    email = _account(world)
    world.forgot(email)
    first = world.token_for(email)
    world.clock.now += 60

    world.forgot(email)

    second = world.token_for(email)
    assert first != second
    assert _stored(world, first) is None and _stored(world, second) is not None
    with pytest.raises(NotFound):
        world.reset(first)


def test_a_request_that_loses_a_race_sends_nothing_and_leaves_the_winners_token(world: World) -> None:
    # Given a request that read the user's (empty) pointer just before another request wrote one
    email = _account(world)
    store = world.service.store
    read = store.table.get

    def get_then_lose_the_race(pk: str, sk: str, **kwargs: Any) -> Any:
        found = read(pk, sk, **kwargs)
        if sk == RESET_POINTER_SK:
            store.table.get = read  # type: ignore[method-assign]
            store.replace_reset_token(user_id="user-ada", email=email, digest="winner", expires_at=int(START) + 3600,
                                      created_at="now")
        return found

    store.table.get = get_then_lose_the_race  # type: ignore[method-assign]

    # When it goes on to write its own token
    world.forgot(email)

    # Then it sends nothing, and the winner's token is the one live token
    assert world.mailbox.sent == []
    assert world.table.get(user_pk("user-ada"), RESET_POINTER_SK)["digest"] == "winner"  # type: ignore[index]
    items = world.table.client.scan(TableName="wrapper")["Items"]
    assert [i["PK"]["S"] for i in items if i["PK"]["S"].startswith(reset_token_pk(""))] == [reset_token_pk("winner")]


def test_a_fourth_request_in_the_hour_sends_nothing_and_the_next_hour_sends_again(world: World) -> None:
    email = _account(world)
    for minute in range(4):
        world.clock.now = START + minute * 60
        world.forgot(email)
    assert len(world.mailbox.to(email)) == 3

    world.clock.now = START + 3600
    world.forgot(email)

    assert len(world.mailbox.to(email)) == 4


# ---------------------------------------------------------------------------------------- reset
def test_reset_sets_the_password_signs_out_everywhere_and_records_one_event_per_tenant(world: World) -> None:
    email = _account(world, tenants=("acme", "globex"))
    world.forgot(email)

    world.reset(world.token_for(email))

    assert world.idp.users[email]["password"] == NEW
    assert world.idp.users[email]["signed_out"] == 1
    for tenant in ("acme", "globex"):
        (event,) = world.events(tenant, "auth.password_reset")
        assert event["tenant_id"] == tenant
        assert event["data"] == {"actor": "user-ada", "target": "user-ada", "request_id": "req-1",
                                 "source_ip": "192.0.2.7"}
    assert world.table.get(user_pk("user-ada"), RESET_POINTER_SK) is None


def test_a_token_is_spent_by_its_first_use(world: World) -> None:
    email = _account(world)
    world.forgot(email)
    token = world.token_for(email)
    world.reset(token)

    with pytest.raises(NotFound, match="invalid, expired or already used"):
        world.reset(token, "a third passphrase")

    assert world.idp.users[email]["password"] == NEW
    assert len(world.events("acme", "auth.password_reset")) == 1


def test_an_expired_token_is_refused_and_changes_nothing(world: World) -> None:
    email = _account(world)
    world.forgot(email)
    token = world.token_for(email)
    world.clock.now = START + 3600  # the token lives [requested, requested + 1 h)

    with pytest.raises(NotFound):
        world.reset(token)

    assert world.idp.users[email] == {"sub": "user-ada", "password": OLD, "signed_out": 0}
    assert world.events("acme", "auth.password_reset") == []


def test_a_token_that_expires_between_the_read_and_the_claim_is_refused(world: World) -> None:
    # The claim's own condition holds the line, not only the read before it
    email = _account(world)
    world.forgot(email)
    token = world.token_for(email)
    store = world.service.store
    tenants_of = store.tenants_of

    def slow_tenants_of(user_id: str) -> Any:
        world.clock.now = START + 3600
        return tenants_of(user_id)

    store.tenants_of = slow_tenants_of  # type: ignore[method-assign]
    with pytest.raises(NotFound):
        world.reset(token)
    assert world.idp.users[email]["password"] == OLD


def test_an_unknown_token_is_refused(world: World) -> None:
    with pytest.raises(NotFound):
        world.reset("x" * 43)


def test_a_reset_lifts_the_sign_in_lockout(world: World) -> None:
    email = _account(world)
    for _ in range(5):
        with pytest.raises(Unauthorized):
            world.login(email, "a wrong passphrase")
    with pytest.raises(LimitExceeded):
        world.login(email, OLD)
    world.forgot(email)

    world.reset(world.token_for(email))

    assert world.login(email, NEW).user_id == "user-ada"


# ---------------------------------------------------------------------------------------- failed sign-ins
def test_a_wrong_password_is_recorded_in_each_tenant_of_the_user(world: World) -> None:
    email = _account(world, tenants=("acme", "globex"))

    with pytest.raises(Unauthorized):
        world.login(email, "a wrong passphrase")

    for tenant in ("acme", "globex"):
        (event,) = world.events(tenant, "auth.login_failed")
        assert event["data"] == {"actor": "anonymous", "target": "user-ada", "reason": "wrong_password",
                                 "request_id": "req-2", "source_ip": "192.0.2.8"}


def test_an_unknown_email_fails_the_same_way_and_records_nothing(world: World) -> None:
    email = _account(world)
    with pytest.raises(Unauthorized) as wrong:
        world.login(email, "a wrong passphrase")
    with pytest.raises(Unauthorized) as unknown:
        world.login("nobody@example.com", "a wrong passphrase")

    assert wrong.value.detail == unknown.value.detail
    items = world.table.client.scan(TableName="wrapper")["Items"]
    assert sum(1 for i in items if i["SK"]["S"].startswith(OUTBOX_SK_PREFIX)) == 1


def test_refusals_of_a_locked_email_are_recorded_once_per_window(world: World) -> None:
    email = _account(world)
    for _ in range(5):
        with pytest.raises(Unauthorized):
            world.login(email, "a wrong passphrase")
    for _ in range(3):
        with pytest.raises(LimitExceeded):
            world.login(email, OLD)

    reasons = sorted(e["data"]["reason"] for e in world.events("acme", "auth.login_failed"))
    assert reasons == ["locked"] + ["wrong_password"] * 5


def test_a_successful_sign_in_records_nothing(world: World) -> None:
    email = _account(world)
    assert world.login(email, OLD).tenant_id == "acme"
    assert world.events("acme", "auth.login_failed") == []


# ---------------------------------------------------------------------------------------- Cognito adapter
def test_cognito_sets_a_permanent_password_and_global_sign_out_ends_refresh_tokens(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("cognito-idp", region_name="us-east-1")
        policy = {"MinimumLength": 12, "RequireLowercase": False, "RequireUppercase": False,
                  "RequireNumbers": False, "RequireSymbols": False}  # template.yaml's
        pool = client.create_user_pool(PoolName="p", UsernameAttributes=["email"],
                                       Policies={"PasswordPolicy": policy})["UserPool"]["Id"]
        app_client = client.create_user_pool_client(UserPoolId=pool, ClientName="c",
                                                    ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH",
                                                                       "ALLOW_REFRESH_TOKEN_AUTH"])
        idp = CognitoIdentityProvider(client, user_pool_id=pool, client_id=app_client["UserPoolClient"]["ClientId"])
        user_id = idp.create_user("ada@example.com", OLD)
        subject, before = idp.authenticate("ada@example.com", OLD)
        assert subject == user_id  # read from the access token Cognito issued
        assert before.refresh_token

        idp.set_password("ada@example.com", NEW)
        idp.sign_out_everywhere("ada@example.com")

        with pytest.raises(InvalidCredentials):
            idp.authenticate("ada@example.com", OLD)
        with pytest.raises(InvalidCredentials):
            idp.refresh(before.refresh_token)
        _, after = idp.authenticate("ada@example.com", NEW)
        assert after.refresh_token and idp.refresh(after.refresh_token).access_token
