"""The one door to DynamoDB: its refusals come out as domain errors that name what failed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.unit.builders import fake_aws_environment, wrapper_table
from wrapper.kernel.errors import Conflict, InvalidInput, Unavailable
from wrapper.store.schema import PROFILE_SK, invoice_sk, member_sk, tenant_pk
from wrapper.store.table import StoreBusy, Table, WriteRefused, put_op, retryable, update_op

ACME = tenant_pk("acme")


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        yield wrapper_table(boto3.client("dynamodb", region_name="us-east-1"))


def test_a_put_refused_by_its_condition_is_a_conflict_naming_it(table: Table) -> None:
    # Given an item
    table.put({"PK": ACME, "SK": PROFILE_SK})

    # When it is put again on the condition that it does not exist
    with pytest.raises(WriteRefused) as refused:
        table.put({"PK": ACME, "SK": PROFILE_SK}, condition="attribute_not_exists(PK)")

    # Then the refusal is a 409 Conflict, and names the one write as failed
    assert isinstance(refused.value, Conflict) and refused.value.status == 409
    assert refused.value.failed == (0,) and refused.value.failed_at(0)
    assert not refused.value.contended and not retryable(refused.value)


def test_a_cancelled_transaction_names_the_operations_whose_condition_failed(table: Table) -> None:
    # Given one item of three that a transaction's conditions expect to be absent
    table.put({"PK": ACME, "SK": "B"})

    # When the transaction runs
    with pytest.raises(WriteRefused) as refused:
        table.transact([put_op({"PK": ACME, "SK": sk}, condition="attribute_not_exists(PK)")
                        for sk in ("A", "B", "C")])

    # Then only the second operation is named, and nothing was written
    assert refused.value.failed == (1,)
    assert [refused.value.failed_at(n) for n in range(3)] == [False, True, False]
    assert table.get(ACME, "A") is None and table.get(ACME, "C") is None


def test_an_update_answers_what_it_asked_for_and_is_refused_like_a_put(table: Table) -> None:
    # Given / When a counter is added to twice, then updated on a condition it does not meet
    first = table.update(ACME, "N", update="ADD n :one", values={":one": 1}, returns="UPDATED_NEW")
    second = table.update(ACME, "N", update="ADD n :one", values={":one": 1}, returns="UPDATED_NEW")
    assert (first["n"], second["n"]) == (1, 2)
    with pytest.raises(WriteRefused):
        table.update(ACME, "N", update="SET m = :x", condition="n > :max", values={":x": 1, ":max": 5})

    # Then the item holds the two additions and nothing of the refused update
    assert table.get(ACME, "N") == {"PK": ACME, "SK": "N", "n": 2}


def test_delete_and_batch_get(table: Table) -> None:
    # Given three items, one of them deleted
    for sk in ("A", "B", "C"):
        table.put({"PK": ACME, "SK": sk, "x": sk, "y": 1})
    table.delete(ACME, "B")

    # When all three are asked for at once, with one attribute
    found = table.batch_get([(ACME, sk) for sk in ("A", "B", "C")], attributes=["x"])

    # Then the two that exist answer, with only that attribute
    assert sorted(found, key=lambda i: i["x"]) == [{"x": "A"}, {"x": "C"}]


@pytest.mark.parametrize(("code", "expected"), [
    ("ProvisionedThroughputExceededException", StoreBusy),
    ("ThrottlingException", StoreBusy),
    ("InternalServerError", StoreBusy),
])
def test_throttling_is_a_busy_store_that_may_be_retried(code: str, expected: type[Exception]) -> None:
    # Given a client that DynamoDB throttles
    table = Table(_Refusing({"Error": {"Code": code, "Message": "slow down"}}), "wrapper")

    # When a write is made, Then it is a 503 the caller may retry
    with pytest.raises(expected) as busy:
        table.put({"PK": ACME, "SK": "X"})
    assert isinstance(busy.value, Unavailable) and busy.value.status == 503 and retryable(busy.value)


def test_a_transaction_cancelled_by_contention_alone_may_be_retried() -> None:
    # Given a transaction cancelled because another one held its item, not by a condition
    table = Table(_Refusing({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                             "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]}), "wrapper")

    # When it is written
    with pytest.raises(WriteRefused) as refused:
        table.transact([update_op(ACME, "A", update="SET x = :x", values={":x": 1})] * 2)

    # Then no condition failed, and the same write may go through again
    assert refused.value.failed == () and refused.value.contended and retryable(refused.value)


@pytest.mark.parametrize(("reasons", "expected"), [
    (["None", "ThrottlingError"], StoreBusy),
    (["ProvisionedThroughputExceeded", "TransactionConflict"], StoreBusy),
    (["None", "ValidationError"], ClientError),
], ids=["throttled", "throttled-and-contended", "a-fault-of-the-write"])
def test_a_transaction_cancelled_for_other_reasons_is_no_conflict(reasons: list[str],
                                                                   expected: type[Exception]) -> None:
    # Given a transaction cancelled by throttling, or by a fault of the write itself (an item too large)
    table = Table(_Refusing({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                             "CancellationReasons": [{"Code": r} for r in reasons]}), "wrapper")

    # When it is written, Then throttling is a 503 to retry, and a fault stays DynamoDB's own error (a 500):
    # neither tells the client that the item changed meanwhile
    with pytest.raises(expected) as raised:
        table.transact([update_op(ACME, "A", update="SET x = :x", values={":x": 1})] * 2)
    assert not isinstance(raised.value, WriteRefused)


def test_other_errors_pass_through_unchanged() -> None:
    # Given a client whose credentials may not reach the item (tenant-scoped credentials)
    table = Table(_Refusing({"Error": {"Code": "AccessDeniedException", "Message": "no"}}), "wrapper")

    # When it reads, Then DynamoDB's own error stands: it is a fault, not a domain answer
    with pytest.raises(ClientError, match="AccessDenied"):
        table.get(tenant_pk("other"), PROFILE_SK)


class _Refusing:
    """A DynamoDB client whose every call raises one error."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response

    def __getattr__(self, operation: str) -> Any:
        def refuse(**_: Any) -> None:
            raise ClientError(self.response, operation)  # type: ignore[arg-type]
        return refuse


