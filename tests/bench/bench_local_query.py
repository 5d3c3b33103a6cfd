"""Queries per second against the local cloud's DynamoDB (moto in-process), as the table grows,
with moto's own Query and with the local cloud's partition Query. Prints JSON."""

from __future__ import annotations

import json
import time

import boto3
from moto import mock_aws

from localcloud.dynamodb import patch_partition_queries
from localcloud.patches import PATCHES
from wrapper.store.schema import member_sk, tenant_pk
from wrapper.store.table import Table

SIZES = (1_000, 10_000, 30_000)
QUERIES = 200


def _rate(items: Table) -> float:
    started = time.perf_counter()
    for n in range(QUERIES):
        items.query(tenant_pk(f"t{n % 20}"), limit=50)
    return round(QUERIES / (time.perf_counter() - started), 1)


def main() -> None:
    figures = []
    for size in SIZES:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                                           {"AttributeName": "SK", "KeyType": "RANGE"}],
                                AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                                      {"AttributeName": "SK", "AttributeType": "S"}])
            items = Table(client, "t")
            for n in range(size):
                items.put({"PK": tenant_pk(f"t{n % (size // 50)}"), "SK": member_sk(f"{n:06}")})
            moto_rate = _rate(items)
            patch_partition_queries()
            patched_rate = _rate(items)
            PATCHES.undo()  # moto's own Query again for the next size
            figures.append({"table_items": size, "partition_items": 50, "moto_queries_per_s": moto_rate,
                            "partition_queries_per_s": patched_rate})
    print(json.dumps({"local_dynamodb_query": figures}, indent=2))


if __name__ == "__main__":
    main()
