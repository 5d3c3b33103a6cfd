"""Linking another OIDC provider's subjects to Wrapper users (against moto's DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.builders import wrapper_table
from wrapper.identity.oidc import OidcLinks
from wrapper.identity.tokens import Claims
from wrapper.store.table import Table

ISSUER = "https://acme.kinde.com"
USERS = {"ann@acme.example": "user-ann", "bob@acme.example": "user-bob"}


@pytest.fixture
def table() -> Iterator[Table]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        yield wrapper_table(client)


def claims(subject: str = "kp_1", **raw: Any) -> Claims:
    return Claims(subject=subject, issuer=ISSUER, token_use=None, client_id=None, audience=("api",), scopes=(),
                  expires_at=2_000_000_000, raw=MappingProxyType({"sub": subject, "iss": ISSUER, **raw}))


def links(table: Table) -> OidcLinks:
    return OidcLinks(table, issuers=[ISSUER], user_id_by_email=USERS.get)


def test_a_verified_email_links_the_subject_to_its_user_once_and_for_all(table: Table) -> None:
    # Given a first token with Ann's verified email, in another case
    first = links(table).user_for(claims(email="Ann@Acme.example", email_verified=True))

    # When the same subject later shows Bob's email
    later = links(table).user_for(claims(email="bob@acme.example", email_verified=True))

    # Then it stays Ann: a provider account cannot be moved by changing its email
    assert first == later == "user-ann"


@pytest.mark.parametrize("raw", [
    {"email": "ann@acme.example"},
    {"email": "ann@acme.example", "email_verified": "true"},
    {"email": "ann@acme.example", "email_verified": False},
    {"email_verified": True},
    {"email": "not an email", "email_verified": True},
    {"email": "nobody@acme.example", "email_verified": True},
], ids=["unverified", "verified-as-string", "verified-false", "no-email", "bad-email", "no-account"])
def test_a_subject_without_a_verified_email_of_an_account_is_nobody(table: Table, raw: dict[str, Any]) -> None:
    assert links(table).user_for(claims(**raw)) is None
    # and nothing was linked, so a later verified token still decides
    assert links(table).user_for(claims(email="bob@acme.example", email_verified=True)) == "user-bob"


def test_the_same_subject_at_another_issuer_is_another_identity(table: Table) -> None:
    links(table).user_for(claims(email="ann@acme.example", email_verified=True))
    other = Claims(subject="kp_1", issuer="https://evil.example", token_use=None, client_id=None, audience=(),
                   scopes=(), expires_at=2_000_000_000, raw=MappingProxyType({"sub": "kp_1"}))

    assert links(table).user_for(other) is None


def test_a_link_made_meanwhile_by_a_concurrent_request_wins(table: Table) -> None:
    # Given a link written between our read and our write (a concurrent first request)
    racing = links(table)
    original_get = table.get
    calls = {"n": 0}

    def get_then_race(pk: str, sk: str, **kwargs: Any) -> Any:
        calls["n"] += 1
        found = original_get(pk, sk, **kwargs)
        if calls["n"] == 1:
            table.put({"PK": pk, "SK": sk, "user_id": "user-bob"})
        return found

    table.get = get_then_race  # type: ignore[method-assign]

    # When our request tries to link the subject to Ann
    user = racing.user_for(claims(email="ann@acme.example", email_verified=True))

    # Then the stored link is the answer
    assert user == "user-bob"
