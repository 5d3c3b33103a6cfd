"""Demo data for ``make dev`` (a tenant owner with welcome credits, the platform operator, the seed
catalog), created through the same layer code the functions use; then the demo tenant's card, subscription,
paid invoice and usage, through the API as a client would."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import requests

from wrapper.catalog.seed_data import seed_catalog
from wrapper.credits.service import Credits
from wrapper.credits.store import WalletStore
from wrapper.identity.cognito import CognitoIdentityProvider
from wrapper.identity.models import LoginRequest, SessionResponse, SignupRequest
from wrapper.identity.operators import grant_operator
from wrapper.identity.service import IdentityService
from wrapper.identity.store import IdentityStore
from wrapper.kernel.tenant import TenantContext
from wrapper.store.table import Table
from wrapper.subscriptions.store import SubscriptionStore

DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - a published demo credential of the local cloud only
DEMO_TENANT = "Demo Company"
DEMO_CREDITS = 1000
OPERATOR_EMAIL = "operator@wrapper.localhost"
OPERATOR_PASSWORD = "operator-password-123"  # noqa: S105 - a published demo credential of the local cloud only
# Sign-in answers a session for a tenant, so the operator has one of their own to sign in with;
# the operator flag, not this tenant, is what opens /v1/admin/.
OPERATOR_TENANT = "Platform Operations"
DEMO_PLAN = "enterprise"
DEMO_COMPLETIONS = 7  # 3.5 million tokens: 2.5 million past the plan's included million


def seed_demo(client: Any, *, table_name: str, user_pool_id: str, client_id: str) -> dict[str, str]:
    """The demo owner and tenant (idempotent: a second run signs the existing owner in)."""
    identity = _identity(client, table_name=table_name, user_pool_id=user_pool_id, client_id=client_id)
    session = _signed_up(identity, DEMO_EMAIL, DEMO_PASSWORD, DEMO_TENANT)
    # Named by its reference, the welcome grant is made once however often the demo is seeded.
    Credits(WalletStore(Table(client("dynamodb"), table_name))).grant(
        TenantContext(session.tenant_id), DEMO_CREDITS, source="operator", reference="demo-welcome-credits",
        by="seed", description="Welcome credits")
    return {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "tenant_id": session.tenant_id,
            "user_id": session.user_id}


def seed_demo_billing(client: Any, *, table_name: str, api_url: str, stripe_url: str,
                      email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> dict[str, Any]:
    """The demo tenant as a paying customer, through the API as a client would: a card saved on the local
    Stripe's Checkout page, a subscription to ``enterprise`` (its first month paid on that card: a paid
    invoice, whose PDF ``GET /v1/invoices/{id}/pdf`` renders), and tokens used this month (the upcoming
    invoice's usage line). Skipped when the tenant already has invoices. Needs the catalog seeded first."""
    session = requests.post(f"{api_url}/v1/auth/login", json={"email": email, "password": password},
                            timeout=30).json()
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    tenant = TenantContext(session["tenant_id"])
    invoices = requests.get(f"{api_url}/v1/invoices", headers=headers, timeout=30).json()["items"]
    if invoices:
        return {"invoice": invoices[-1]}
    setup = requests.post(f"{api_url}/v1/billing/checkout", headers=headers, json={"mode": "setup"}, timeout=30)
    setup.raise_for_status()
    completed = requests.post(f"{stripe_url}/_local/checkout/sessions/{setup.json()['id']}/complete", timeout=30)
    completed.raise_for_status()
    # The Stripe webhook records the card: its queue's consumer runs within a second or two.
    store = SubscriptionStore(Table(client("dynamodb"), table_name), outbox_ttl_days=7)
    deadline = time.monotonic() + 60
    while not (store.billing(tenant) or {}).get("default_payment_method"):
        if time.monotonic() > deadline:
            raise RuntimeError("the demo card was not recorded within 60 s")
        time.sleep(0.2)
    subscribed = requests.post(f"{api_url}/v1/subscriptions", headers=headers,
                               json={"plan_code": DEMO_PLAN}, timeout=30)
    subscribed.raise_for_status()
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    events: list[dict[str, Any]] = [{"event_id": f"demo-completion-{n}", "name": "completion", "timestamp": now,
                                     "properties": {"tokens": 500_000}} for n in range(DEMO_COMPLETIONS)]
    requests.post(f"{api_url}/v1/usage/events", headers=headers, json={"events": events}, timeout=30)
    invoice = requests.get(f"{api_url}/v1/invoices", headers=headers, timeout=30).json()["items"][0]
    return {"invoice": invoice}


def seed_operator(client: Any, *, table_name: str, user_pool_id: str, client_id: str) -> dict[str, str]:
    """The platform operator (idempotent), and the seed catalog they manage."""
    identity = _identity(client, table_name=table_name, user_pool_id=user_pool_id, client_id=client_id)
    session = _signed_up(identity, OPERATOR_EMAIL, OPERATOR_PASSWORD, OPERATOR_TENANT)
    table = Table(client("dynamodb"), table_name)
    grant_operator(table, session.user_id)
    seed_catalog(table)
    return {"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD, "user_id": session.user_id}


def _identity(client: Any, *, table_name: str, user_pool_id: str, client_id: str) -> IdentityService:
    return IdentityService(
        idp=CognitoIdentityProvider(client("cognito-idp"), user_pool_id=user_pool_id, client_id=client_id),
        store=IdentityStore(Table(client("dynamodb"), table_name), outbox_ttl_days=7))


def _signed_up(identity: IdentityService, email: str, password: str, tenant_name: str) -> SessionResponse:
    if identity.store.user_id_by_email(email) is None:
        return identity.signup(SignupRequest(email=email, password=password, tenant_name=tenant_name))
    return identity.login(LoginRequest(email=email, password=password))
