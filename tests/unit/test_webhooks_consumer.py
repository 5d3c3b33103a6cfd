"""Applying queued Stripe events: each event has its effect once, an older event never overwrites newer state,
unknown types are ignored, and a crash anywhere on the way is retried safely."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.builders import fake_aws_environment, lambda_context, wrapper_table
from wrapper import aws
from wrapper.payments.webhooks import sign
from wrapper.store.schema import STRIPE_EVENT_SK, STRIPE_OBJECT_LAST_SK, stripe_event_pk, stripe_object_pk
from wrapper.store.table import Table
from wrapper.webhooks.consumer import DUPLICATE, process
from wrapper.webhooks.effects import SubscriptionEffects
from wrapper.webhooks.ledger import EventStatus, StripeEventLedger
from wrapper.webhooks.models import HANDLED_TYPES, StripeEventFacts
from wrapper.webhooks.receive import receive
from wrapper.webhooks.secrets import WebhookSecrets

T = 1_700_000_000
SECRET = "whsec_test_secret"
NOW = datetime(2023, 11, 14, 22, 13, 30, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def stripe_event(event_id: str = "evt_1", *, event_type: str = "payment_intent.succeeded", created: int = T,
                 object_id: str = "pi_1") -> dict[str, Any]:
    return {"id": event_id, "object": "event", "created": created, "type": event_type, "livemode": False,
            "data": {"object": {"id": object_id, "object": event_type.rsplit(".", 1)[0],
                                "status": event_type.rsplit(".", 1)[1], "metadata": {"tenant_id": "acme"}}}}


@dataclass
class FakeEffects:
    """A domain that believes whatever event it is given last: the guard is what keeps it right."""

    applied: list[str] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)
    crashes: int = 0

    def apply(self, event: dict[str, Any]) -> str:
        obj = event["data"]["object"]
        self.state[obj["id"]] = obj["status"]
        self.applied.append(event["id"])
        if self.crashes:
            self.crashes -= 1
            raise TimeoutError("the function was stopped after applying")
        return f"{obj['id']} is {obj['status']}"


@dataclass
class World:
    table: Table
    ledger: StripeEventLedger
    effects: FakeEffects

    def settle(self, event: dict[str, Any], *, now: float = T + 10) -> str:
        return process(event, ledger=self.ledger, effects=self.effects, now=now)

    def record(self, event_id: str) -> dict[str, Any]:
        item = self.table.get(stripe_event_pk(event_id), STRIPE_EVENT_SK)
        assert item is not None
        return item


def _create_table(client: Any) -> Table:
    table: Table = wrapper_table(client)
    return table


def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_environment(monkeypatch, AWS_REGION="us-east-1", TABLE_NAME="wrapper",
                         POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_NAMESPACE="Wrapper")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    _aws_environment(monkeypatch)
    with mock_aws():
        table = _create_table(boto3.client("dynamodb", region_name="us-east-1"))
        yield World(table, StripeEventLedger(table), FakeEffects())


def _queued(world: World, event: dict[str, Any], *, now: float = T) -> None:
    assert world.ledger.record_queued(StripeEventFacts.of(event), now=now)


def test_a_queued_event_is_applied_and_marked_applied(world: World) -> None:
    event = stripe_event()
    _queued(world, event)

    assert world.settle(event) == "applied"

    assert world.effects.applied == ["evt_1"]
    record = world.record("evt_1")
    assert record["status"] == "applied" and record["outcome"] == "pi_1 is succeeded"
    assert record["received_at"] == "2023-11-14T22:13:20.000Z" and record["settled_at"] == "2023-11-14T22:13:30.000Z"
    assert world.ledger.last_applied("pi_1") == T


def test_every_type_we_handle_reaches_the_effects(world: World) -> None:
    for n, event_type in enumerate(sorted(HANDLED_TYPES)):
        assert world.settle(stripe_event(f"evt_{n}", event_type=event_type, object_id=f"obj_{n}")) == "applied"
    assert len(world.effects.applied) == len(HANDLED_TYPES) == 10


def test_the_same_event_delivered_five_times_has_one_effect(world: World) -> None:
    event = stripe_event()
    _queued(world, event)
    assert [world.settle(event) for _ in range(5)] == ["applied"] + [DUPLICATE] * 4
    assert world.effects.applied == ["evt_1"]


def test_an_older_event_after_a_newer_one_is_stale_and_the_newer_state_stays(world: World) -> None:
    # Given a payment that failed, then succeeded (a later event)
    failed = stripe_event("evt_failed", event_type="payment_intent.payment_failed", created=T)
    succeeded = stripe_event("evt_succeeded", event_type="payment_intent.succeeded", created=T + 30)

    # When the newer event is delivered first
    assert world.settle(succeeded) == "applied"
    assert world.settle(failed) == "stale"

    # Then the older one changed nothing
    assert world.effects.state == {"pi_1": "succeeded"}
    assert world.effects.applied == ["evt_succeeded"]
    assert world.record("evt_failed")["status"] == "stale"
    last = world.table.get(stripe_object_pk("pi_1"), STRIPE_OBJECT_LAST_SK)
    assert last is not None and last["created"] == T + 30 and last["event_id"] == "evt_succeeded"


def test_events_in_order_are_all_applied(world: World) -> None:
    world.settle(stripe_event("evt_a", event_type="payment_intent.requires_action", created=T))
    world.settle(stripe_event("evt_b", event_type="payment_intent.succeeded", created=T + 1))
    assert world.effects.state == {"pi_1": "succeeded"}


def test_events_of_one_object_in_the_same_second_are_both_applied(world: World) -> None:
    assert world.settle(stripe_event("evt_a", event_type="payment_intent.requires_action")) == "applied"
    assert world.settle(stripe_event("evt_b", event_type="payment_intent.succeeded")) == "applied"
    assert world.effects.applied == ["evt_a", "evt_b"]


def test_ordering_is_per_object(world: World) -> None:
    world.settle(stripe_event("evt_new", created=T + 60, object_id="pi_new"))
    assert world.settle(stripe_event("evt_other", created=T, object_id="pi_other")) == "applied"


def test_an_unknown_type_is_ignored_without_effect(world: World) -> None:
    event = stripe_event("evt_plan", event_type="plan.created", object_id="price_1")
    _queued(world, event)
    assert world.settle(event) == "ignored"
    assert world.effects.applied == []
    assert world.record("evt_plan")["status"] == "ignored"
    assert world.ledger.last_applied("price_1") is None
    assert world.settle(event) == DUPLICATE


def test_a_crash_between_applying_and_marking_reapplies_harmlessly(world: World) -> None:
    # Given the function dies right after the effects ran
    event = stripe_event()
    _queued(world, event)
    world.effects.crashes = 1
    with pytest.raises(TimeoutError):
        world.settle(event)
    assert world.record("evt_1")["status"] == "queued"

    # When the message comes back
    assert world.settle(event) == "applied"

    # Then the (idempotent) effects ran again, and the event is settled
    assert world.effects.applied == ["evt_1", "evt_1"] and world.effects.state == {"pi_1": "succeeded"}
    assert world.settle(event) == DUPLICATE


def test_a_message_that_overtakes_its_record_is_settled_and_the_late_record_is_a_duplicate(world: World) -> None:
    # Given the consumer got the message before the webhook wrote the record
    event = stripe_event()
    assert world.settle(event) == "applied"

    # Then the webhook's own write finds it and changes nothing
    assert not world.ledger.record_queued(StripeEventFacts.of(event), now=T)
    assert world.record("evt_1")["status"] == "applied"


def test_a_settled_status_is_never_overwritten(world: World) -> None:
    event = stripe_event()
    world.settle(event)
    world.ledger.mark(StripeEventFacts.of(event), EventStatus.STALE, now=T + 99)
    assert world.record("evt_1")["status"] == "applied"


def test_five_deliveries_through_receive_and_the_queue_have_one_effect(world: World) -> None:
    # Given the webhook receives one event five times (and a crash made it queue a second copy)
    payload = json.dumps(stripe_event()).encode()
    sent: list[str] = []

    class Queue:
        def send(self, body: str) -> None:
            sent.append(body)

    secrets = WebhookSecrets(lambda: SECRET)
    sent.append(json.dumps(stripe_event()))
    for n in range(5):
        receive(payload, sign(payload, SECRET, T + n), secrets=secrets, ledger=world.ledger, queue=Queue(),
                now=T + n)

    # When the consumer drains the queue
    statuses = [world.settle(json.loads(body)) for body in sent]

    # Then the event had one effect
    assert statuses == ["applied", DUPLICATE]
    assert world.effects.applied == ["evt_1"]


def test_subscription_effects_bind_the_domain_function_and_connect_payments_once() -> None:
    calls: list[dict[str, Any]] = []
    connections: list[str] = []

    def apply_stripe_event(event: dict[str, Any], **kwargs: Any) -> str:
        calls.append({"event": event, **kwargs})
        return "done"

    def connect() -> Any:
        connections.append("connected")
        return "payments"

    effects = SubscriptionEffects(apply_stripe_event, table="table", catalog="catalog",  # type: ignore[arg-type]
                                  connect_payments=connect, clock=lambda: NOW)
    assert effects.apply({"id": "evt_1"}) == "done" and effects.apply({"id": "evt_2"}) == "done"
    assert connections == ["connected"]
    assert calls[0] == {"event": {"id": "evt_1"}, "table": "table", "catalog": "catalog", "payments": "payments",
                        "now": NOW}


# -- the consumer function: SQS batch → functions/webhooks/consumer.py (moto) --------------------------------------


def _sqs_event(*bodies: str) -> dict[str, Any]:
    sample = json.loads((REPO / "events/webhooks/sqs-stripe-event.json").read_text())
    template = sample["Records"][0]
    return {"Records": [{**template, "messageId": f"message-{n}", "body": body} for n, body in enumerate(bodies)]}


@pytest.fixture
def consumer(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Table]]:
    _aws_environment(monkeypatch)
    with mock_aws():
        aws.client.cache_clear()
        table = _create_table(boto3.client("dynamodb", region_name="us-east-1"))
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name="/wrapper/stripe/secret-key", Value="sk_test_unit", Type="SecureString")
        spec = importlib.util.spec_from_file_location("webhooks_consumer_under_test",
                                                      REPO / "functions/webhooks/consumer.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module, table
        aws.client.cache_clear()


def test_the_sample_sqs_event_is_settled_by_the_consumer(consumer: tuple[Any, Table]) -> None:
    module, table = consumer
    event = json.loads((REPO / "events/webhooks/sqs-stripe-event.json").read_text())
    answer = module.handler(event, lambda_context())
    assert answer == {"batchItemFailures": []}
    stripe_event_id = json.loads(event["Records"][0]["body"])["id"]
    item = table.get(stripe_event_pk(stripe_event_id), STRIPE_EVENT_SK)
    assert item is not None and item["status"] == "applied"


def test_a_bad_message_fails_alone_and_the_rest_of_the_batch_is_settled(consumer: tuple[Any, Table]) -> None:
    module, table = consumer
    answer = module.handler(_sqs_event("not json", json.dumps(stripe_event("evt_good")), json.dumps({"id": "#"})),
                            lambda_context())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "message-0"}, {"itemIdentifier": "message-2"}]}
    item = table.get(stripe_event_pk("evt_good"), STRIPE_EVENT_SK)
    assert item is not None and item["status"] == "applied"
