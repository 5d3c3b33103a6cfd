"""Usage ingestion through the handler in-process against a local cloud: events/s, AWS calls and
DynamoDB write units per event (TransactWriteItems parts counted one by one), for batches of 1, 10
and 100, on the free plan and on payg (where every event spends credits from the wallet).
Prints JSON. Run: PYTHONPATH=layers/core:infra:. .venv/bin/python tests/bench/bench_usage.py"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "layers/core"), str(REPO / "infra"), str(REPO)]

EVENTS_PER_SIZE = 300
MIX = ("api_call", "completion", "seats_snapshot", "storage_snapshot")


def _events(n: int, offset: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    out = []
    for i in range(n):
        name = MIX[(offset + i) % len(MIX)]
        properties = {"api_call": {"user_id": f"u{i % 50}"}, "completion": {"tokens": i},
                      "seats_snapshot": {"seats": i % 30}, "storage_snapshot": {"gb": i % 7}}[name]
        out.append({"event_id": uuid.uuid4().hex, "name": name, "timestamp": now, "properties": properties})
    return out


class Counting:
    """A DynamoDB client proxy counting calls and write units (a transaction's parts one each)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: Counter[str] = Counter()
        self.write_units = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if name == "transact_write_items":
                self.write_units += 2 * len(kwargs["TransactItems"])  # transactional writes cost twice
            elif name in ("put_item", "update_item", "delete_item"):
                self.write_units += 1
            return method(*args, **kwargs)

        return counted


def main() -> None:
    # Only the JSON document goes to stdout: what else writes to file descriptor 1 (Powertools
    # loggers and metrics in the functions, moto) is sent to stderr.
    sys.stdout.flush()
    report = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        figures = run()
    finally:
        sys.stdout.flush()
    json.dump({"benchmark": "usage_ingestion", "mix": list(MIX), "results": figures}, report, indent=2)
    report.write("\n")
    report.close()


def run() -> list[dict[str, Any]]:
    from localcloud.server import LocalCloud, LocalCloudConfig

    cloud = LocalCloud(LocalCloudConfig(api_port=0, aws_port=0, stripe_port=0))
    cloud.start()
    try:
        from wrapper.catalog.seed_data import seed_catalog
        from wrapper.catalog.store import Catalog
        from wrapper.catalog.view import CatalogView
        from wrapper.credits.service import Credits
        from wrapper.credits.store import WalletStore
        from wrapper.kernel.actor import Actor
        from wrapper.kernel.permissions import Permission
        from wrapper.kernel.tenant import TenantContext
        from wrapper.store.table import Table
        from wrapper.subscriptions.logic import Subscriptions
        from wrapper.subscriptions.store import SubscriptionStore
        from wrapper.usage.service import Usage
        from wrapper.usage.store import UsageStore

        name = cloud.stack.outputs["TableName"]
        seed_catalog(Table(cloud.client("dynamodb"), name))
        payg = Catalog(Table(cloud.client("dynamodb"), name)).plan_by_code("payg")
        assert payg is not None
        figures = []
        for size in (1, 10, 100):
            for plan in ("free", "payg"):
                client = Counting(cloud.client("dynamodb"))
                table = Table(client, name)
                subscriptions = Subscriptions(SubscriptionStore(table, outbox_ttl_days=7), Catalog(table),
                                              lambda: None, billing_page="")  # type: ignore[arg-type,return-value]
                tenant = TenantContext(tenant_id=f"bench{size}{plan}{uuid.uuid4().hex[:6]}")
                credits = Credits(WalletStore(table))
                subscription_of = subscriptions.current_of
                if plan == "payg":
                    # On payg every API call and token spends credits: the wallet is written with each event.
                    on_payg = subscriptions.current_of(tenant).model_copy(update={"plan_id": payg.id,
                                                                                  "plan_code": payg.code})
                    subscription_of = lambda t, s=on_payg: s  # noqa: E731
                    credits.grant(tenant, 1_000_000, source="operator", reference=None, by="bench")
                usage = Usage(UsageStore(table), CatalogView(Catalog(table)), subscription_of, credits=credits)
                actor = Actor(tenant=tenant, user_id="bench", permissions=frozenset({Permission.USAGE_WRITE}))
                usage.ingest(actor, _events(1, 0))  # warm: subscription and catalog snapshot
                client.calls.clear()
                client.write_units = 0
                batches = [_events(size, n) for n in range(0, EVENTS_PER_SIZE, size)]
                started = time.perf_counter()
                for batch in batches:
                    usage.ingest(actor, batch)
                elapsed = time.perf_counter() - started
                events = size * len(batches)
                figures.append({"batch_size": size, "plan": plan, "events": events,
                                "events_per_s": round(events / elapsed, 1),
                                "aws_calls_per_event": round(sum(client.calls.values()) / events, 2),
                                "write_units_per_event": round(client.write_units / events, 2),
                                "calls": dict(client.calls)})
        return figures
    finally:
        cloud.stop()


if __name__ == "__main__":
    main()
