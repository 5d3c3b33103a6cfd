"""The one door to DynamoDB: a thin typed wrapper over the low-level client for the one table.

DynamoDB's errors stop here. A write refused by its own condition, or a transaction cancelled by one
or by another transaction holding its items, is ``WriteRefused`` (a 409 ``Conflict`` unless the caller
makes more of it), naming which operations' conditions failed; throttling and DynamoDB's internal
errors are ``StoreBusy`` (a 503). Any other error (a malformed or oversized write, access denied) stays
DynamoDB's own ``ClientError``, a fault that reaches the 5xx alarms. Nothing above this package
catches a ``ClientError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from wrapper import aws
from wrapper.kernel.errors import Conflict, InvalidInput, Unavailable
from wrapper.settings import Settings

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]


def to_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(_to_decimal(value)) for key, value in item.items() if value is not None}


def from_dynamo(image: Mapping[str, Any]) -> Item:
    return {key: _deserializer.deserialize(value) for key, value in image.items()}


def _to_decimal(value: Any) -> Any:
    if isinstance(value, float):
        raise TypeError("floats are not stored; use int or Decimal")
    if isinstance(value, dict):
        return {k: _to_decimal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_decimal(v) for v in value]
    return value


CHANGED_MEANWHILE = "The item changed meanwhile; read it again and retry."
CONDITION_FAILED = "ConditionalCheckFailed"
# A transaction's per-operation reasons: another transaction held an item (it changed meanwhile), or
# DynamoDB throttled the request. Any other reason (ValidationError, ItemCollectionSizeLimitExceeded, ...)
# is a fault of the write itself and stays a ClientError.
_CONFLICTED = "TransactionConflict"
_THROTTLED = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})
_BUSY = frozenset({"TransactionConflictException", "ProvisionedThroughputExceededException", "ThrottlingException",
                   "RequestLimitExceeded", "InternalServerError"})


class WriteRefused(Conflict):
    """DynamoDB refused a write whole because of the items' state. ``reasons`` holds one code per
    operation of a transaction (None where that operation was fine), or the one code of a single
    write. ``failed`` are the operations whose own condition failed; ``contended`` means none did, but
    another transaction held one of the items, and the same write may go through when tried again."""

    def __init__(self, reasons: Sequence[str | None], detail: str = CHANGED_MEANWHILE) -> None:
        super().__init__(detail)
        self.reasons = tuple(reasons)

    @property
    def failed(self) -> tuple[int, ...]:
        return tuple(n for n, reason in enumerate(self.reasons) if reason == CONDITION_FAILED)

    def failed_at(self, index: int) -> bool:
        """Whether operation ``index`` (0 for a single write) failed its condition."""
        return index in self.failed

    @property
    def contended(self) -> bool:
        return not self.failed and _CONFLICTED in self.reasons


class StoreBusy(Unavailable):
    """DynamoDB throttled the call or failed inside it: the same call may go through when tried again."""

    def __init__(self, code: str) -> None:
        super().__init__("The data store is busy; retry in a moment.")
        self.code = code


def retryable(exc: Exception) -> bool:
    """Whether the same write may go through when tried again (nothing about the items refused it)."""
    return isinstance(exc, StoreBusy) or (isinstance(exc, WriteRefused) and exc.contended)


def _refusal(exc: ClientError) -> Exception:
    code = exc.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return WriteRefused((CONDITION_FAILED,))
    if code == "TransactionCanceledException":
        reasons = [None if r.get("Code") in (None, "None") else str(r["Code"])
                   for r in exc.response.get("CancellationReasons") or []]
        given = {reason for reason in reasons if reason is not None}
        if CONDITION_FAILED in given or given == {_CONFLICTED}:
            return WriteRefused(reasons)
        if given and given <= _THROTTLED | {_CONFLICTED}:
            return StoreBusy(code)
        return exc
    if code in _BUSY:
        return StoreBusy(code)
    return exc


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        refusal = _refusal(exc)
        if refusal is exc:
            raise
        raise refusal from exc


def table_for(settings: Settings) -> Table:
    """The one table, as a function's settings name it."""
    return Table(aws.client_for(settings, "dynamodb"), settings.table_name)


