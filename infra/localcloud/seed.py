"""Demo data for ``make dev`` (a tenant owner with welcome credits, the platform operator, the seed
catalog), created through the same layer code the functions use."""

from __future__ import annotations

from typing import Any

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

DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - a published demo credential of the local cloud only
DEMO_TENANT = "Demo Company"
DEMO_CREDITS = 1000
OPERATOR_EMAIL = "operator@wrapper.localhost"
OPERATOR_PASSWORD = "operator-password-123"  # noqa: S105 - a published demo credential of the local cloud only
# Sign-in answers a session for a tenant, so the operator has one of their own to sign in with;
# the operator flag, not this tenant, is what opens /v1/admin/.
OPERATOR_TENANT = "Platform Operations"


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
