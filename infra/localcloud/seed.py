"""Demo data for ``make dev``, created through the same layer code the functions use."""

from __future__ import annotations

from typing import Any

from wrapper.identity.cognito import CognitoIdentityProvider
from wrapper.identity.models import LoginRequest, SessionResponse, SignupRequest
from wrapper.identity.service import IdentityService
from wrapper.identity.store import IdentityStore
from wrapper.store.table import Table

DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - a published demo credential of the local cloud only
DEMO_TENANT = "Demo Company"


def seed_demo(client: Any, *, table_name: str, user_pool_id: str, client_id: str) -> dict[str, str]:
    """The demo owner and tenant (idempotent: a second run signs the existing owner in)."""
    identity = IdentityService(
        idp=CognitoIdentityProvider(client("cognito-idp"), user_pool_id=user_pool_id, client_id=client_id),
        store=IdentityStore(Table(client("dynamodb"), table_name), outbox_ttl_days=7))
    session: SessionResponse
    if identity.store.user_id_by_email(DEMO_EMAIL) is None:
        session = identity.signup(SignupRequest(email=DEMO_EMAIL, password=DEMO_PASSWORD, tenant_name=DEMO_TENANT))
    else:
        session = identity.login(LoginRequest(email=DEMO_EMAIL, password=DEMO_PASSWORD))
    return {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "tenant_id": session.tenant_id,
            "user_id": session.user_id}