class Table:
    """The table's operations we use, in the table's own vocabulary (items are plain dicts)."""

    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        self.client = dynamodb_client
        self.name = table_name

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        with _translated():
            answer = self.client.get_item(TableName=self.name, Key=to_dynamo({"PK": pk, "SK": sk}),
                                          ConsistentRead=consistent)
        return from_dynamo(answer["Item"]) if "Item" in answer else None

    def put(self, item: Item, *, condition: str | None = None, names: dict[str, str] | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": to_dynamo(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = names
        with _translated():
            self.client.put_item(**kwargs)

    def query(
        self,
        pk: str,
        *,
        sk_prefix: str | None = None,
        sk_between: tuple[str, str] | None = None,
        filter_equals: Mapping[str, Any] | None = None,
        limit: int = 50,
        start_key: dict[str, Any] | None = None,
        forward: bool = True,
        index: str | None = None,
    ) -> tuple[list[Item], dict[str, Any] | None]:
        """One page of a partition. ``filter_equals`` is applied after ``limit`` (DynamoDB's
        rule), so a filtered page may hold fewer items, or none, and still have a next key."""
        pk_attr, sk_attr = ("PK", "SK") if index is None else (f"{index}PK", f"{index}SK")
        condition = "#pk = :pk"
        names = {"#pk": pk_attr}
        values: dict[str, Any] = {":pk": pk}
        if sk_prefix is not None:
            condition += " AND begins_with(#sk, :sk)"
            names["#sk"] = sk_attr
            values[":sk"] = sk_prefix
        elif sk_between is not None:
            condition += " AND #sk BETWEEN :sk_low AND :sk_high"
            names["#sk"] = sk_attr
            values[":sk_low"], values[":sk_high"] = sk_between
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "Limit": limit,
            "ScanIndexForward": forward,
        }
        if filter_equals:
            clauses = []
            for n, (attribute, value) in enumerate(sorted(filter_equals.items())):
                names[f"#f{n}"] = attribute
                values[f":f{n}"] = value
                clauses.append(f"#f{n} = :f{n}")
            kwargs["FilterExpression"] = " AND ".join(clauses)
        kwargs["ExpressionAttributeNames"] = names
        kwargs["ExpressionAttributeValues"] = to_dynamo(values)
        if index is not None:
            kwargs["IndexName"] = index
        if start_key:
            _within(start_key.get(sk_attr), sk_prefix, sk_between)
            kwargs["ExclusiveStartKey"] = to_dynamo(start_key)
        with _translated():
            answer = self.client.query(**kwargs)
        last = from_dynamo(answer["LastEvaluatedKey"]) if "LastEvaluatedKey" in answer else None
        return [from_dynamo(item) for item in answer.get("Items", [])], last

    def increment(self, pk: str, sk: str, attribute: str, *, expires_at: int, record_type: str,
                  below: int | None = None) -> int | None:
        """Add 1 to ``attribute`` atomically (the item expires at ``expires_at``); answer the new
        value, or None when ``below`` is given and the value had already reached it."""
        values: dict[str, Any] = {":one": 1, ":exp": expires_at, ":t": record_type}
        if below is not None:
            values[":below"] = below
        try:
            answer = self.update(pk, sk, update="ADD #n :one SET expires_at = if_not_exists(expires_at, :exp), "
                                 "record_type = :t", names={"#n": attribute}, values=values, returns="UPDATED_NEW",
                                 condition="attribute_not_exists(#n) OR #n < :below" if below is not None else None)
        except WriteRefused:
            if below is not None:
                return None
            raise
        return int(answer[attribute])

    def update(self, pk: str, sk: str, *, update: str, condition: str | None = None,
               names: dict[str, str] | None = None, values: dict[str, Any] | None = None,
               returns: str | None = None) -> Item:
        """One UpdateItem; answers the attributes ``returns`` asks for (none by default)."""
        kwargs: dict[str, Any] = update_op(pk, sk, update=update, condition=condition, names=names,
                                           values=values)["Update"]
        if returns:
            kwargs["ReturnValues"] = returns
        with _translated():
            answer = self.client.update_item(TableName=self.name, **kwargs)
        return from_dynamo(answer.get("Attributes", {}))

    def delete(self, pk: str, sk: str, *, condition: str | None = None) -> None:
        with _translated():
            self.client.delete_item(TableName=self.name, **delete_op(pk, sk, condition=condition)["Delete"])

    def batch_get(self, keys: Sequence[tuple[str, str]], *, attributes: Sequence[str] | None = None,
                  consistent: bool = False) -> list[Item]:
        """The items of up to 100 keys (missing ones are left out), in no particular order, with only
        ``attributes`` when given; keys DynamoDB leaves unprocessed are asked for again."""
        spec: dict[str, Any] = {"Keys": [to_dynamo({"PK": pk, "SK": sk}) for pk, sk in keys]}
        if consistent:
            spec["ConsistentRead"] = True
        if attributes:
            spec["ExpressionAttributeNames"] = {f"#a{n}": name for n, name in enumerate(attributes)}
            spec["ProjectionExpression"] = ", ".join(spec["ExpressionAttributeNames"])
        request: dict[str, Any] = {self.name: spec}
        found: list[Item] = []
        while request:
            with _translated():
                answer = self.client.batch_get_item(RequestItems=request)
            found.extend(from_dynamo(item) for item in answer.get("Responses", {}).get(self.name, []))
            request = answer.get("UnprocessedKeys") or {}
        return found

    def transact(self, operations: Iterable[dict[str, Any]]) -> None:
        """Write all or nothing. Operations are TransactWriteItems entries without TableName."""
        items = []
        for op in operations:
            ((kind, body),) = op.items()
            items.append({kind: {"TableName": self.name, **body}})
        with _translated():
            self.client.transact_write_items(TransactItems=items)


