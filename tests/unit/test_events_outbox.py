"""The transactional outbox: outbox items and the transaction that writes them with the state change."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from tests.unit.builders import envelope
from wrapper.events.outbox import envelope_from_stream_image, outbox_item, write_with_outbox
from wrapper.store.schema import PLATFORM_OUTBOX_PK, member_sk, outbox_sk, tenant_pk
from wrapper.store.table import Table, put_op, to_dynamo

NOW = 1_700_000_000


class FakeTable:
    """Captures what would be sent as one TransactWriteItems."""

    def __init__(self) -> None:
        self.transactions: list[list[dict[str, Any]]] = []

    def transact(self, operations: Any) -> None:
        self.transactions.append(list(operations))

    def as_table(self) -> Table:
        return cast(Table, self)


def state_change(n: int = 0) -> dict[str, Any]:
    return put_op({"PK": tenant_pk("acme"), "SK": member_sk(str(n)), "role": "admin"})


def test_a_tenant_event_is_kept_in_its_tenants_partition() -> None:
    # Given an event of tenant acme
    event = envelope("acme")

    # When its outbox item is built
    item = outbox_item(event, ttl_days=7, now=NOW)

    # Then it lives under TENANT#acme, sorted by the event id
    assert item["PK"] == tenant_pk("acme")
    assert item["SK"] == outbox_sk(event.id)


def test_a_platform_event_is_kept_in_the_platform_outbox_partition() -> None:
    # Given an event of no tenant
    event = envelope(None, event_type="usage.threshold_reached")

    # When its outbox item is built
    item = outbox_item(event, ttl_days=7, now=NOW)

    # Then it lives under PLATFORM#OUTBOX
    assert item["PK"] == PLATFORM_OUTBOX_PK
    assert item["SK"] == outbox_sk(event.id)


def test_an_outbox_item_expires_ttl_days_after_now() -> None:
    # Given an event
    event = envelope()

    # When its outbox item is built with a 7-day ttl at a fractional instant
    item = outbox_item(event, ttl_days=7, now=NOW + 0.75)

    # Then it expires 7 * 86400 s later, as the integer epoch seconds DynamoDB TTL reads
    assert item["expires_at"] == NOW + 7 * 86400
    assert isinstance(item["expires_at"], int)


def test_an_outbox_item_carries_the_whole_envelope_and_its_type() -> None:
    # Given an event with data
    event = envelope(data={"plan": "pro", "seats": 3})

    # When its outbox item is built
    item = outbox_item(event, ttl_days=1, now=NOW)

    # Then the envelope is stored as JSON and the type is readable without parsing it
    assert item["record_type"] == "outbox"
    assert item["event_type"] == event.type
    assert json.loads(item["envelope"]) == event.model_dump()


def test_an_envelope_is_rebuilt_from_the_stream_image_of_its_outbox_item() -> None:
    # Given the stream NewImage of an outbox item
    event = envelope(data={"n": 1})
    image = to_dynamo(outbox_item(event, ttl_days=1, now=NOW))

    # When the envelope is rebuilt from it
    rebuilt = envelope_from_stream_image(image)

    # Then it is the original envelope
    assert rebuilt == event


def test_the_outbox_put_follows_the_state_change_in_one_transaction() -> None:
    # Given a state change and an event
    table = FakeTable()
    change = state_change()
    event = envelope()

    # When both are written
    write_with_outbox(table.as_table(), [change], [event], ttl_days=7)

    # Then one transaction holds the change, then the outbox Put of the event
    (transaction,) = table.transactions
    assert transaction[0] == change
    assert transaction[1]["Put"]["Item"]["SK"] == {"S": outbox_sk(event.id)}
    assert transaction[1]["Put"]["Item"]["PK"] == {"S": tenant_pk("acme")}


def test_the_outbox_put_refuses_to_overwrite_an_existing_record() -> None:
    # Given a state change and an event
    table = FakeTable()

    # When both are written
    write_with_outbox(table.as_table(), [state_change()], [envelope()], ttl_days=7)

    # Then the outbox Put is conditional on the record not existing yet
    outbox_put = table.transactions[0][-1]["Put"]
    assert outbox_put["ConditionExpression"] == "attribute_not_exists(PK)"


def test_every_event_gets_its_own_outbox_put() -> None:
    # Given one state change and three events
    table = FakeTable()
    events = [envelope() for _ in range(3)]

    # When they are written
    write_with_outbox(table.as_table(), [state_change()], events, ttl_days=7)

    # Then the transaction holds four operations, one outbox Put per event
    (transaction,) = table.transactions
    assert [op["Put"]["Item"]["SK"]["S"] for op in transaction[1:]] == [outbox_sk(e.id) for e in events]


def test_a_transaction_of_exactly_one_hundred_operations_is_written() -> None:
    # Given 99 state changes and one event
    table = FakeTable()

    # When they are written
    write_with_outbox(table.as_table(), [state_change(n) for n in range(99)], [envelope()], ttl_days=7)

    # Then one transaction of 100 operations is sent
    assert len(table.transactions[0]) == 100


def test_more_than_one_hundred_operations_are_refused_before_anything_is_sent() -> None:
    # Given 100 state changes and one event
    table = FakeTable()

    # When they are written
    with pytest.raises(ValueError, match="100"):
        write_with_outbox(table.as_table(), [state_change(n) for n in range(100)], [envelope()], ttl_days=7)

    # Then nothing reached the table
    assert table.transactions == []
