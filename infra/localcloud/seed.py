"""Demo data for ``make dev``: written through the same layer code the functions use."""

from __future__ import annotations

from typing import Any

from wrapper.events.catalog import EventType
from wrapper.events.envelope import new_event
from wrapper.events.outbox import write_with_outbox
from wrapper.store.keys import tenant_pk
from wrapper.store.table import Table, put_op

DEMO_TENANT_ID = "demo"


def seed_demo(dynamodb: Any, table_name: str) -> dict[str, str]:
    """A demo tenant profile, recorded with its ``tenant.created`` event through the outbox
    (idempotent: a second run finds the tenant and writes nothing)."""
    table = Table(dynamodb, table_name)
    if table.get(tenant_pk(DEMO_TENANT_ID), "PROFILE") is None:
        profile = {"PK": tenant_pk(DEMO_TENANT_ID), "SK": "PROFILE", "record_type": "tenant",
                   "tenant_id": DEMO_TENANT_ID, "name": "Demo Company", "timezone": "UTC"}
        event = new_event(EventType.TENANT_CREATED, DEMO_TENANT_ID,
                          {"actor": "seed", "target": DEMO_TENANT_ID, "name": "Demo Company"})
        write_with_outbox(table, [put_op(profile, condition="attribute_not_exists(PK)")], [event], ttl_days=7)
    return {"tenant_id": DEMO_TENANT_ID}
