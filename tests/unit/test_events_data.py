"""Each event type's data is a typed model, checked when the event is made."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wrapper.audit.logic import audit_entry
from wrapper.events.catalog import EventType
from wrapper.events.data import DATA, EventData, MemberRoleChanged, data_model
from wrapper.events.envelope import new_event


def test_every_event_type_has_a_model() -> None:
    # Given / When the catalog of types and the models are compared, Then none is left without one
    assert set(DATA) == set(EventType)


def test_an_event_whose_data_does_not_fit_its_type_is_not_made() -> None:
    # Given a threshold event without its meter, and a payment whose amount is not a number
    # When each is made, Then it is refused before anything could write it
    with pytest.raises(ValidationError, match="meter"):
        new_event(EventType.USAGE_THRESHOLD_REACHED, "acme", {"feature": "api_calls", "threshold_percent": 80,
                                                             "limit": 100, "value": 80, "period_start": "x",
                                                             "period_end": "y"})
    with pytest.raises(ValidationError, match="amount"):
        new_event(EventType.PAYMENT_FAILED, "acme", {"amount": "a lot", "currency": "USD"})


def test_a_reader_gets_typed_fields_and_keeps_the_ones_it_does_not_know() -> None:
    # Given a role change made by a newer writer that adds a field
    event = new_event(EventType.MEMBER_ROLE_CHANGED, "acme", {"actor": "u1", "target": "u2", "from": "member",
                                                              "to": "admin", "reason": "promotion"})

    # When it is read with its type's model
    data = data_model(event.type).model_validate(event.data)

    # Then the named fields are typed, and the unknown one is still there
    assert isinstance(data, MemberRoleChanged)
    assert (data.from_role, data.to, data.model_extra) == ("member", "admin", {"reason": "promotion"})
    assert data_model("something.new") is EventData


def test_the_audit_entry_reads_the_audit_fields() -> None:
    # Given an event with its audit fields
    event = new_event(EventType.API_KEY_REVOKED, "acme", {"actor": "u1", "target": "k1", "name": "ci",
                                                          "request_id": "r1", "source_ip": "10.0.0.9"})

    # When the audit consumer makes its entry, Then it holds who, what and from where
    entry = audit_entry(event)
    assert (entry["actor"], entry["target"], entry["request_id"], entry["source_ip"]) == ("u1", "k1", "r1", "10.0.0.9")
