"""Helpers shared by the integration and e2e suites."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
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
    """Make an existing user a member of a tenant (both membership items), as an accepted invite does.

    Written directly: the API's way (an invite by an owner, accepted with the member's password) needs more than
    the two ids the callers have."""
    from wrapper.store.schema import member_sk, membership_sk, tenant_pk, user_pk

    items = table(cloud)
    items.put({"PK": user_pk(user_id), "SK": membership_sk(tenant_id), "tenant_id": tenant_id, "role": role})
    items.put({"PK": tenant_pk(tenant_id), "SK": member_sk(user_id), "user_id": user_id, "role": role})


def call(cloud: Any, method: str, path: str, session: dict[str, Any] | None, *, tenant: str | None = None,
         body: Any = None, headers: dict[str, str] | None = None, **params: Any) -> Any:
    """One API request as a client makes it: the session's bearer token, JSON body, query params."""
    import requests

    sent = {"Content-Type": "application/json", **(headers or {})}
    if session:
        sent["Authorization"] = f"Bearer {session['access_token']}"
    if tenant:
        sent["X-Tenant-Id"] = tenant
    data = None if body is None else body if isinstance(body, str) else json.dumps(body)
    return requests.request(method, f"{cloud.api_url}{path}", headers=sent, data=data, params=params, timeout=20)


def emails_to(cloud: Any, address: str) -> list[dict[str, Any]]:
    """The emails sent to an address, oldest first, as the local cloud shows them over HTTP."""
    import requests

    answer = requests.get(f"{cloud.api_url}/_local/emails", timeout=10)
    assert answer.status_code == 200, answer.text
    return [mail for mail in answer.json()["items"] if address in mail["to"]]


def token_in(mail: dict[str, Any], label: str) -> str:
    """The one-time token an email carries on its ``<label>: <token>`` line."""
    for line in str(mail["text"]).splitlines():
        if line.startswith(f"{label}: "):
            return line.removeprefix(f"{label}: ").strip()
    raise AssertionError(f"no {label!r} line in {mail['text']!r}")


PROBLEM = "application/problem+json"


def answered(answer: Any, *expected: int) -> Any:
    """The JSON body of an answer whose status is one of ``expected`` (by default 200)."""
    assert answer.status_code in (expected or (200,)), (answer.status_code, answer.text)
    return answer.json() if answer.content else None


def refused(answer: Any, *statuses: int | tuple[int, ...]) -> dict[str, Any]:
    """The problem+json body of a refusal whose status is one of ``statuses``."""
    wanted = [code for status in statuses for code in (status if isinstance(status, tuple) else (status,))]
    assert answer.status_code in wanted, (answer.status_code, answer.text)
    assert answer.headers["Content-Type"] == PROBLEM
    problem: dict[str, Any] = answer.json()
    return problem


class LocalClock:
    """The local cloud's clock, read and moved over HTTP (``/_local/clock``) as a client would.
    Take it through the ``local_clock`` fixture, which puts it back to the real time afterwards."""

    def __init__(self, api_url: str) -> None:
        self.url = f"{api_url}/_local/clock"

    def now(self) -> Any:
        return self._answer("GET")

    def offset(self) -> float:
        """How many seconds the clock runs ahead of the real time."""
        import requests

        answer = requests.get(self.url, timeout=10)
        assert answer.status_code == 200, answer.text
        return float(answer.json()["offset_seconds"])

    def advance(self, seconds: float) -> Any:
        """Move forward ``seconds``; answers the clock's new time."""
        return self._answer("POST", {"advance_seconds": seconds})

    def set(self, moment: Any) -> Any:
        """Move forward to ``moment`` (an aware datetime); answers the clock's new time."""
        return self._answer("POST", {"now": moment.isoformat()})

    def reset(self) -> Any:
        return self._answer("DELETE")

    def _answer(self, method: str, body: dict[str, Any] | None = None) -> Any:
        from datetime import datetime

        import requests

        answer = requests.request(method, self.url, json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        return datetime.fromisoformat(answer.json()["now"])


def start_billing(cloud: Any, at: datetime) -> str:
    """Fire the billing run's daily schedule as Scheduler would at ``at``; answers the execution's ARN."""
    from localcloud.eventbridge import run_schedule

    schedule = cloud.stack.resources["BillingRunStateMachineDaily"].ref
    arn: str = run_schedule(cloud.client, schedule, at=at)["executionArn"]
    return arn


def finished_billing(cloud: Any, execution_arn: str) -> dict[str, Any]:
    """The billing run's execution once it has stopped running."""
    sfn = cloud.client("stepfunctions")

    def finished() -> dict[str, Any] | None:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        return execution if execution["status"] != "RUNNING" else None

    result: dict[str, Any] = wait_for(finished, timeout=60, interval=0.25, message="the billing run to finish")
    return result


def run_billing(cloud: Any, at: datetime) -> dict[str, Any]:
    """Start the billing run for ``at`` and answer its finished execution."""
    return finished_billing(cloud, start_billing(cloud, at))
