"""The webhook's request path: verify the signature, keep each event id once, and queue the event.

Order of the two writes, and why: the event is SENT to the queue first and RECORDED (conditional put,
status ``queued``) only after SendMessage succeeded. A standard queue cannot dedupe by event id, so the
consumer is idempotent by event id instead, and that makes this order safe:

- SendMessage fails → nothing is recorded, we answer 5xx, Stripe retries and the retry goes through.
- a crash after the send, before the record → Stripe retries (it never got a 2xx); the retry finds no record
  and queues the event again; the consumer applies it once and skips the second copy.
- a record therefore always means "a message is on the queue": recording first could leave a record with no
  message, and every retry would be answered "duplicate" while the event is lost.

Concurrent deliveries of one event may each queue a copy; one wins the conditional put, and the consumer
applies the event once. Sequential duplicates (the usual case) find the record and queue nothing.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from wrapper.kernel.errors import DomainError
from wrapper.payments.webhooks import InvalidSignature
from wrapper.webhooks.ledger import StripeEventLedger
from wrapper.webhooks.models import MalformedEvent, StripeEventFacts, WebhookReceipt
from wrapper.webhooks.secrets import WebhookSecrets


class InvalidWebhook(DomainError):
    status = 400
    title = "Bad Request"
    type_slug = "invalid-webhook"


class EventQueue(Protocol):
    def send(self, body: str) -> None: ...


class SqsEventQueue:
    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self.client = sqs_client
        self.queue_url = queue_url

    def send(self, body: str) -> None:
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=body)


def message_body(event: dict[str, Any]) -> str:
    # ASCII JSON: SQS refuses some characters a raw body may hold, and the consumer parses it anyway.
    return json.dumps(event, separators=(",", ":"), ensure_ascii=True)


def receive(payload: bytes, signature: str | None, *, secrets: WebhookSecrets, ledger: StripeEventLedger,
            queue: EventQueue, now: float) -> tuple[StripeEventFacts, WebhookReceipt]:
    """Accept one delivery. InvalidWebhook (400, nothing written, nothing sent) unless it is signed right."""
    try:
        event = secrets.verify(payload, signature, now=now)
        facts = StripeEventFacts.of(event)
    except InvalidSignature as exc:
        raise InvalidWebhook(f"The Stripe-Signature does not verify: {exc.reason}.") from None
    except MalformedEvent as exc:
        raise InvalidWebhook(f"The payload is not a Stripe event: {exc}.") from None
    if ledger.status(facts.id) is not None:
        return facts, WebhookReceipt(duplicate=True)
    queue.send(message_body(event))
    recorded = ledger.record_queued(facts, now=now)
    return facts, WebhookReceipt(duplicate=not recorded)
