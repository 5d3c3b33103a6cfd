"""The usage partition's items and the writes that keep its aggregates exact (see the package docstring)."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from wrapper.catalog.models import Aggregation, Meter
from wrapper.credits.service import Charge
from wrapper.credits.store import pause_after_conflict
from wrapper.events.envelope import EventEnvelope
from wrapper.events.outbox import write_with_outbox
from wrapper.kernel.clock import epoch
from wrapper.kernel.errors import Unavailable
from wrapper.kernel.tenant import TenantContext
from wrapper.kernel.timestamps import iso_z
from wrapper.store.schema import (
    USAGE_EVENT_PREFIX,
    day_prefix,
    period_prefix,
    stamp,
    threshold_sk,
    unique_sk,
    usage_event_sk,
    usage_pk,
)
from wrapper.store.table import Item, StoreBusy, Table, WriteRefused, put_op, retryable, update_op
from wrapper.usage.logic import canonical, day_of, latest_key, measure, shard_of
from wrapper.usage.models import UsageEvent

EVENT_TTL_DAYS = 40  # dedupe for 35 days is promised; 5 more for clock skew and slow retries
MARKER_TTL_DAYS = 400  # a unique value's marker must outlive the longest (yearly) period it guards
IN_TRANSACTION = (Aggregation.COUNT, Aggregation.SUM)
WALLET_ATTEMPTS = 30  # concurrent batches charging one wallet take turns: each retry reads it again
TenantTables = Callable[[TenantContext], Table]
# A hook called at named points of a write ("event_committed", "follow_up_done"): tests inject faults.
Faults = Callable[[str], None]


class UsageStore:
    def __init__(self, table: Table, *, faults: Faults | None = None, attempts: int = 5,
                 outbox_ttl_days: int = 7, tenant_tables: TenantTables | None = None) -> None:
        self.table = table
        # A tenant's items are read and written through ``tenant_tables(tenant)`` when given: the
        # function's credentials scoped to that tenant (``wrapper.tenancy.scoping``).
        self.tenant_tables = tenant_tables or (lambda tenant: table)
        self.outbox_ttl_days = outbox_ttl_days
        self.faults = faults or (lambda point: None)
        self.attempts = attempts

    # -- writes ----------------------------------------------------------------------------------
    def record(self, tenant: TenantContext, event: UsageEvent, measured: list[tuple[Meter, Decimal | str]],
               period_start: datetime, now: float, meters: dict[str, Meter], charge: Charge | None = None) -> bool:
        """Write the event with its count/sum additions (and its charge to the credit wallet) in one
        transaction, then its follow-ups. False when the event was already there (its pending
        follow-ups are completed)."""
        pk = usage_pk(tenant)
        shard = shard_of(event.event_id)
        pending = [m.code for m, _ in measured if m.aggregation not in IN_TRANSACTION]
        item: Item = {"PK": pk, "SK": usage_event_sk(event.event_id), "record_type": "usage_event",
                      "event_id": event.event_id, "name": event.name,
                      "ts": iso_z(event.timestamp, timespec="microseconds"),
                      "properties": canonical(event.properties), "period": stamp(period_start),
                      "meters": [m.code for m, _ in measured] or None, "pending": pending or None,
                      "expires_at": int(now + EVENT_TTL_DAYS * 86400)}
        operations = [put_op(item, condition="attribute_not_exists(PK)")]
        for meter, value in measured:
            if meter.aggregation in IN_TRANSACTION:
                for sk in self._aggregate_sks(meter.code, period_start, event.timestamp, shard):
                    operations.append(update_op(pk, sk, update="ADD v :x SET record_type = :t",
                                                values={":x": value, ":t": "usage_aggregate"}))
        charged = charge.operations(refresh=False) if charge else []
        for attempt in range(WALLET_ATTEMPTS):
            try:
                self._retrying(functools.partial(self.tenant_tables(tenant).transact, operations + charged))
                break
            except WriteRefused as refused:
                if refused.failed_at(0):
                    if charge:
                        charge.forget()
                    self.complete(tenant, event.event_id, meters)
                    return False
                if not (charge and charged and refused.failed_at(len(operations))):
                    raise
                # The wallet moved (another batch charged it): wait a little, then charge it as it is now.
                pause_after_conflict(attempt)
                charged = charge.operations(refresh=True)
        else:
            raise Unavailable("The credit wallet is busy; send the event again.")
        if charge:
            charge.committed()
        self.faults("event_committed")
        if pending:
            self.complete(tenant, event.event_id, meters, written=item)
        return True

    def complete(self, tenant: TenantContext, event_id: str, meters: dict[str, Meter], *,
                 written: Item | None = None) -> None:
        """Apply an event's pending max/latest/unique_count writes (each idempotent), then clear them.
        ``written``: the item this request just wrote (no need to read it back)."""
        pk = usage_pk(tenant)
        table = self.tenant_tables(tenant)
        found = written or table.get(pk, usage_event_sk(event_id))
        if found is None or not found.get("pending"):
            return
        properties = json.loads(str(found["properties"]), parse_float=Decimal)
        at = datetime.fromisoformat(str(found["ts"]).replace("Z", "+00:00"))
        period = datetime.strptime(str(found["period"]), "%Y%m%dT%H%M%SZ").replace(tzinfo=at.tzinfo)
        event = UsageEvent(event_id=event_id, name=str(found["name"]), timestamp=at, properties=properties)
        for code in list(found["pending"]):
            meter = meters.get(code)
            if meter is None:
                continue  # the meter left the catalog meanwhile: nothing to count it in
            value = measure(meter, event)
            if value is not None:
                self._follow_up(tenant, meter, value, event, period, table)
        self.faults("follow_up_done")
        self._retrying(lambda: table.update(pk, usage_event_sk(event_id), update="REMOVE pending",
                                            condition="attribute_exists(PK)"))

    def _follow_up(self, tenant: TenantContext, meter: Meter, value: Decimal | str, event: UsageEvent,
                   period_start: datetime, table: Table) -> None:
        pk = usage_pk(tenant)
        shard = shard_of(event.event_id)
        period_sk, day_sk = self._aggregate_sks(meter.code, period_start, event.timestamp, shard)
        if meter.aggregation == Aggregation.UNIQUE_COUNT:
            assert isinstance(value, str)
            for scope, sk in ((stamp(period_start), period_sk), (f"D{day_of(event.timestamp)}", day_sk)):
                marker = {"PK": pk, "SK": unique_sk(meter.code, scope, value), "record_type": "usage_unique",
                          "expires_at": int(epoch() + MARKER_TTL_DAYS * 86400)}
                self._conditional(table, [put_op(marker, condition="attribute_not_exists(PK)"),
                                          update_op(pk, sk, update="ADD v :one SET record_type = :t",
                                                    values={":one": 1, ":t": "usage_aggregate"})])
            return
        for sk in (period_sk, day_sk):
            if meter.aggregation == Aggregation.MAX:
                change = update_op(pk, sk, update="SET v = :x, record_type = :t",
                                   condition="attribute_not_exists(v) OR v < :x",
                                   values={":x": value, ":t": "usage_aggregate"})
            else:
                change = update_op(pk, sk, update="SET v = :x, #at = :k, record_type = :t",
                                   condition="attribute_not_exists(#at) OR #at < :k", names={"#at": "at"},
                                   values={":x": value, ":k": latest_key(event.timestamp, event.event_id),
                                           ":t": "usage_aggregate"})
            self._conditional(table, [change])

    def mark_threshold(self, tenant: TenantContext, meter: str, period_start: datetime, percent: int,
                       event: EventEnvelope) -> bool:
        """Put the threshold's marker and its event in one transaction, so the event exists iff the
        marker does: False when the marker was there already (someone else published it)."""
        marker = {"PK": usage_pk(tenant), "SK": threshold_sk(meter, period_start, percent),
                  "record_type": "usage_threshold", "event_id": event.id,
                  "expires_at": int(epoch() + MARKER_TTL_DAYS * 86400)}
        try:
            self._retrying(lambda: write_with_outbox(
                self.tenant_tables(tenant), [put_op(marker, condition="attribute_not_exists(PK)")], [event],
                ttl_days=self.outbox_ttl_days))
        except WriteRefused as refused:
            if not refused.failed_at(0):
                raise
            return False
        return True

    def _conditional(self, table: Table, operations: list[dict[str, Any]]) -> None:
        """A write whose failed condition means it is already done (a larger max, a later latest, a seen value)."""
        try:
            self._retrying(lambda: table.transact(operations))
        except WriteRefused as refused:
            if not refused.failed_at(0):
                raise

    def _retrying(self, write: Callable[[], Any]) -> Any:
        for attempt in range(self.attempts):
            try:
                return write()
            except (WriteRefused, StoreBusy) as exc:
                if not retryable(exc) or attempt == self.attempts - 1:
                    raise
                time.sleep(0.02 * 2 ** attempt)
        return None

    @staticmethod
    def _aggregate_sks(meter: str, period_start: datetime, at: datetime, shard: int) -> tuple[str, str]:
        return f"{period_prefix(meter, period_start)}{shard}", f"{day_prefix(meter, day_of(at))}{shard}"

    # -- reads -----------------------------------------------------------------------------------
    def period_shards(self, tenant: TenantContext, meter: str, period_start: datetime) -> list[Item]:
        items, _ = self.tenant_tables(tenant).query(usage_pk(tenant), sk_prefix=period_prefix(meter, period_start),
                                                    limit=100)
        return items

    def day_shards(self, tenant: TenantContext, meter: str, first: date, last: date) -> list[Item]:
        found: list[Item] = []
        start: dict[str, Any] | None = None
        while True:
            items, start = self.tenant_tables(tenant).query(usage_pk(tenant), limit=500, start_key=start,
                                            sk_between=(day_prefix(meter, first), day_prefix(meter, last) + "~"))
            found.extend(items)
            if not start:
                return found

    def events(self, tenant: TenantContext) -> list[Item]:
        """Every raw event the tenant sent in the last 40 days (recomputation, not a request path)."""
        found: list[Item] = []
        start: dict[str, Any] | None = None
        while True:
            items, start = self.tenant_tables(tenant).query(usage_pk(tenant), sk_prefix=USAGE_EVENT_PREFIX, limit=1000,
                                                            start_key=start)
            found.extend(items)
            if not start:
                return found
