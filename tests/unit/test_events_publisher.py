"""publish_stream_records: outbox inserts from the table's stream, forwarded to the event bus."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.builders import outbox_record, stream_record
from wrapper.events.publisher import PUT_EVENTS_BATCH, publish_stream_records
from wrapper.store.schema import PROFILE_SK, tenant_pk

BUS = "wrapper"
SOURCE = "wrapper.core"
ALWAYS = 10**9


class FakeEventBus:
    """The EventBus port in memory: refuses an entry as often as told, then accepts it."""

    def __init__(self, *, refusals: dict[str, int] | None = None, raises: int = 0) -> None:
        self.refusals = dict(refusals or {})  # event id -> how many more times to refuse it
        self.raises = raises  # how many more calls raise before answering
        self.calls: list[list[dict[str, Any]]] = []
        self.accepted: list[dict[str, Any]] = []

    def put_events(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.calls.append(list(entries))
        if self.raises > 0:
            self.raises -= 1
            raise ConnectionError("endpoint unreachable")
        results: list[dict[str, Any]] = []
        for entry in entries:
            event_id = json.loads(entry["Detail"])["id"]
            if self.refusals.get(event_id, 0) > 0:
                self.refusals[event_id] -= 1
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                self.accepted.append(entry)
                results.append({"EventId": f"eb-{len(self.accepted)}"})
        return results

    def accepted_ids(self) -> list[str]:
        return [json.loads(entry["Detail"])["id"] for entry in self.accepted]


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def outbox_records(count: int) -> tuple[list[dict[str, Any]], list[str]]:
    """``count`` outbox INSERT records (sequence numbers 100, 101, ...) and their event ids."""
    records, ids = [], []
    for n in range(count):
        record, event = outbox_record(str(100 + n))
        records.append(record)
        ids.append(event.id)
    return records, ids


def publish(records: list[dict[str, Any]], bus: FakeEventBus, **kwargs: Any) -> Any:
    return publish_stream_records(records, bus, bus_name=BUS, source=SOURCE, **kwargs)


def test_outbox_inserts_are_sent_to_the_bus_in_batches_of_ten() -> None:
    # Given 23 outbox inserts
    records, _ = outbox_records(23)
    bus = FakeEventBus()

    # When they are published
    outcome = publish(records, bus)

    # Then the bus sees PutEvents calls of 10, 10 and 3 entries
    assert PUT_EVENTS_BATCH == 10
    assert [len(call) for call in bus.calls] == [10, 10, 3]
    assert outcome.published == 23
    assert outcome.failed_sequence_numbers == []


def test_an_entry_carries_the_envelope_as_detail_with_bus_source_and_type() -> None:
    # Given one outbox insert
    record, event = outbox_record("100")
    bus = FakeEventBus()

    # When it is published
    publish([record], bus)

    # Then the entry names the bus, the source and the event type, and its detail is the envelope
    (entry,) = bus.accepted
    assert entry["EventBusName"] == BUS
    assert entry["Source"] == SOURCE
    assert entry["DetailType"] == event.type
    assert json.loads(entry["Detail"]) == event.model_dump()


def test_records_that_are_not_outbox_inserts_are_skipped() -> None:
    # Given an outbox insert among an outbox MODIFY, an outbox REMOVE and the INSERT of a non-outbox item
    wanted, event = outbox_record("100")
    modified, _ = outbox_record("101", event_name="MODIFY")
    removed, _ = outbox_record("102", event_name="REMOVE")
    profile = stream_record({"PK": tenant_pk("acme"), "SK": PROFILE_SK, "name": "Acme"}, sequence_number="103")
    bus = FakeEventBus()

    # When the batch is published
    outcome = publish([modified, wanted, removed, profile], bus)

    # Then only the outbox insert reaches the bus, and the other three are counted as skipped
    assert bus.accepted_ids() == [event.id]
    assert outcome.skipped == 3
    assert outcome.published == 1


def test_a_batch_without_outbox_inserts_makes_no_call_to_the_bus() -> None:
    # Given only a non-outbox insert
    profile = stream_record({"PK": tenant_pk("acme"), "SK": PROFILE_SK}, sequence_number="100")
    bus = FakeEventBus()

    # When the batch is published
    outcome = publish([profile], bus)

    # Then the bus is not called
    assert bus.calls == []
    assert outcome.published == 0


def test_entries_refused_with_an_error_code_are_retried_until_they_succeed() -> None:
    # Given a bus that refuses one entry twice
    records, ids = outbox_records(3)
    bus = FakeEventBus(refusals={ids[1]: 2})

    # When the records are published with four attempts allowed
    outcome = publish(records, bus, max_attempts=4)

    # Then the refused entry alone is sent again until it is accepted, and nothing is reported failed
    assert [len(call) for call in bus.calls] == [3, 1, 1]
    assert sorted(bus.accepted_ids()) == sorted(ids)
    assert outcome.published == 3
    assert outcome.failed_sequence_numbers == []


def test_entries_still_refused_after_max_attempts_are_reported_by_sequence_number() -> None:
    # Given a bus that always refuses the second and fourth entries
    records, ids = outbox_records(5)
    bus = FakeEventBus(refusals={ids[1]: ALWAYS, ids[3]: ALWAYS})

    # When the records are published with three attempts allowed
    outcome = publish(records, bus, max_attempts=3)

    # Then those two are reported by their stream sequence numbers, after exactly three attempts
    assert outcome.failed_sequence_numbers == ["101", "103"]
    assert outcome.published == 3
    assert len(bus.calls) == 3


def test_a_bus_that_raises_is_treated_like_every_entry_failing() -> None:
    # Given a bus whose every call raises
    records, _ = outbox_records(4)
    bus = FakeEventBus(raises=ALWAYS)

    # When the records are published
    outcome = publish(records, bus, max_attempts=3)

    # Then each attempt resends the whole batch and every record is reported failed
    assert [len(call) for call in bus.calls] == [4, 4, 4]
    assert outcome.published == 0
    assert outcome.failed_sequence_numbers == ["100", "101", "102", "103"]


def test_a_bus_that_raises_once_is_retried_and_the_batch_goes_through() -> None:
    # Given a bus whose first call raises
    records, ids = outbox_records(2)
    bus = FakeEventBus(raises=1)

    # When the records are published
    outcome = publish(records, bus)

    # Then the second attempt delivers them all
    assert sorted(bus.accepted_ids()) == sorted(ids)
    assert outcome.published == 2
    assert outcome.failed_sequence_numbers == []


def test_a_failing_batch_does_not_stop_the_next_batch() -> None:
    # Given 12 records whose first one is always refused
    records, ids = outbox_records(12)
    bus = FakeEventBus(refusals={ids[0]: ALWAYS})

    # When they are published
    outcome = publish(records, bus, max_attempts=2)

    # Then the second batch of two is still published
    assert set(ids[10:]) <= set(bus.accepted_ids())
    assert outcome.failed_sequence_numbers == ["100"]
    assert outcome.published == 11


def test_attempts_are_separated_by_exponential_backoff_and_none_follows_the_last() -> None:
    # Given a bus that always refuses
    records, ids = outbox_records(1)
    bus = FakeEventBus(refusals={ids[0]: ALWAYS})
    sleep = RecordingSleep()

    # When the record is published with four attempts
    publish(records, bus, max_attempts=4, sleep=sleep)

    # Then there are three pauses, each twice the one before
    assert sleep.delays == [0.2, 0.4, 0.8]


def test_backoff_is_capped_at_two_seconds() -> None:
    # Given a bus that always refuses
    records, ids = outbox_records(1)
    bus = FakeEventBus(refusals={ids[0]: ALWAYS})
    sleep = RecordingSleep()

    # When the record is published with seven attempts
    publish(records, bus, max_attempts=7, sleep=sleep)

    # Then no pause is longer than two seconds
    assert sleep.delays == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]


def test_no_pause_when_the_first_attempt_succeeds() -> None:
    # Given a bus that accepts everything
    records, _ = outbox_records(3)
    sleep = RecordingSleep()

    # When the records are published
    publish(records, FakeEventBus(), sleep=sleep)

    # Then the publisher never sleeps
    assert sleep.delays == []


@settings(max_examples=60, deadline=None)
@given(
    refusal_counts=st.lists(st.integers(min_value=0, max_value=5), max_size=25),
    max_attempts=st.integers(min_value=1, max_value=4),
)
def test_every_outbox_insert_is_either_published_or_reported_failed(refusal_counts: list[int],
                                                                    max_attempts: int) -> None:
    # Given outbox inserts that the bus refuses a varying number of times each
    records, ids = outbox_records(len(refusal_counts))
    bus = FakeEventBus(refusals=dict(zip(ids, refusal_counts, strict=True)))

    # When they are published
    outcome = publish(records, bus, max_attempts=max_attempts)

    # Then nothing is silently dropped: exactly those refused on every attempt are reported
    expected_failed = [str(100 + n) for n, refusals in enumerate(refusal_counts) if refusals >= max_attempts]
    assert outcome.published + len(outcome.failed_sequence_numbers) == len(records)
    assert outcome.failed_sequence_numbers == expected_failed
    assert len(bus.accepted_ids()) == len(set(bus.accepted_ids())) == outcome.published
