"""Every secured route and every principal: who may call it, and that no tenant reaches another's data.

The matrix below names each route's permission; a test keeps it equal to the routes template.yaml
declares, so a new route cannot ship without its row. For each route it checks, over HTTP:

- each role or API key that lacks the permission gets 403 and changes nothing;
- tenant B's owner and B's API key, acting in B on tenant A's ids, get 403 or 404 and never A's data;
- tenant B naming tenant A with ``X-Tenant-Id`` gets 403 on every route;
- B's list answers never hold A's identifiers.

The permissions an API key's scopes grant are written out here, from the README, rather than
imported: the test is an independent statement of the rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support import REPO, answered, call, join, signup, table
from wrapper.catalog.seed_data import seed_catalog
from wrapper.kernel.permissions import ROLE_PERMISSIONS, Permission
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import (
    AUDIT_MARKER_PREFIX,
    AUDIT_SK_PREFIX,
    OUTBOX_SK_PREFIX,
    RATE_PREFIX,
    tenant_pk,
    usage_pk,
)

P = Permission
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Row:
    permission: Permission
    body: dict[str, Any] | None = field(default=None, hash=False)
    query: dict[str, str] = field(default_factory=dict, hash=False)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _email() -> str:
    return f"{uuid.uuid4().hex[:10]}@matrix.example"


MATRIX: dict[tuple[str, str], Row] = {
    ("get", "/v1/tenant"): Row(P.TENANT_READ),
    ("patch", "/v1/tenant"): Row(P.TENANT_WRITE, {"name": "Renamed by the matrix"}),
    ("delete", "/v1/tenant"): Row(P.TENANT_DELETE),
    ("get", "/v1/members"): Row(P.MEMBERS_READ),
    ("patch", "/v1/members/{user_id}"): Row(P.MEMBERS_WRITE, {"role": "member"}),
    ("delete", "/v1/members/{user_id}"): Row(P.MEMBERS_WRITE),
    ("post", "/v1/invites"): Row(P.MEMBERS_WRITE, {"email": "invitee@matrix.example", "role": "viewer"}),
    ("get", "/v1/invites"): Row(P.MEMBERS_READ),
    ("get", "/v1/roles"): Row(P.ROLES_READ),
    ("post", "/v1/roles"): Row(P.ROLES_WRITE, {"name": "matrix-made", "permissions": ["tenant:read"]}),
    ("patch", "/v1/roles/{role_name}"): Row(P.ROLES_WRITE, {"description": "changed by the matrix"}),
    ("delete", "/v1/roles/{role_name}"): Row(P.ROLES_WRITE),
    ("get", "/v1/organizations"): Row(P.ORGANIZATIONS_READ),
    ("post", "/v1/organizations"): Row(P.ORGANIZATIONS_WRITE, {"name": "Matrix unit"}),
    ("patch", "/v1/organizations/{org_id}"): Row(P.ORGANIZATIONS_WRITE, {"name": "Renamed unit"}),
    ("delete", "/v1/organizations/{org_id}"): Row(P.ORGANIZATIONS_WRITE),
    ("put", "/v1/organizations/{org_id}/members/{user_id}"): Row(P.ORGANIZATIONS_WRITE),
    ("delete", "/v1/organizations/{org_id}/members/{user_id}"): Row(P.ORGANIZATIONS_WRITE),
    ("get", "/v1/audit-log"): Row(P.AUDIT_READ),
    ("get", "/v1/api-keys"): Row(P.API_KEYS_READ),
    ("post", "/v1/api-keys"): Row(P.API_KEYS_WRITE, {"name": "matrix key", "scopes": ["read"]}),
    ("delete", "/v1/api-keys/{key_id}"): Row(P.API_KEYS_WRITE),
    ("get", "/v1/subscriptions"): Row(P.BILLING_READ),
    ("post", "/v1/subscriptions"): Row(P.BILLING_WRITE, {"plan_code": "pro"}),
    ("get", "/v1/subscriptions/current"): Row(P.BILLING_READ),
    ("patch", "/v1/subscriptions/current"): Row(P.BILLING_WRITE, {"plan_code": "pro"}),
    ("post", "/v1/subscriptions/current/preview"): Row(P.BILLING_READ, {"plan_code": "pro"}),
    ("post", "/v1/subscriptions/current/cancel"): Row(P.BILLING_WRITE, {"at_period_end": True}),
    ("post", "/v1/subscriptions/current/resume"): Row(P.BILLING_WRITE),
    ("get", "/v1/entitlements"): Row(P.USAGE_READ),
    ("post", "/v1/billing/checkout"): Row(P.BILLING_WRITE, {"mode": "setup"}),
    ("post", "/v1/billing/portal"): Row(P.BILLING_WRITE),
    ("post", "/v1/usage/events"): Row(P.USAGE_WRITE, {"events": [
        {"event_id": "matrix-1", "name": "api_call", "timestamp": _now(), "properties": {}}]}),
    ("get", "/v1/usage"): Row(P.USAGE_READ, query={"meter": "api_calls"}),
    ("get", "/v1/usage/summary"): Row(P.USAGE_READ),
    ("get", "/v1/entitlements/{feature}"): Row(P.USAGE_READ),
    ("get", "/v1/credits"): Row(P.BILLING_READ),
    ("get", "/v1/credits/ledger"): Row(P.BILLING_READ),
    ("post", "/v1/credits/top-ups"): Row(P.BILLING_WRITE, {"credits": 100}),
    ("get", "/v1/invoices"): Row(P.BILLING_READ),
    ("get", "/v1/invoices/upcoming"): Row(P.BILLING_READ),
    ("get", "/v1/invoices/{invoice_id}"): Row(P.BILLING_READ),
    ("post", "/v1/invoices/{invoice_id}/pay"): Row(P.BILLING_WRITE),
    ("get", "/v1/invoices/{invoice_id}/pdf"): Row(P.BILLING_READ),
    ("get", "/v1/credit-notes"): Row(P.BILLING_READ),
}
# Path parameters that name something of tenant A's (the others, like a feature code, are platform-wide).
TENANT_OWNED = ("{user_id}", "{role_name}", "{org_id}", "{key_id}", "{invoice_id}")

READ_SCOPE = frozenset({P.TENANT_READ, P.MEMBERS_READ, P.ROLES_READ, P.ORGANIZATIONS_READ, P.BILLING_READ,
                        P.USAGE_READ})
KEY_PERMISSIONS = {"read-key": READ_SCOPE, "usage-key": frozenset({P.USAGE_WRITE})}
ROLES = ("admin", "manager", "member", "viewer")


def _secured_routes() -> set[tuple[str, str]]:
    from localcloud.openapi import template_routes
    from localcloud.template import translate

    routes = template_routes(translate(REPO / "template.yaml"))
    # The operator's catalog routes answer no tenant role at all: tests/e2e/test_operator.py holds
    # every one of them against tenant owners, API keys and anonymous callers.
    return {(method, path) for served in routes.values() for path, method, secured in served
            if secured and not path.startswith("/v1/admin/")}


@pytest.fixture(scope="module")
def world(cloud: Any) -> dict[str, Any]:
    """Tenant A with one principal per role, one API key per scope and one thing of each kind;
    tenant B with its owner and a read key."""
    seed_catalog(table(cloud))
    a_owner = signup(cloud, "Tenant A")
    a = a_owner["tenant_id"]
    principals: dict[str, dict[str, Any]] = {"owner": a_owner}
    for role in ROLES:
        principals[role] = signup(cloud, f"{role} elsewhere")
        join(cloud, a, principals[role]["user_id"], role)
    target = signup(cloud, "target elsewhere")
    join(cloud, a, target["user_id"], "viewer")
    role = answered(call(cloud, "POST", "/v1/roles", a_owner, tenant=a,
                    body={"name": f"auditor-{uuid.uuid4().hex[:6]}", "permissions": ["audit:read"]}), 201)
    org = answered(call(cloud, "POST", "/v1/organizations", a_owner, tenant=a, body={"name": "A's unit"}), 201)
    answered(call(cloud, "PUT", f"/v1/organizations/{org['org_id']}/members/{target['user_id']}", a_owner, tenant=a),
        200, 204)
    keys = {}
    for name, scopes in (("read-key", ["read"]), ("usage-key", ["usage:write"]), ("spare", ["read"])):
        keys[name] = answered(call(cloud, "POST", "/v1/api-keys", a_owner, tenant=a,
                              body={"name": name, "scopes": scopes}), 201)
    invoice_id = _an_invoice(cloud, a)
    b_owner = signup(cloud, "Tenant B")
    b_key = answered(call(cloud, "POST", "/v1/api-keys", b_owner, body={"name": "b read", "scopes": ["read"]}), 201)
    ids = {"user_id": target["user_id"], "role_name": role["name"], "org_id": org["org_id"],
           "key_id": keys["spare"]["id"], "feature": "api_calls", "invoice_id": invoice_id}
    return {
        "a": a, "b": b_owner["tenant_id"], "principals": principals, "keys": keys, "ids": ids,
        "b_owner": b_owner, "b_key": b_key,
        "a_marks": {a, *(v for k, v in ids.items() if k != "feature"), *(p["user_id"] for p in principals.values()),
                    *(k["id"] for k in keys.values())},
    }


def _an_invoice(cloud: Any, tenant_id: str) -> str:
    """An issued invoice of the tenant's, written through the invoices' own store."""
    from wrapper.invoices.models import Invoice
    from wrapper.invoices.store import InvoiceStore, renewal_invoice_id

    at = datetime.now(UTC)
    invoice = Invoice(id=renewal_invoice_id(tenant_id, "sub_matrix", at, at), number="MATRIX-1", status="paid",
                      tenant_id=tenant_id, currency="USD", period_start=at, period_end=at, issued_at=at, lines=[],
                      subtotal=0, discount=0, tax=0, total=0, amount_due=0, created_at=at)
    table(cloud).transact([InvoiceStore(table(cloud)).save_op(invoice, expected_version=None)])
    return invoice.id


def _path(template: str, ids: dict[str, str]) -> str:
    return template.format(**ids)


def _as(principal: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """(session, extra headers) for a signed-in user or an API key."""
    if "key" in principal:
        return None, {"X-Api-Key": principal["key"]}
    return principal, {}


def _fingerprint(cloud: Any, tenant_id: str) -> list[tuple[str, str]]:
    """Tenant A's items, less what changes on its own (rate counters, audit entries fed
    asynchronously, outbox bookkeeping, a key's last-used time)."""
    items, seen = [], []
    for partition in (tenant_pk(tenant_id), usage_pk(TenantContext(tenant_id))):
        start = None
        while True:
            page, start = table(cloud).query(partition, limit=100, start_key=start)
            items.extend(page)
            if not start:
                break
    for item in items:
        if str(item["SK"]).startswith((RATE_PREFIX, AUDIT_SK_PREFIX, AUDIT_MARKER_PREFIX, OUTBOX_SK_PREFIX)):
            continue
        kept = {k: v for k, v in item.items() if k not in ("last_used_at",)}
        seen.append((str(item["SK"]), repr(sorted(kept.items()))))
    return sorted(seen)


