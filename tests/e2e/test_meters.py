"""/v1/admin/meters over HTTP: the operator creates, lists and changes meters; tenants and other
callers are refused; bad input is problem+json and writes nothing; a code is taken once."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from tests.support import call, join, refused, signup, table
from wrapper.identity.operators import grant_operator
from wrapper.store.schema import CATALOG_PK, meter_sk

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def op(cloud: Any) -> dict[str, Any]:
    session = signup(cloud, "Meters operator")
    grant_operator(table(cloud), session["user_id"])
    return session


def _code() -> str:
    return f"m{uuid.uuid4().hex[:10]}"


def _stored(cloud: Any, code: str) -> Any:
    return table(cloud).get(CATALOG_PK, meter_sk(code))


def test_the_operator_creates_lists_and_changes_a_meter(cloud: Any, op: dict[str, Any]) -> None:
    code = _code()
    body = {"code": code, "name": "GPU seconds", "event_name": "gpu_job", "aggregation": "sum",
            "property": "seconds", "filter": {"region": "eu", "spot": False}}
    created = call(cloud, "POST", "/v1/admin/meters", op, body=body)
    assert created.status_code == 201, created.text
    assert created.json() == {**body, "active": True}
    listed = call(cloud, "GET", "/v1/admin/meters", op).json()["items"]
    assert [m for m in listed if m["code"] == code] == [{**body, "active": True}]
    changed = call(cloud, "PATCH", f"/v1/admin/meters/{code}", op, body={"name": "GPU time", "active": False})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["active"], changed.json()["property"]) == ("GPU time", False,
                                                                                            "seconds")
    assert _stored(cloud, code)["updated_by"] == op["user_id"]


def test_a_meter_code_is_taken_once_even_by_concurrent_requests(cloud: Any, op: dict[str, Any]) -> None:
    code = _code()
    body = {"code": code, "event_name": "x", "aggregation": "count"}
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(
        call(cloud, "POST", "/v1/admin/meters", op, body=body).status_code)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [201, 409, 409, 409]


@pytest.mark.parametrize("body", [
    {"event_name": "x", "aggregation": "count"},
    {"code": "Bad Code", "event_name": "x", "aggregation": "count"},
    {"code": "ok", "event_name": "x", "aggregation": "median"},
    {"code": "ok", "event_name": "x", "aggregation": "sum"},
    {"code": "ok", "event_name": "x", "aggregation": "count", "property": "n"},
    {"code": "ok", "event_name": "x", "aggregation": "count", "extra": 1},
    {"code": "ok", "event_name": "x", "aggregation": "count", "filter": {"a": {"nested": 1}}},
    {"code": "ok", "event_name": 5, "aggregation": "count"},
])
def test_a_bad_meter_is_422_and_writes_nothing(cloud: Any, op: dict[str, Any], body: dict[str, Any]) -> None:
    code = _code()
    if "code" in body and body["code"] == "ok":
        body = {**body, "code": code}
    refused(call(cloud, "POST", "/v1/admin/meters", op, body=body), 422)
    assert _stored(cloud, code) is None


@pytest.mark.parametrize("body", [{"event_name": "y"}, {"aggregation": "max"}, {"active": None}, {"name": 3}])
def test_what_a_meter_counts_never_changes(cloud: Any, op: dict[str, Any], body: dict[str, Any]) -> None:
    code = _code()
    assert call(cloud, "POST", "/v1/admin/meters", op,
                body={"code": code, "event_name": "x", "aggregation": "count"}).status_code == 201
    before = _stored(cloud, code)
    refused(call(cloud, "PATCH", f"/v1/admin/meters/{code}", op, body=body), 422)
    assert _stored(cloud, code) == before


def test_an_unknown_meter_is_404(cloud: Any, op: dict[str, Any]) -> None:
    refused(call(cloud, "PATCH", f"/v1/admin/meters/{_code()}", op, body={"name": "x"}), 404)


def test_tenant_owners_members_and_anonymous_callers_are_refused(cloud: Any, op: dict[str, Any]) -> None:
    owner = signup(cloud, "Meters tenant")
    member = signup(cloud, "Meters member")
    join(cloud, owner["tenant_id"], member["user_id"], "member")
    code = _code()
    body = {"code": code, "event_name": "x", "aggregation": "count"}
    for session in (owner, member):
        refused(call(cloud, "POST", "/v1/admin/meters", session, body=body), 403)
        refused(call(cloud, "GET", "/v1/admin/meters", session), 403)
        refused(call(cloud, "PATCH", "/v1/admin/meters/api_calls", session, body={"name": "x"}), 403)
    assert call(cloud, "GET", "/v1/admin/meters", None).status_code == 401
    assert _stored(cloud, code) is None
