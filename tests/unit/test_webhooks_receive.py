"""Receiving Stripe webhooks: only correctly signed deliveries are kept, each event id is queued once, and a
crash between queueing and recording never loses an event."""

from __future__ import annotations

import base64
import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.builders import api_event, fake_aws_environment, lambda_context, wrapper_table
from tests.unit.fakes import Clock
from wrapper import aws
from wrapper.payments.webhooks import sign
from wrapper.store.schema import STRIPE_EVENT_SK, stripe_event_pk
from wrapper.store.table import Table
from wrapper.webhooks.ledger import StripeEventLedger
from wrapper.webhooks.models import StripeEventFacts
from wrapper.webhooks.receive import InvalidWebhook, receive
from wrapper.webhooks.secrets import WebhookSecrets, parse_secrets

SECRET = "whsec_test_secret"
NEW_SECRET = "whsec_new_secret"
T = 1_700_000_000
REPO = Path(__file__).resolve().parents[2]
# The vector of ../shared/fixtures/stripe/README.md (stripe Python SDK 16.1.0): exact bytes, newlines included.
VECTOR_BODY = (b'{\n  "id": "evt_test_webhook",\n  "object": "event",\n'
               b'  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }\n}')
VECTOR_HEADER = "t=1700000000,v1=3bfab77baf5f7b6991a46c9b53b6547d7afc56148b10468fcad9f35c1992ffbd"


def stripe_event(event_id: str = "evt_1", *, event_type: str = "setup_intent.succeeded", created: int = T,
                 object_id: str = "seti_1") -> bytes:
    return json.dumps({"id": event_id, "object": "event", "api_version": "2025-01-27.acacia", "created": created,
                       "livemode": False, "pending_webhooks": 1, "type": event_type,
                       "request": {"id": None, "idempotency_key": None},
                       "data": {"object": {"id": object_id, "object": event_type.split(".")[0],
                                           "customer": "cus_1", "metadata": {"tenant_id": "acme"}}}}).encode()


def _create_table(client: Any) -> Table:
    table: Table = wrapper_table(client)
    return table