def test_the_matrix_names_every_secured_route() -> None:
    assert set(MATRIX) == _secured_routes()


def _lacking() -> list[tuple[tuple[str, str], str]]:
    held = {role: ROLE_PERMISSIONS[role] for role in ROLES} | KEY_PERMISSIONS
    return [(route, who) for route, row in MATRIX.items() for who, permissions in held.items()
            if row.permission not in permissions]


@pytest.mark.parametrize(("route", "who"), _lacking(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_a_principal_without_the_permission_gets_403_and_changes_nothing(
        cloud: Any, world: dict[str, Any], route: tuple[str, str], who: str) -> None:
    method, template = route
    principal = world["keys"].get(who) or world["principals"][who]
    session, headers = _as(principal)
    before = _fingerprint(cloud, world["a"])
    answer = call(cloud, method.upper(), _path(template, world["ids"]), session, tenant=world["a"],
                  body=MATRIX[route].body, headers=headers, **MATRIX[route].query)
    assert answer.status_code == 403, (who, route, answer.status_code, answer.text)
    assert answer.headers["Content-Type"].startswith(PROBLEM)
    assert _fingerprint(cloud, world["a"]) == before


@pytest.mark.parametrize("route", sorted(MATRIX), ids=" ".join)
def test_tenant_b_naming_tenant_a_gets_403_on_every_route(cloud: Any, world: dict[str, Any],
                                                        route: tuple[str, str]) -> None:
    method, template = route
    before = _fingerprint(cloud, world["a"])
    for principal in (world["b_owner"], world["b_key"]):
        session, headers = _as(principal)
        answer = call(cloud, method.upper(), _path(template, world["ids"]), session, tenant=world["a"],
                      body=MATRIX[route].body, headers=headers, **MATRIX[route].query)
        assert answer.status_code == 403, (route, answer.status_code, answer.text)
    assert _fingerprint(cloud, world["a"]) == before


@pytest.mark.parametrize("route", sorted(r for r in MATRIX if any(p in r[1] for p in TENANT_OWNED)), ids=" ".join)
def test_tenant_b_acting_on_tenant_a_ids_in_its_own_tenant_is_refused(cloud: Any, world: dict[str, Any],
                                                                      route: tuple[str, str]) -> None:
    method, template = route
    before = _fingerprint(cloud, world["a"])
    for principal in (world["b_owner"], world["b_key"]):
        session, headers = _as(principal)
        answer = call(cloud, method.upper(), _path(template, world["ids"]), session, body=MATRIX[route].body,
                      headers=headers, **MATRIX[route].query)
        assert answer.status_code in (403, 404), (route, answer.status_code, answer.text)
        assert not any(mark in answer.text for mark in world["a_marks"])
    assert _fingerprint(cloud, world["a"]) == before


@pytest.mark.parametrize("route", sorted(r for r in MATRIX if r[0] == "get"), ids=" ".join)
def test_tenant_b_lists_never_show_tenant_a(cloud: Any, world: dict[str, Any], route: tuple[str, str]) -> None:
    for principal in (world["b_owner"], world["b_key"]):
        session, headers = _as(principal)
        answer = call(cloud, "GET", _path(route[1], world["ids"]), session, headers=headers, **MATRIX[route].query)
        # A route naming one of tenant A's things finds nothing of that name in tenant B.
        allowed = (200, 403, 404) if any(p in route[1] for p in TENANT_OWNED) else (200, 403)
        assert answer.status_code in allowed, (route, answer.status_code, answer.text)
        assert not any(mark in answer.text for mark in world["a_marks"])


@pytest.mark.parametrize("route", sorted(r for r in MATRIX if r[0] == "get"), ids=" ".join)
def test_every_role_holding_the_permission_is_let_in(cloud: Any, world: dict[str, Any],
                                                    route: tuple[str, str]) -> None:
    """The other half of the matrix, for the routes that change nothing: holding is enough."""
    permission = MATRIX[route].permission
    holders = [world["principals"][r] for r in ("owner", *ROLES) if permission in ROLE_PERMISSIONS[r]]
    holders += [world["keys"][k] for k, held in KEY_PERMISSIONS.items() if permission in held]
    for principal in holders:
        session, headers = _as(principal)
        answer = call(cloud, "GET", _path(route[1], world["ids"]), session, tenant=world["a"], headers=headers,
                      **MATRIX[route].query)
        assert answer.status_code == 200, (route, answer.status_code, answer.text)
