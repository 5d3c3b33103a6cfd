"""Helpers shared by the integration and e2e suites."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"


def wait_for(condition: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.1,
             message: str = "condition") -> Any:
    """Poll until ``condition()`` is truthy; the asynchronous paths (streams, queues) need it."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def sample_event(relative: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / relative).read_text())
    return event


PASSWORD = "correct horse battery staple"


def signup(cloud: Any, tenant_name: str, *, email: str | None = None) -> dict[str, Any]:
    """A new tenant and its owner, signed up over HTTP; answers the session."""
    import uuid

    import requests

    answer = requests.post(f"{cloud.api_url}/v1/auth/signup", timeout=20, json={
        "email": email or f"{uuid.uuid4().hex[:12]}@tests.example", "password": PASSWORD,
        "tenant_name": tenant_name})
    assert answer.status_code == 201, answer.text
    session: dict[str, Any] = answer.json()
    return session


def table(cloud: Any) -> Any:
    from wrapper.store.table import Table

    return Table(cloud.client("dynamodb"), cloud.stack.outputs["TableName"])


def join(cloud: Any, tenant_id: str, user_id: str, role: str) -> None:
    """Make an existing user a member of a tenant (both membership items), as an accepted invite will."""
    items = table(cloud)
    items.put({"PK": f"PLATFORM#USER#{user_id}", "SK": f"TENANT#{tenant_id}", "tenant_id": tenant_id, "role": role})
    items.put({"PK": f"TENANT#{tenant_id}", "SK": f"MEMBER#{user_id}", "user_id": user_id, "role": role})