@dataclass
class FakeQueue:
    sent: list[str] = field(default_factory=list)
    failures: int = 0

    def send(self, body: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the queue is unreachable")
        self.sent.append(body)


class CrashAfterSend(StripeEventLedger):
    """A ledger whose first record write never happens: the function died right after SendMessage."""

    crashes = 1

    def record_queued(self, facts: StripeEventFacts, *, now: float) -> bool:
        if self.crashes:
            self.crashes -= 1
            raise TimeoutError("the function was stopped")
        return super().record_queued(facts, now=now)


@dataclass
class ParameterStore:
    value: str
    reads: int = 0

    def fetch(self) -> str:
        self.reads += 1
        return self.value


@dataclass
class World:
    table: Table
    ledger: StripeEventLedger
    queue: FakeQueue
    store: ParameterStore
    secrets: WebhookSecrets
    clock: Clock[float]

    def deliver(self, payload: bytes, header: str | None, *, now: float = T + 5) -> Any:
        return receive(payload, header, secrets=self.secrets, ledger=self.ledger, queue=self.queue, now=now)[1]

    def items(self) -> list[dict[str, Any]]:
        return list(self.table.client.scan(TableName="wrapper")["Items"])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        table = _create_table(boto3.client("dynamodb", region_name="us-east-1"))
        store = ParameterStore(SECRET)
        clock = Clock(0.0)
        secrets = WebhookSecrets(store.fetch, refetch_interval=30, clock=clock)
        yield World(table, StripeEventLedger(table), FakeQueue(), store, secrets, clock)


def _refused(world: World, payload: bytes, header: str | None, *, now: float = T + 5) -> str:
    with pytest.raises(InvalidWebhook) as caught:
        world.deliver(payload, header, now=now)
    assert caught.value.status == 400
    assert world.queue.sent == [] and world.items() == [], "a refused delivery leaves nothing behind"
    return caught.value.detail


def test_a_signed_event_is_queued_then_recorded_as_queued(world: World) -> None:
    # Given an event signed with the endpoint's secret
    payload = stripe_event()

    # When Stripe delivers it
    receipt = world.deliver(payload, sign(payload, SECRET, T))

    # Then it is acknowledged, queued whole, and recorded once with what dedupe and ordering need
    assert receipt.received and not receipt.duplicate
    assert [json.loads(body) for body in world.queue.sent] == [json.loads(payload)]
    record = world.table.get(stripe_event_pk("evt_1"), STRIPE_EVENT_SK)
    assert record is not None
    assert record["status"] == "queued" and record["event_type"] == "setup_intent.succeeded"
    assert record["created"] == T and record["object_id"] == "seti_1"
    assert record["received_at"] == "2023-11-14T22:13:25.000Z"
    assert record["expires_at"] == T + 5 + 35 * 86400


def test_a_wrong_secret_is_refused(world: World) -> None:
    payload = stripe_event()
    assert "no v1 signature matches" in _refused(world, payload, sign(payload, "whsec_someone_else", T))


def test_a_tampered_body_is_refused(world: World) -> None:
    payload = stripe_event()
    header = sign(payload, SECRET, T)
    assert "no v1 signature matches" in _refused(world, payload.replace(b"seti_1", b"seti_2"), header)


def test_a_stale_timestamp_is_refused(world: World) -> None:
    payload = stripe_event()
    assert "tolerance" in _refused(world, payload, sign(payload, SECRET, T), now=T + 301)


def test_a_missing_header_is_refused(world: World) -> None:
    assert "missing Stripe-Signature" in _refused(world, stripe_event(), None)
    assert "missing Stripe-Signature" in _refused(world, stripe_event(), "")


@pytest.mark.parametrize("header", ["garbage", "t=abc,v1=00", "v1=" + "0" * 64, f"t={T}"])
def test_a_malformed_header_is_refused(world: World, header: str) -> None:
    _refused(world, stripe_event(), header)


def test_a_signed_payload_without_an_event_id_is_refused(world: World) -> None:
    payload = json.dumps({"id": "evt#1", "type": "customer.updated"}).encode()
    assert "not a Stripe event" in _refused(world, payload, sign(payload, SECRET, T))


def test_any_of_several_v1_values_may_match(world: World) -> None:
    payload = stripe_event()
    good = sign(payload, SECRET, T).split(",")[1]
    header = f"t={T},v1={'0' * 64},{good},v0={'1' * 64}"
    assert not world.deliver(payload, header).duplicate
    assert len(world.queue.sent) == 1


def test_during_a_rotation_both_secrets_verify(world: World) -> None:
    # Given the parameter holds the new and the old secret
    world.store.value = f"{NEW_SECRET},{SECRET}"
    old, new = stripe_event("evt_old"), stripe_event("evt_new")

    # Then an event signed with either is accepted
    assert not world.deliver(old, sign(old, SECRET, T)).duplicate
    assert not world.deliver(new, sign(new, NEW_SECRET, T)).duplicate
    assert len(world.queue.sent) == 2
    assert world.store.reads == 1, "the parameter is read once per cold start"


def test_a_rotated_secret_is_picked_up_by_refetching_after_a_failure(world: World) -> None:
    # Given a warm function that read the old secret
    first = stripe_event("evt_first")
    world.deliver(first, sign(first, SECRET, T))
    # When the secret is rotated and Stripe signs with the new one
    world.store.value = f"{NEW_SECRET},{SECRET}"
    world.clock.advance(31)
    rotated = stripe_event("evt_rotated")

    # Then the failure refetches once and the event is accepted
    assert not world.deliver(rotated, sign(rotated, NEW_SECRET, T)).duplicate
    assert world.store.reads == 2


def test_forged_requests_refetch_the_secret_at_most_once_per_interval(world: World) -> None:
    payload = stripe_event()
    for _ in range(20):
        with pytest.raises(InvalidWebhook):
            world.deliver(payload, sign(payload, "whsec_forged", T))
    assert world.store.reads == 1, "the cached read was recent: no refetch"
    world.clock.advance(31)
    for _ in range(20):
        with pytest.raises(InvalidWebhook):
            world.deliver(payload, sign(payload, "whsec_forged", T))
    assert world.store.reads == 2


def test_the_same_event_five_times_is_queued_once(world: World) -> None:
    payload = stripe_event()
    receipts = [world.deliver(payload, sign(payload, SECRET, T + n), now=T + n) for n in range(5)]
    assert [r.duplicate for r in receipts] == [False, True, True, True, True]
    assert len(world.queue.sent) == 1
    assert len(world.items()) == 1


def test_a_failed_send_records_nothing_so_the_retry_goes_through(world: World) -> None:
    # Given the queue is unreachable for the first delivery
    world.queue.failures = 1
    payload = stripe_event()
    with pytest.raises(ConnectionError):
        world.deliver(payload, sign(payload, SECRET, T))
    assert world.items() == []

    # When Stripe retries
    receipt = world.deliver(payload, sign(payload, SECRET, T + 60), now=T + 60)

    # Then the event is queued and recorded
    assert not receipt.duplicate and len(world.queue.sent) == 1
    assert world.ledger.status("evt_1") == "queued"


def test_a_crash_between_queueing_and_recording_loses_nothing(world: World) -> None:
    # Given the function dies after SendMessage, before the record is written
    world.ledger = CrashAfterSend(world.table)
    payload = stripe_event()
    with pytest.raises(TimeoutError):
        world.deliver(payload, sign(payload, SECRET, T))
    assert len(world.queue.sent) == 1 and world.ledger.status("evt_1") is None

    # When Stripe retries (it never got a 2xx)
    receipt = world.deliver(payload, sign(payload, SECRET, T + 60), now=T + 60)

    # Then the retry is not taken for a duplicate: the event is queued again and recorded
    assert not receipt.duplicate
    assert len(world.queue.sent) == 2 and world.ledger.status("evt_1") == "queued"


def test_a_delivery_that_loses_the_race_to_record_answers_duplicate(world: World) -> None:
    # Given a concurrent delivery recorded the event between our check and our write
    payload = stripe_event()
    world.ledger.record_queued(StripeEventFacts.of(json.loads(payload)), now=T)

    class LateLedger(StripeEventLedger):
        def status(self, event_id: str) -> str | None:
            return None

    world.ledger = LateLedger(world.table)
    assert world.deliver(payload, sign(payload, SECRET, T)).duplicate


def test_the_secret_parameter_holds_one_or_two_secrets() -> None:
    assert parse_secrets("whsec_a") == ["whsec_a"]
    assert parse_secrets(" whsec_a , whsec_b ") == ["whsec_a", "whsec_b"]
    for bad in ("", ",", "a,b,c"):
        with pytest.raises(ValueError):
            parse_secrets(bad)


# -- the whole handler path: API Gateway event → functions/webhooks/app.py → DynamoDB + SQS (moto) ---------------


@dataclass
class Function:
    module: ModuleType
    table: Table
    sqs: Any
    queue_url: str

    def post(self, body: str | bytes, headers: dict[str, str], *, base64_encoded: bool = False) -> dict[str, Any]:
        raw = body if isinstance(body, bytes) else body.encode()
        event = api_event("POST", "/v1/webhooks/stripe", headers=headers,
                          body=base64.b64encode(raw).decode() if base64_encoded else raw.decode())
        event["isBase64Encoded"] = base64_encoded
        answer: dict[str, Any] = self.module.handler(event, lambda_context())
        return answer

    def messages(self) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


@pytest.fixture
def function(monkeypatch: pytest.MonkeyPatch) -> Iterator[Function]:
    fake_aws_environment(monkeypatch, AWS_REGION="us-east-1", TABLE_NAME="wrapper",
                         STRIPE_WEBHOOK_SECRET_PARAMETER="/wrapper/stripe/webhook-secret",
                         POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_NAMESPACE="Wrapper")
    with mock_aws():
        aws.client.cache_clear()
        table = _create_table(boto3.client("dynamodb", region_name="us-east-1"))
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="stripe-events")["QueueUrl"]
        monkeypatch.setenv("STRIPE_EVENTS_QUEUE_URL", queue_url)
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name="/wrapper/stripe/webhook-secret", Value=SECRET, Type="SecureString")
        spec = importlib.util.spec_from_file_location("webhooks_app_under_test", REPO / "functions/webhooks/app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        monkeypatch.setattr(module, "clock", lambda: float(T))
        yield Function(module, table, sqs, queue_url)
        aws.client.cache_clear()


def test_the_fixed_vector_goes_through_the_whole_handler(function: Function) -> None:
    # Given the README's vector, delivered at its own time with a lower-case header name
    answer = function.post(VECTOR_BODY, {"stripe-signature": VECTOR_HEADER})

    # Then it is acknowledged, queued whole and recorded (its type is none we handle: the consumer ignores it)
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"]) == {"received": True, "duplicate": False}
    assert function.messages() == [json.loads(VECTOR_BODY)]
    record = function.table.get(stripe_event_pk("evt_test_webhook"), STRIPE_EVENT_SK)
    assert record is not None and record["object_id"] == "rdr_123" and record["status"] == "queued"


def test_one_changed_byte_of_the_vector_is_a_400_problem_with_no_side_effect(function: Function) -> None:
    answer = function.post(VECTOR_BODY + b"\n", {"Stripe-Signature": VECTOR_HEADER})
    assert answer["statusCode"] == 400
    headers = {**answer.get("headers", {}), **{k: v[-1] for k, v in answer.get("multiValueHeaders", {}).items()}}
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(answer["body"])
    assert problem["status"] == 400 and problem["type"].endswith("invalid-webhook")
    assert function.messages() == []
    assert function.table.get(stripe_event_pk("evt_test_webhook"), STRIPE_EVENT_SK) is None


def test_a_base64_encoded_body_is_verified_over_its_decoded_bytes(function: Function) -> None:
    answer = function.post(VECTOR_BODY, {"STRIPE-SIGNATURE": VECTOR_HEADER}, base64_encoded=True)
    assert answer["statusCode"] == 200, answer


def test_a_duplicate_through_the_handler_answers_duplicate_and_queues_nothing(function: Function) -> None:
    first = function.post(VECTOR_BODY, {"Stripe-Signature": VECTOR_HEADER})
    second = function.post(VECTOR_BODY, {"Stripe-Signature": VECTOR_HEADER})
    assert json.loads(first["body"]) == {"received": True, "duplicate": False}
    assert second["statusCode"] == 200 and json.loads(second["body"]) == {"received": True, "duplicate": True}
    assert len(function.messages()) == 1


def test_the_sample_api_event_verifies_at_its_own_time_with_the_local_secret(function: Function,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the local cloud's secret, and a clock at the sample's signing time
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/wrapper/stripe/webhook-secret", Value="whsec_local_wrapper", Type="SecureString", Overwrite=True)
    sample = json.loads((REPO / "events/webhooks/post-stripe-webhook.json").read_text())
    monkeypatch.setattr(function.module, "clock", lambda: float(sample["requestContext"]["requestTimeEpoch"]) / 1000)

    answer = function.module.handler(sample, lambda_context())

    assert answer["statusCode"] == 200, answer
    assert [m["type"] for m in function.messages()] == ["checkout.session.completed"]
