"""The local cloud's Query reads one partition: same answers as moto's, at a partition's cost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.dynamodb import patch_partition_queries
from tests.unit.builders import wrapper_table
from wrapper.store.schema import MEMBER_PREFIX, due_pk, invite_sk, member_sk, tenant_pk
from wrapper.store.table import Table


@pytest.fixture
def table() -> Iterator[Table]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        items = wrapper_table(client, "t")
        for tenant in ("a", "b", "c"):
            for n in range(30):
                items.put({"PK": tenant_pk(tenant), "SK": (member_sk if n % 2 else invite_sk)(f"{n:03}"), "n": n,
                           "GSI1PK": _due(n % 3), "GSI1SK": f"{tenant}#{n:03}"})
        yield items


def _due(n: int) -> str:
    """One of three due days, as GSI1 partitions the subscriptions."""
    return due_pk(date(2030, 1, 1 + n))


def _every_page(table: Table, pk: str, **kwargs: Any) -> list[Any]:
    found, start = [], None
    while True:
        page, start = table.query(pk, limit=7, start_key=start, **kwargs)
        found += [(i["PK"], i["SK"]) for i in page]
        if not start:
            return found


@pytest.mark.parametrize("kwargs", [{}, {"sk_prefix": MEMBER_PREFIX}, {"forward": False},
                                    {"sk_between": (invite_sk("004"), member_sk("011"))}, {"filter_equals": {"n": 5}}],
                         ids=["all", "prefix", "backwards", "between", "filtered"])
def test_a_query_answers_exactly_what_moto_answers(table: Table, kwargs: dict[str, Any]) -> None:
    before = _every_page(table, tenant_pk("b"), **kwargs)

    patch_partition_queries()

    assert _every_page(table, tenant_pk("b"), **kwargs) == before
    assert before and all(pk == tenant_pk("b") for pk, _ in before)


def test_an_index_query_answers_exactly_what_moto_answers(table: Table) -> None:
    before = _every_page(table, _due(1), index="GSI1")

    patch_partition_queries()

    assert _every_page(table, _due(1), index="GSI1") == before
    assert len(before) == 30


def test_writes_made_after_a_query_are_seen_by_the_next(table: Table) -> None:
    patch_partition_queries()
    table.query(tenant_pk("a"), limit=100)

    table.put({"PK": tenant_pk("a"), "SK": member_sk("999"), "n": 999})

    assert (tenant_pk("a"), member_sk("999")) in _every_page(table, tenant_pk("a"))
    assert _every_page(table, tenant_pk("nobody")) == []


def test_a_query_lists_only_its_partition(table: Table) -> None:
    from moto.dynamodb.models.table import Table as MotoTable

    patch_partition_queries()
    listed: list[int] = []
    original = MotoTable.all_items

    def counting(self: Any) -> Any:
        answer = original(self)
        listed.append(len(answer))
        return answer

    MotoTable.all_items = counting  # type: ignore[method-assign]
    try:
        table.query(tenant_pk("c"), limit=100)
    finally:
        MotoTable.all_items = original  # type: ignore[method-assign]
    assert listed == [30]
