"""Items to and from DynamoDB JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wrapper.store.schema import PROFILE_SK, tenant_pk
from wrapper.store.table import from_dynamo, to_dynamo

# DynamoDB numbers carry 38 significant digits.
NUMBERS = st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1)
SCALARS = st.one_of(NUMBERS, st.text(), st.booleans())
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(), children, max_size=4)),
    max_leaves=8,
)
ITEMS = st.dictionaries(st.text(min_size=1), VALUES, max_size=6)


@pytest.mark.parametrize("item", [
    {"price": 1.5},
    {"line": {"price": 1.5}},
    {"prices": [1, 2.5]},
], ids=["top-level", "in-a-map", "in-a-list"])
def test_a_float_anywhere_in_an_item_is_refused(item: dict[str, Any]) -> None:
    # Given / When an item holding a float is converted
    # Then it is refused: money and quantities are int or Decimal
    with pytest.raises(TypeError, match="float"):
        to_dynamo(item)


def test_a_decimal_is_stored_as_a_number() -> None:
    # Given / When a Decimal is converted
    image = to_dynamo({"unit_price": Decimal("0.0125")})

    # Then it is a DynamoDB number with every digit kept
    assert image == {"unit_price": {"N": "0.0125"}}


def test_top_level_none_values_are_left_out() -> None:
    # Given / When an item with an unset attribute is converted
    image = to_dynamo({"PK": tenant_pk("acme"), "SK": PROFILE_SK, "deleted_at": None})

    # Then the attribute is not written at all
    assert image == {"PK": {"S": tenant_pk("acme")}, "SK": {"S": PROFILE_SK}}


@settings(max_examples=60)
@given(item=ITEMS)
def test_an_item_survives_the_round_trip_through_dynamodb_json(item: dict[str, Any]) -> None:
    # Given an item of integers, strings, booleans, lists and nested maps
    # When it is converted to DynamoDB JSON and back
    back = from_dynamo(to_dynamo(item))

    # Then it is equal to the original (integers come back as equal Decimals)
    assert back == item


@given(number=NUMBERS)
def test_an_integer_comes_back_as_an_integral_decimal(number: int) -> None:
    # Given / When an integer is converted there and back
    back = from_dynamo(to_dynamo({"n": number}))["n"]

    # Then it is a Decimal of the same value
    assert isinstance(back, Decimal)
    assert back == number
