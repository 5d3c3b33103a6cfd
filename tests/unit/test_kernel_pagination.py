"""Cursor paging: limits and cursors that cannot cross partitions."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wrapper.kernel.errors import InvalidInput
from wrapper.kernel.pagination import DEFAULT_LIMIT, MAX_LIMIT, clamp_limit, decode_cursor, encode_cursor
from wrapper.store.schema import INVOICES_INDEX_PK, invoice_sk, member_sk, tenant_pk

PARTITION = tenant_pk("acme")


def raw_cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_no_limit_means_the_default_limit() -> None:
    # Given / When no limit is asked for / Then the default applies
    assert clamp_limit(None) == DEFAULT_LIMIT == 50


@pytest.mark.parametrize("limit", [1, 100])
def test_a_limit_at_either_bound_is_taken_as_asked(limit: int) -> None:
    # Given / When a limit of 1 or of the maximum is asked for / Then it is kept
    assert clamp_limit(limit) == limit


@pytest.mark.parametrize("limit", [0, -1, 101])
def test_a_limit_outside_one_to_one_hundred_is_refused_naming_the_field(limit: int) -> None:
    # Given / When a limit below 1 or above the maximum is asked for
    with pytest.raises(InvalidInput) as refused:
        clamp_limit(limit)

    # Then it is refused as invalid input about "limit"
    assert MAX_LIMIT == 100
    assert refused.value.errors is not None
    assert refused.value.errors[0]["field"] == "limit"


@pytest.mark.parametrize("last_key", [None, {}])
def test_no_last_key_means_no_next_cursor(last_key: dict[str, str] | None) -> None:
    # Given / When the last page has no last key / Then there is no cursor
    assert encode_cursor(last_key) is None


def test_a_cursor_is_url_safe_without_padding() -> None:
    # Given a key whose JSON encodes to bytes that standard base64 would write with + / and =
    key = {"PK": PARTITION, "SK": member_sk("\u00ff\u00fe\u00fd?>")}

    # When it is encoded
    cursor = encode_cursor(key)

    # Then the cursor can go in a query string as it is
    assert cursor is not None
    assert not set(cursor) & set("+/=")


@settings(max_examples=120)
@given(partition=st.text(min_size=1), sort_key=st.text())
def test_a_cursor_decodes_to_the_key_it_was_made_from(partition: str, sort_key: str) -> None:
    # Given a table's last evaluated key (its PK and SK) with arbitrary string values
    key = {"PK": partition, "SK": sort_key}

    # When it is encoded and decoded for the same partition
    cursor = encode_cursor(key)
    decoded = decode_cursor(cursor, partition_key=partition)

    # Then the same key comes back
    assert decoded == key


ACME = tenant_pk("acme")


@pytest.mark.parametrize("key", [
    {"PK": ACME, "SK": member_sk("1"), "extra": "x"},  # an attribute no page of the list ends on
    {"PK": ACME, "SK": {"S": member_sk("0")}},  # not a string: DynamoDB would refuse it
    {"PK": ACME},  # no sort key
    {"PK": ACME, "SK": 7},
])
def test_a_forged_cursor_is_refused_as_invalid_input(key: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor(key), partition_key=ACME)  # type: ignore[arg-type]


@pytest.mark.parametrize("cursor", [None, ""])
def test_no_cursor_means_the_first_page(cursor: str | None) -> None:
    # Given / When no cursor is given / Then paging starts at the beginning
    assert decode_cursor(cursor, partition_key=PARTITION) is None


@pytest.mark.parametrize("cursor", [
    "a",  # impossible base64 length
    "!!!!",  # no base64 at all
    "bm90IGpzb24",  # base64 of "not json"
    raw_cursor([PARTITION, "SK"]),  # JSON, but not an object
    raw_cursor({"SK": member_sk("1")}),  # an object without a partition key
    raw_cursor(PARTITION),  # a JSON string
    "/w",  # base64 of a byte that is not UTF-8
], ids=["bad-length", "not-base64", "not-json", "json-list", "no-pk", "json-string", "not-utf8"])
def test_a_garbage_cursor_is_refused_as_invalid_input(cursor: str) -> None:
    # Given / When a cursor that no list minted is decoded
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(cursor, partition_key=PARTITION)

    # Then it is refused as invalid input about "cursor"
    assert refused.value.errors is not None
    assert refused.value.errors[0]["field"] == "cursor"


def test_a_cursor_minted_for_another_tenant_is_refused() -> None:
    # Given a cursor minted while paging tenant other's members
    cursor = encode_cursor({"PK": tenant_pk("other"), "SK": member_sk("42")})

    # When tenant acme presents it
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(cursor, partition_key=PARTITION)

    # Then it is refused as not being for this list
    assert refused.value.errors == [{"field": "cursor", "message": "not for this list"}]


def test_an_index_cursor_pages_only_its_index() -> None:
    # Given a cursor minted while paging every tenant's invoices on GSI1 (its key names the last invoice's tenant)
    index_key = {"PK": PARTITION, "SK": invoice_sk("in_1"), "GSI1PK": INVOICES_INDEX_PK, "GSI1SK": invoice_sk("in_1")}
    cursor = encode_cursor(index_key)

    # Then the index's list takes it back, and the tenant's own list refuses it, as the index refuses the tenant's
    assert decode_cursor(cursor, partition_key=INVOICES_INDEX_PK, attribute="GSI1PK") == index_key
    with pytest.raises(InvalidInput):
        decode_cursor(cursor, partition_key=PARTITION)
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor({"PK": PARTITION, "SK": invoice_sk("in_1")}), partition_key=INVOICES_INDEX_PK,
                      attribute="GSI1PK")


@settings(max_examples=300)
@given(cursor=st.text(min_size=1))
def test_any_cursor_either_pages_this_partition_or_is_refused_as_invalid_input(cursor: str) -> None:
    # Given an arbitrary cursor string
    # When it is decoded
    try:
        decoded = decode_cursor(cursor, partition_key=PARTITION)
    except InvalidInput:
        return

    # Then, if it was taken, it pages this partition only
    assert decoded is not None
    assert decoded["PK"] == PARTITION
