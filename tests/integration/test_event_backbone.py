"""The outbox → stream → EventBridge → SQS → consumer path, through the local cloud.

Given a state change written with its event in one transaction, the audit consumer records the
event exactly once: when delivered twice, when the publisher fails half way and is retried,
and while a poison message in the same queue is parked in the DLQ after maxReceiveCount.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest

from tests.support import sample_event, wait_for
from wrapper.events.catalog import EventType
from wrapper.events.envelope import EventEnvelope, new_event
from wrapper.events.outbox import write_with_outbox
from wrapper.store.schema import AUDIT_SK_PREFIX, PROFILE_SK, outbox_sk, tenant_pk
from wrapper.store.table import Table, WriteRefused, put_op


def _tenant() -> str:
    return f"t{uuid.uuid4().hex[:20]}"


def _table(cloud: Any, table_name: str) -> Table:
    return Table(cloud.client("dynamodb"), table_name)


def _change_with_event(cloud: Any, table_name: str, tenant_id: str, *, name: str = "Acme") -> EventEnvelope:
    """What a handler does: the state change and its event record, all or nothing."""
    event = new_event(EventType.TENANT_UPDATED, tenant_id,
                      {"actor": "user-1", "target": tenant_id, "fields": ["name"], "name": name})
    profile = {"PK": tenant_pk(tenant_id), "SK": PROFILE_SK, "name": name}
    write_with_outbox(_table(cloud, table_name), [put_op(profile)], [event], ttl_days=1)
    return event


def _audit(cloud: Any, table_name: str, tenant_id: str) -> list[dict[str, Any]]:
    items, _ = _table(cloud, table_name).query(tenant_pk(tenant_id), sk_prefix=AUDIT_SK_PREFIX, limit=100)
    return items


def _queue_url(cloud: Any, logical_id: str) -> str:
    url: str = cloud.stack.resources[logical_id].ref
    return url


def _queue_is_drained(cloud: Any, logical_id: str) -> bool:
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=_queue_url(cloud, logical_id),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def _as_eventbridge_entry(cloud: Any, event: EventEnvelope) -> dict[str, Any]:
    return {"EventBusName": cloud.stack.outputs["EventBusName"], "Source": "wrapper", "DetailType": event.type,
            "Detail": json.dumps(event.model_dump())}


def test_an_event_written_with_its_state_change_reaches_the_audit_consumer(cloud: Any, table_name: str) -> None:
    tenant_id = _tenant()
    event = _change_with_event(cloud, table_name, tenant_id)
    entries = wait_for(lambda: _audit(cloud, table_name, tenant_id), message="the audit entry")
    assert len(entries) == 1
    assert entries[0]["event_id"] == event.id
    assert entries[0]["action"] == "tenant.updated"
    assert entries[0]["actor"] == "user-1"


def test_a_failed_state_change_publishes_no_event(cloud: Any, table_name: str) -> None:
    tenant_id = _tenant()
    event = new_event(EventType.TENANT_UPDATED, tenant_id, {"actor": "user-1", "fields": ["name"]})
    impossible = put_op({"PK": tenant_pk(tenant_id), "SK": PROFILE_SK}, condition="attribute_exists(PK)")
    with pytest.raises(WriteRefused):
        write_with_outbox(_table(cloud, table_name), [impossible], [event], ttl_days=1)
    sentinel = _change_with_event(cloud, table_name, _tenant())  # proves the pipeline kept flowing
    wait_for(lambda: _audit(cloud, table_name, sentinel.tenant_id), message="the sentinel's audit entry")
    assert _table(cloud, table_name).get(tenant_pk(tenant_id), outbox_sk(event.id)) is None
    assert _audit(cloud, table_name, tenant_id) == []


def test_a_canceled_transaction_never_reaches_the_table_or_its_stream(
        cloud: Any, table_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.table import StreamShard

    appended: list[str] = []  # every stream record ever appended: what a concurrent poller could read
    original_add = StreamShard.add

    def recording_add(self: Any, old: Any, new: Any) -> None:
        appended.append((new or old).hash_key.value)
        original_add(self, old, new)

    monkeypatch.setattr(StreamShard, "add", recording_add)
    tenant_id = _tenant()
    event = new_event(EventType.TENANT_UPDATED, tenant_id, {"actor": "user-1", "fields": ["name"]})
    table = _table(cloud, table_name)
    # The outbox Put comes first and would succeed alone; the last operation's condition fails.
    with pytest.raises(WriteRefused) as raised:
        table.transact([put_op({"PK": tenant_pk(tenant_id), "SK": outbox_sk(event.id),
                                "envelope": event.model_dump_json()}),
                        put_op({"PK": tenant_pk(tenant_id), "SK": PROFILE_SK}),
                        put_op({"PK": tenant_pk(tenant_id), "SK": "SETTINGS"}, condition="attribute_exists(PK)")])

    assert raised.value.reasons == (None, None, "ConditionalCheckFailed") and raised.value.failed == (2,)
    assert table.query(tenant_pk(tenant_id))[0] == []
    assert tenant_pk(tenant_id) not in appended


def test_an_event_delivered_twice_has_its_effect_once(cloud: Any, table_name: str) -> None:
    tenant_id = _tenant()
    event = _change_with_event(cloud, table_name, tenant_id)
    wait_for(lambda: _audit(cloud, table_name, tenant_id), message="the first delivery")
    before = cloud.runtime.invocations.get(cloud.stack.function_by_logical_id("AuditFunction").name, 0)

    cloud.client("events").put_events(Entries=[_as_eventbridge_entry(cloud, event)] * 2)

    audit_name = cloud.stack.function_by_logical_id("AuditFunction").name
    wait_for(lambda: cloud.runtime.invocations.get(audit_name, 0) > before and _queue_is_drained(cloud, "AuditQueue"),
             message="the redeliveries to be consumed")
    assert len(_audit(cloud, table_name, tenant_id)) == 1


def test_the_same_record_twice_in_one_batch_is_recorded_once(cloud: Any, table_name: str) -> None:
    tenant_id = _tenant()
    record = sample_event("audit/sqs-eventbridge.json")["Records"][0]
    body = json.loads(record["body"])
    body["detail"]["tenant_id"] = tenant_id
    body["detail"]["id"] = f"evt{uuid.uuid4().hex[:20]}"
    first = {**record, "messageId": "m-1", "body": json.dumps(body)}
    second = {**record, "messageId": "m-2", "body": json.dumps(body)}

    result = cloud.runtime.invoke(cloud.stack.function_by_logical_id("AuditFunction").name,
                                  {"Records": [first, second]})

    assert result.error is None
    assert result.payload == {"batchItemFailures": []}
    assert len(_audit(cloud, table_name, tenant_id)) == 1


def test_a_publisher_failing_half_way_is_retried_and_loses_nothing(
        cloud: Any, table_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.events.models import EventsBackend

    original = EventsBackend.put_events
    failures = {"left": 6}  # more than one invocation's own retries: the stream must retry too
    lock = threading.Lock()

    def flaky_put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with lock:
            if failures["left"] > 0:
                failures["left"] -= 1
                # half the entries fail: the publisher must retry exactly those
                return [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"} if i % 2 == 0
                        else original(self, [e])[0] for i, e in enumerate(events)]
        return original(self, events)

    monkeypatch.setattr(EventsBackend, "put_events", flaky_put_events)
    tenants = [_tenant() for _ in range(5)]
    events = [_change_with_event(cloud, table_name, t) for t in tenants]

    for tenant_id, event in zip(tenants, events, strict=True):
        entries = wait_for(lambda t=tenant_id: _audit(cloud, table_name, t), timeout=40,
                           message=f"the audit entry of {tenant_id}")
        assert [e["event_id"] for e in entries] == [event.id]
    assert failures["left"] == 0


def test_a_message_that_keeps_failing_ends_in_the_dlq_and_its_batch_mates_are_kept(
        cloud: Any, table_name: str) -> None:
    sqs = cloud.client("sqs")
    poison_marker = f"poison-{uuid.uuid4().hex}"
    good = new_event(EventType.TENANT_UPDATED, _tenant(), {"actor": "user-2", "fields": ["name"]})
    good_body = json.dumps({"version": "0", "source": "wrapper", "detail-type": good.type,
                            "detail": good.model_dump()})
    sqs.send_message_batch(QueueUrl=_queue_url(cloud, "AuditQueue"), Entries=[
        {"Id": "poison", "MessageBody": json.dumps({"detail": {"not": "an envelope", "marker": poison_marker}})},
        {"Id": "good", "MessageBody": good_body},
    ])

    wait_for(lambda: _audit(cloud, table_name, good.tenant_id), message="the good message's audit entry")

    def poison_in_dlq() -> dict[str, Any] | None:
        answer = sqs.receive_message(QueueUrl=_queue_url(cloud, "AuditDeadLetterQueue"), MaxNumberOfMessages=10,
                                     AttributeNames=["All"], VisibilityTimeout=0)
        return next((m for m in answer.get("Messages", []) if poison_marker in m["Body"]), None)

    parked = wait_for(poison_in_dlq, timeout=30, interval=0.5, message="the poison message in the DLQ")
    assert int(parked["Attributes"]["ApproximateReceiveCount"]) >= 5  # maxReceiveCount in template.yaml
    sqs.delete_message(QueueUrl=_queue_url(cloud, "AuditDeadLetterQueue"), ReceiptHandle=parked["ReceiptHandle"])
