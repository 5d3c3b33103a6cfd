"""A thin typed wrapper over the low-level DynamoDB client for the one table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from wrapper import aws
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


def is_conflict(exc: ClientError) -> bool:
    """Whether a write was refused by its own condition (or a transaction by one of its items')."""
    return exc.response["Error"]["Code"] in ("TransactionCanceledException", "ConditionalCheckFailedException")


def table_for(settings: Settings) -> Table:
    """The one table, as a function's settings name it."""
    return Table(aws.client_for(settings, "dynamodb"), settings.table_name)


class Table:
    """The table's operations we use, in the table's own vocabulary (items are plain dicts)."""

    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        self.client = dynamodb_client
        self.name = table_name

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        answer = self.client.get_item(TableName=self.name, Key=to_dynamo({"PK": pk, "SK": sk}),
                                      ConsistentRead=consistent)
        return from_dynamo(answer["Item"]) if "Item" in answer else None

    def put(self, item: Item, *, condition: str | None = None, names: dict[str, str] | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": to_dynamo(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = names
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
            kwargs["ExclusiveStartKey"] = to_dynamo(start_key)
        answer = self.client.query(**kwargs)
        last = from_dynamo(answer["LastEvaluatedKey"]) if "LastEvaluatedKey" in answer else None
        return [from_dynamo(item) for item in answer.get("Items", [])], last

    def increment(self, pk: str, sk: str, attribute: str, *, expires_at: int, record_type: str,
                  below: int | None = None) -> int | None:
        """Add 1 to ``attribute`` atomically (the item expires at ``expires_at``); answer the new
        value, or None when ``below`` is given and the value had already reached it."""
        kwargs: dict[str, Any] = {}
        if below is not None:
            kwargs["ConditionExpression"] = "attribute_not_exists(#n) OR #n < :below"
        values: dict[str, Any] = {":one": 1, ":exp": expires_at, ":t": record_type}
        if below is not None:
            values[":below"] = below
        try:
            answer = self.client.update_item(
                TableName=self.name, Key=to_dynamo({"PK": pk, "SK": sk}),
                UpdateExpression="ADD #n :one SET expires_at = if_not_exists(expires_at, :exp), record_type = :t",
                ExpressionAttributeNames={"#n": attribute}, ExpressionAttributeValues=to_dynamo(values),
                ReturnValues="UPDATED_NEW", **kwargs)
        except ClientError as exc:
            if below is not None and exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return int(answer["Attributes"][attribute]["N"])

    def transact(self, operations: Iterable[dict[str, Any]]) -> None:
        """Write all or nothing. Operations are TransactWriteItems entries without TableName."""
        items = []
        for op in operations:
            ((kind, body),) = op.items()
            items.append({kind: {"TableName": self.name, **body}})
        self.client.transact_write_items(TransactItems=items)


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
