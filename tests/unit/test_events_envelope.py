"""The event envelope, and reading it back from an SQS message that EventBridge delivered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from ulid import ULID

from wrapper.events.catalog import EventType
from wrapper.events.consumer import envelope_from_sqs_body
from wrapper.events.envelope import EventEnvelope, new_event

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def eventbridge_event(detail: object) -> dict[str, object]:
    """The event an EventBridge rule hands to an SQS target (the whole event is the message body)."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "subscription.created",
        "source": "wrapper.core",
        "account": "123456789012",
        "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def test_an_envelope_gets_a_ulid_id_by_default() -> None:
    # Given / When an envelope is made without an id
    event = EventEnvelope(type="tenant.created", tenant_id="acme")

    # Then its id is a 26-character ULID
    assert len(event.id) == 26
    assert set(event.id) <= CROCKFORD
    assert str(ULID.from_str(event.id)) == event.id


def test_two_envelopes_get_different_ids() -> None:
    # Given / When two envelopes are made
    first = EventEnvelope(type="tenant.created", tenant_id="acme")
    second = EventEnvelope(type="tenant.created", tenant_id="acme")

    # Then their ids differ
    assert first.id != second.id


def test_an_envelope_occurs_now_in_utc_written_with_a_z() -> None:
    # Given / When an envelope is made without occurred_at
    before = datetime.now(UTC)
    event = EventEnvelope(type="tenant.created", tenant_id="acme")

    # Then occurred_at is an ISO 8601 UTC instant ending in Z, at about now
    assert event.occurred_at.endswith("Z")
    occurred = datetime.fromisoformat(event.occurred_at)
    assert occurred.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= occurred <= datetime.now(UTC)


def test_an_envelope_is_version_one_with_empty_data_by_default() -> None:
    # Given / When an envelope is made with only a type and tenant
    event = EventEnvelope(type="tenant.created", tenant_id="acme")

    # Then it is version "1" and carries an empty data object
    assert event.version == "1"
    assert event.data == {}


def test_an_envelope_refuses_unknown_fields() -> None:
    # Given / When an envelope is made with a field the schema does not name
    # Then it is refused
    with pytest.raises(ValidationError, match="extra"):
        EventEnvelope(type="tenant.created", tenant_id="acme", source="somewhere")  # type: ignore[call-arg]


def test_an_envelope_requires_the_tenant_to_be_stated_even_when_none() -> None:
    # Given / When an envelope is made without saying whose event it is
    # Then it is refused
    with pytest.raises(ValidationError, match="tenant_id"):
        EventEnvelope(type="tenant.created")  # type: ignore[call-arg]


def test_an_envelope_cannot_be_changed_after_it_is_made() -> None:
    # Given an envelope
    event = EventEnvelope(type="tenant.created", tenant_id="acme")

    # When its type is changed
    # Then the change is refused
    with pytest.raises(ValidationError):
        event.type = "tenant.deleted"


def test_new_event_takes_its_type_from_the_catalog() -> None:
    # Given / When an event is made from the catalog
    event = new_event(EventType.INVOICE_PAID, "acme", {"invoice": "INV-1"})

    # Then its type is the catalog's wire name
    assert event.type == "invoice.paid"
    assert event.tenant_id == "acme"
    assert event.data == {"invoice": "INV-1"}


def test_an_sqs_body_holding_an_eventbridge_event_yields_its_detail() -> None:
    # Given an SQS message body holding the EventBridge event whose detail is our envelope
    event = new_event(EventType.SUBSCRIPTION_CREATED, "acme", {"plan_code": "pro", "status": "active"})
    body = json.dumps(eventbridge_event(event.model_dump()))

    # When the envelope is read from it
    read = envelope_from_sqs_body(body)

    # Then it is our envelope
    assert read == event


def test_an_sqs_body_holding_a_raw_envelope_yields_that_envelope() -> None:
    # Given an SQS message body that is the envelope itself
    event = new_event(EventType.TENANT_CREATED, None, {"name": "Acme"})

    # When the envelope is read from it
    read = envelope_from_sqs_body(event.model_dump_json())

    # Then it is that envelope
    assert read == event


def test_an_sqs_body_whose_detail_is_a_json_string_yields_the_envelope() -> None:
    # Given an EventBridge event whose detail was delivered as a JSON string
    event = new_event(EventType.PAYMENT_FAILED, "acme", {"amount": 2900, "currency": "USD", "reason": "declined"})
    body = json.dumps(eventbridge_event(event.model_dump_json()))

    # When the envelope is read from it
    read = envelope_from_sqs_body(body)

    # Then it is the envelope
    assert read == event


def test_an_sqs_body_whose_detail_is_not_an_envelope_is_refused() -> None:
    # Given an EventBridge event whose detail is someone else's shape
    body = json.dumps(eventbridge_event({"orderId": "o-1"}))

    # When / Then reading an envelope from it is refused
    with pytest.raises(ValidationError):
        envelope_from_sqs_body(body)
