"""The local cloud's session-policy evaluation, against the scoped policy Wrapper really uses."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.iam import RequestPart, dynamodb_request_parts, session_allows
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import MEMBER_PREFIX, credits_pk, tenant_pk, usage_pk, user_pk
from wrapper.tenancy.scoping import scoped_policy

TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/wrapper-local"
POLICY = scoped_policy("acme", table_arn=TABLE_ARN)
ACME = TenantContext("acme")


def _parts(operation: str, params: dict[str, Any]) -> list[RequestPart]:
    return dynamodb_request_parts(operation, {"TableName": "wrapper-local", **params},
                                  table_arn=lambda t: f"arn:aws:dynamodb:us-east-1:123456789012:table/{t}",
                                  hash_attr=lambda _t, index: f"{index}PK" if index else "PK")


def _key(pk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": "X"}}


def _allowed(operation: str, params: dict[str, Any]) -> bool:
    return all(session_allows(POLICY, part) for part in _parts(operation, params))


@pytest.mark.parametrize("pk", [tenant_pk("acme"), usage_pk(ACME)])
@pytest.mark.parametrize("operation", ["GetItem", "DeleteItem", "UpdateItem"])
def test_the_tenants_own_keys_are_allowed(operation: str, pk: str) -> None:
    assert _allowed(operation, {"Key": _key(pk)})


@pytest.mark.parametrize("pk", [tenant_pk("globex"), tenant_pk("acmex"), tenant_pk("acm"), user_pk("u1"), ""])
def test_any_other_key_is_refused(pk: str) -> None:
    assert not _allowed("GetItem", {"Key": _key(pk)})
    assert not _allowed("PutItem", {"Item": _key(pk)})


def test_queries_are_judged_by_their_partition_key_value() -> None:
    mine = {"KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :sk)",
            "ExpressionAttributeNames": {"#pk": "PK", "#sk": "SK"},
            "ExpressionAttributeValues": {":pk": {"S": tenant_pk("acme")}, ":sk": {"S": MEMBER_PREFIX}}}
    assert _allowed("Query", mine)
    theirs = {**mine, "ExpressionAttributeValues": {":pk": {"S": tenant_pk("globex")}, ":sk": {"S": MEMBER_PREFIX}}}
    assert not _allowed("Query", theirs)
    on_index = {"IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :v",
                "ExpressionAttributeValues": {":v": {"S": tenant_pk("acme")}}}
    assert _parts("Query", on_index)[0].resource.endswith("/index/GSI1")
    assert _allowed("Query", on_index)


def test_a_transaction_or_batch_is_refused_if_any_part_is_out_of_scope() -> None:
    mixed = {"TransactItems": [{"Put": {"TableName": "wrapper-local", "Item": _key(tenant_pk("acme"))}},
                               {"Delete": {"TableName": "wrapper-local", "Key": _key(user_pk("u"))}}]}
    assert [p.action for p in _parts("TransactWriteItems", mixed)] == ["dynamodb:PutItem", "dynamodb:DeleteItem"]
    assert not _allowed("TransactWriteItems", mixed)
    batch = {"RequestItems": {"wrapper-local": {"Keys": [_key(tenant_pk("acme")), _key(tenant_pk("globex"))]}}}
    assert not _allowed("BatchGetItem", batch)
    own = {"RequestItems": {"wrapper-local": [{"PutRequest": {"Item": _key(tenant_pk("acme"))}},
                                              {"DeleteRequest": {"Key": _key(credits_pk(ACME))}}]}}
    assert _allowed("BatchWriteItem", own)


@pytest.mark.parametrize("operation", ["Scan", "DescribeTable", "DeleteTable"])
def test_calls_without_leading_keys_are_refused(operation: str) -> None:
    # ForAllValues holds for an empty key set, so only the action list keeps Scan out.
    assert not _allowed(operation, {})


def test_an_explicit_deny_wins_and_unknown_conditions_are_not_guessed() -> None:
    denying = {"Statement": [*POLICY["Statement"], {"Effect": "Deny", "Action": "dynamodb:DeleteItem",
                                                     "Resource": TABLE_ARN}]}
    assert not session_allows(denying, _parts("DeleteItem", {"Key": _key(tenant_pk("acme"))})[0])
    odd = {"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN,
                          "Condition": {"StringEquals": {"aws:SourceIp": "10.0.0.1"}}}]}
    with pytest.raises(NotImplementedError):
        session_allows(odd, _parts("GetItem", {"Key": _key(tenant_pk("acme"))})[0])
