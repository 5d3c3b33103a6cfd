"""The platform operator over HTTP: only a user flagged as operator reaches /v1/admin/ (every such
route template.yaml declares, so a new one is covered as it lands); tenant roles and API keys never
do; the flag gives nothing inside tenants; GET /v1/plans needs no credentials."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support import PASSWORD, REPO, answered, call, emails_to, signup, table, token_in
from wrapper.identity.operators import grant_operator, revoke_operator
from wrapper.store.schema import CATALOG_PK

PROBLEM = "application/problem+json"
SOME_ULID = "01J0SAMP1E0000000000000000"
# A body each admin write accepts by schema, so a refusal is the operator check, not validation.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/admin/meters"): {"code": "never_made", "event_name": "x", "aggregation": "count"},
    ("patch", "/v1/admin/meters/{code}"): {"name": "Renamed"},
    ("post", "/v1/admin/plans"): {"code": "never-made", "name": "Never made"},
    ("patch", "/v1/admin/plans/{plan_id}"): {"name": "Renamed", "version": 1},
    ("post", "/v1/admin/plans/{plan_id}/prices"): {
        "interval": {"unit": "month"}, "spec": {"model": "flat", "currency": "USD", "flat_amount": 100}},
    ("post", "/v1/admin/features"): {"code": "never_made", "name": "Never made", "kind": "boolean"},
    ("patch", "/v1/admin/features/{code}"): {"name": "Renamed"},
    ("post", "/v1/admin/coupons"): {"code": "NEVERMADE", "percent_off": 10, "duration": "once"},
    ("patch", "/v1/admin/coupons/{code}"): {"active": False},
    ("post", "/v1/admin/tax-rates"): {"name": "Never", "percentage": "5", "inclusive": False, "country": "NL"},
    ("patch", "/v1/admin/tax-rates/{rate_id}"): {"active": False},
    ("post", "/v1/admin/tenants/{tenant_id}/credits/grants"): {"credits": 10},
    ("post", "/v1/admin/invoices/{invoice_id}/void"): {"reason": "never voided"},
    ("post", "/v1/admin/invoices/{invoice_id}/credit-notes"): {"amount": 1},
    ("post", "/v1/admin/billing-runs"): {"run_date": "2020-01-01"},
}
PATH_IDS = {"plan_id": SOME_ULID, "price_id": SOME_ULID, "rate_id": SOME_ULID, "code": "seats",
            "tenant_id": SOME_ULID, "invoice_id": "in_20200101_0123456789abcdef", "run_id": "operator-never"}
BILLING_ADMIN_ROUTES = {("get", "/v1/admin/invoices"), ("get", "/v1/admin/invoices/{invoice_id}"),
                        ("post", "/v1/admin/invoices/{invoice_id}/void"),
                        ("get", "/v1/admin/invoices/{invoice_id}/verify"), ("post", "/v1/admin/billing-runs"),
                        ("post", "/v1/admin/invoices/{invoice_id}/credit-notes"),
                        ("get", "/v1/admin/invoices/{invoice_id}/credit-notes"),
                        ("get", "/v1/admin/billing-runs"), ("get", "/v1/admin/billing-runs/{run_id}")}


def _admin_routes() -> list[tuple[str, str]]:
    from localcloud.openapi import template_routes
    from localcloud.template import translate

    routes = template_routes(translate(REPO / "template.yaml"))
    return sorted({(method, path) for served in routes.values() for path, method, _ in served
                   if path.startswith("/v1/admin/")})


ADMIN_ROUTES = _admin_routes()


def _request(route: tuple[str, str]) -> tuple[str, str, dict[str, Any] | None]:
    method, template = route
    body = BODIES.get(route)
    if method in ("post", "patch", "put"):
        assert body is not None, f"give {method.upper()} {template} a body in BODIES"
    return method.upper(), template.format(**PATH_IDS), body


def _catalog(cloud: Any) -> list[tuple[str, str]]:
    items, start, seen = [], None, []
    while True:
        page, start = table(cloud).query(CATALOG_PK, limit=100, start_key=start)
        items.extend(page)
        if not start:
            break
    for item in items:
        seen.append((str(item["SK"]), repr(sorted(item.items()))))
    return sorted(seen)


@pytest.fixture(scope="module")
def people(cloud: Any) -> dict[str, Any]:
    operator = signup(cloud, "Operator's own")
    grant_operator(table(cloud), operator["user_id"])
    owner = signup(cloud, "Tenant with an owner")
    owner_key = call(cloud, "POST", "/v1/api-keys", owner, body={"name": "full", "scopes": ["read"]})
    operator_key = call(cloud, "POST", "/v1/api-keys", operator, body={"name": "op", "scopes": ["read"]})
    assert owner_key.status_code == operator_key.status_code == 201, (owner_key.text, operator_key.text)
    return {"operator": operator, "owner": owner, "owner_key": owner_key.json()["key"],
            "operator_key": operator_key.json()["key"]}


def test_the_admin_routes_are_the_catalogs() -> None:
    assert len(ADMIN_ROUTES) >= 14
    assert set(ADMIN_ROUTES) >= BILLING_ADMIN_ROUTES  # the operator's invoices and billing runs are held too
    assert {m for m, _ in ADMIN_ROUTES} <= {"get", "post", "patch", "delete"}


def test_the_operator_reaches_the_admin_api(cloud: Any, people: dict[str, Any]) -> None:
    for path in ("/v1/admin/plans", "/v1/admin/features", "/v1/admin/coupons", "/v1/admin/tax-rates"):
        answer = call(cloud, "GET", path, people["operator"])
        assert answer.status_code == 200, answer.text
        assert isinstance(answer.json()["items"], list)


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=" ".join)
def test_a_tenant_owner_gets_403_on_every_admin_route_and_changes_nothing(
        cloud: Any, people: dict[str, Any], route: tuple[str, str]) -> None:
    method, path, body = _request(route)
    before = _catalog(cloud)
    answer = call(cloud, method, path, people["owner"], body=body)
    assert answer.status_code == 403, answer.text
    assert answer.headers["Content-Type"] == PROBLEM
    assert _catalog(cloud) == before


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=" ".join)
def test_an_api_key_gets_403_on_every_admin_route_even_the_operators_own(
        cloud: Any, people: dict[str, Any], route: tuple[str, str]) -> None:
    method, path, body = _request(route)
    before = _catalog(cloud)
    for key in (people["owner_key"], people["operator_key"]):
        answer = call(cloud, method, path, None, body=body, headers={"X-Api-Key": key})
        assert answer.status_code == 403, answer.text
        assert answer.headers["Content-Type"] == PROBLEM
    assert _catalog(cloud) == before


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=" ".join)
def test_no_credentials_get_401_on_every_admin_route(cloud: Any, route: tuple[str, str]) -> None:
    method, path, body = _request(route)
    assert call(cloud, method, path, None, body=body).status_code == 401


def test_the_public_plan_list_needs_no_credentials(cloud: Any) -> None:
    answer = call(cloud, "GET", "/v1/plans", None)
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json()["items"], list)


def test_the_operator_flag_gives_nothing_inside_another_tenant(cloud: Any, people: dict[str, Any]) -> None:
    others = people["owner"]["tenant_id"]
    for method, path in (("GET", "/v1/tenant"), ("GET", "/v1/members"), ("GET", "/v1/api-keys")):
        answer = call(cloud, method, path, people["operator"], tenant=others)
        assert answer.status_code == 403, answer.text
        assert others not in answer.text


def test_an_operator_without_tenants_reaches_admin_routes_and_no_tenant_route(cloud: Any) -> None:
    # Given an operator who handed their only tenant to a new owner and left it (their token is still valid)
    operator = signup(cloud, "Soon left")
    grant_operator(table(cloud), operator["user_id"])
    successor = f"successor-{uuid.uuid4().hex[:10]}@tests.example"
    answered(call(cloud, "POST", "/v1/invites", operator, body={"email": successor, "role": "owner"}), 201)
    token = token_in(emails_to(cloud, successor)[-1], "Invite token")
    answered(call(cloud, "POST", f"/v1/invites/{token}/accept", None, body={"password": PASSWORD}))
    answered(call(cloud, "DELETE", f"/v1/members/{operator['user_id']}", operator), 204)

    # Then the catalog is theirs to manage, and no tenant is theirs to act for
    assert call(cloud, "GET", "/v1/admin/plans", operator).status_code == 200
    refused = call(cloud, "GET", "/v1/tenant", operator)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == PROBLEM

    # And without the flag either, the token opens nothing at all
    revoke_operator(table(cloud), operator["user_id"])
    assert call(cloud, "GET", "/v1/admin/plans", operator).status_code == 401


def test_a_revoked_operator_is_refused_at_the_next_request(cloud: Any) -> None:
    operator = signup(cloud, "Briefly operator")
    grant_operator(table(cloud), operator["user_id"])
    assert call(cloud, "GET", "/v1/admin/features", operator).status_code == 200

    revoke_operator(table(cloud), operator["user_id"])

    answer = call(cloud, "GET", "/v1/admin/features", operator)
    assert answer.status_code == 403
    assert call(cloud, "GET", "/v1/tenant", operator).status_code == 200  # still their tenant's owner
