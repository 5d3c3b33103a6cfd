"""TransactWriteItems with DynamoDB's real all-or-nothing semantics, for moto.

moto applies a transaction's operations one by one, keeps going after a failed condition, and
then restores a deep copy of the whole table. Meanwhile the stream holds records of writes that
never happened (a stream reader can publish them: an outbox event for a rolled-back change),
concurrent writes by other requests are lost with the restore, and every transaction costs a
copy of the table. Here every condition is checked first, under one write lock shared with
single-item writes; only if all pass is anything written.
"""

from __future__ import annotations

import threading
from typing import Any

from localcloud.patches import PATCHES

_WRITES = threading.RLock()


def patch_transactions() -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    if not PATCHES.first("dynamodb: transactions"):
        return
    put_item, update_item, delete_item = (DynamoDBBackend.put_item, DynamoDBBackend.update_item,
                                          DynamoDBBackend.delete_item)

    def locked(method: Any) -> Any:
        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _WRITES:
                return method(self, *args, **kwargs)
        return write

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        with _WRITES:
            plan: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = []
            errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
            targets: set[tuple[str, str]] = set()
            for entry in transact_items:
                if len(entry) > 1:
                    raise TransactWriteSingleOpException
                op_type, op = next(iter(entry.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table = self.get_table(op["TableName"])
                if op_type == "Put":
                    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = op["Item"][table.range_key_attr]
                else:
                    key = op["Key"]
                target = (op["TableName"], str(sorted(key.items())))
                if target in targets:
                    raise MultipleTransactionsException()
                targets.add(target)
                current = self.get_item(op["TableName"], key)
                error: tuple[str | None, str | None, dict[str, Any] | None] = (None, None, None)
                if op.get("ConditionExpression"):
                    condition = get_filter_expression(op["ConditionExpression"], op.get("ExpressionAttributeNames"),
                                                      op.get("ExpressionAttributeValues"))
                    if not condition.expr(current):
                        old = (current.to_json()["Attributes"] if current is not None and
                               op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" else None)
                        error = ("ConditionalCheckFailed", "The conditional request failed", old)
                errors.append(error)
                plan.append((op_type, op, key, current))
            if any(code is not None for code, _, _ in errors):
                raise TransactionCanceledException(errors)
            applied: list[tuple[str, dict[str, Any], Any]] = []
            try:
                for op_type, op, key, current in plan:
                    table_name = op["TableName"]
                    if op_type == "Put":
                        put_item(self, table_name, op["Item"])
                    elif op_type == "Delete":
                        delete_item(self, table_name, key)
                    elif op_type == "Update":
                        update_item(self, table_name, key, update_expression=op["UpdateExpression"],
                                    expression_attribute_names=op.get("ExpressionAttributeNames") or {},
                                    expression_attribute_values=op.get("ExpressionAttributeValues") or {})
                    else:
                        continue
                    applied.append((table_name, key, current))
            except Exception:
                # An invalid update expression half way: put back what the earlier operations changed.
                for table_name, key, before in reversed(applied):
                    if before is None:
                        delete_item(self, table_name, key)
                    else:
                        put_item(self, table_name, before.to_json()["Attributes"])
                raise

    PATCHES.replace(DynamoDBBackend, "put_item", locked(put_item))
    PATCHES.replace(DynamoDBBackend, "update_item", locked(update_item))
    PATCHES.replace(DynamoDBBackend, "delete_item", locked(delete_item))
    PATCHES.replace(DynamoDBBackend, "transact_write_items", transact_write_items)


_QUERYING = threading.local()


def patch_partition_queries() -> None:
    """Query reads one partition, as DynamoDB does.

    moto answers a Query on the table by sorting every item of the table and then keeping the
    partition's: its cost grows with the table (15 queries/s at 4,500 items, measured), so a
    long test session or a usage load slows every request. Here a Query without an index sees
    only its own partition's items; index Queries are left as moto does them.
    """
    from moto.dynamodb.models.table import Table

    if not PATCHES.first("dynamodb: partition queries"):
        return
    query, all_items = Table.query, Table.all_items

    def partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto passes index_name as the 8th positional argument (after hash_key and six others).
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name or hash_key is None or not self.range_key_attr:
            return query(self, hash_key, *args, **kwargs)
        _QUERYING.scope = (self, hash_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _QUERYING.scope = None

    def items_in_scope(self: Any) -> Any:
        scope = getattr(_QUERYING, "scope", None)
        if scope is None or scope[0] is not self:
            return all_items(self)
        partition = self.items.get(scope[1], {})
        return sorted(partition.values(), key=lambda item: item.range_key)

    PATCHES.replace(Table, "query", partition_query)
    PATCHES.replace(Table, "all_items", items_in_scope)