def test_the_unit_tests_table_is_the_one_template_yaml_declares(table: Table) -> None:
    # Given the table the unit tests create, and template.yaml's definition of it
    from tests.unit.builders import table_definition

    declared = table_definition()
    described = table.client.describe_table(TableName=table.name)["Table"]

    # Then keys and indexes agree, and every index is one some code queries
    assert described["KeySchema"] == declared["KeySchema"]
    assert sorted(described["AttributeDefinitions"], key=str) == sorted(declared["AttributeDefinitions"], key=str)
    assert [(i["IndexName"], i["KeySchema"]) for i in described["GlobalSecondaryIndexes"]] == \
        [(i["IndexName"], i["KeySchema"]) for i in declared["GlobalSecondaryIndexes"]] == \
        [("GSI1", [{"AttributeName": "GSI1PK", "KeyType": "HASH"}, {"AttributeName": "GSI1SK", "KeyType": "RANGE"}])]


def test_a_start_key_outside_the_querys_sort_key_condition_is_invalid_input(table: Table) -> None:
    # DynamoDB refuses such a start key with a ValidationException; it comes from a caller's cursor.
    pk = tenant_pk("acme")
    with pytest.raises(InvalidInput):
        table.query(pk, sk_prefix=member_sk(""), start_key={"PK": pk, "SK": PROFILE_SK})
    with pytest.raises(InvalidInput):
        table.query(pk, sk_between=(invoice_sk("in_2024"), invoice_sk("in_2025")),
                    start_key={"PK": pk, "SK": invoice_sk("in_2030")})
    assert table.query(pk, sk_prefix=member_sk(""), start_key={"PK": pk, "SK": member_sk("u1")}) == ([], None)