def _within(start: Any, sk_prefix: str | None, sk_between: tuple[str, str] | None) -> None:
    """Refuse a start key outside the query's sort-key condition: DynamoDB answers it with a ValidationException
    (a 500 here), and a start key comes from a cursor a caller sent."""
    outside = (sk_prefix is not None and not str(start).startswith(sk_prefix)) or (
        sk_between is not None and not sk_between[0] <= str(start) <= sk_between[1])
    if outside:
        raise InvalidInput("cursor is not valid", errors=[{"field": "cursor", "message": "not for this list"}])


def put_op(item: Item, *, condition: str | None = None, names: dict[str, str] | None = None,
           values: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Item": to_dynamo(item)}
    if condition:
        body["ConditionExpression"] = condition
    if names:
        body["ExpressionAttributeNames"] = names
    if values:
        body["ExpressionAttributeValues"] = to_dynamo(values)
    return {"Put": body}


def update_op(pk: str, sk: str, *, update: str, condition: str | None = None,
              names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": to_dynamo({"PK": pk, "SK": sk}), "UpdateExpression": update}
    if condition:
        body["ConditionExpression"] = condition
    if names:
        body["ExpressionAttributeNames"] = names
    if values:
        body["ExpressionAttributeValues"] = to_dynamo(values)
    return {"Update": body}


def delete_op(pk: str, sk: str, *, condition: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": to_dynamo({"PK": pk, "SK": sk})}
    if condition:
        body["ConditionExpression"] = condition
    return {"Delete": body}


def check_op(pk: str, sk: str, *, condition: str, names: dict[str, str] | None = None,
             values: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": to_dynamo({"PK": pk, "SK": sk}), "ConditionExpression": condition}
    if names:
        body["ExpressionAttributeNames"] = names
    if values:
        body["ExpressionAttributeValues"] = to_dynamo(values)
    return {"ConditionCheck": body}
