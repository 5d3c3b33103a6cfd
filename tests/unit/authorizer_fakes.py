"""What the authorizer's unit tests share: an issuer, and in-memory memberships and key lookups."""

from __future__ import annotations

from typing import Any

from wrapper.identity.apikeys import key_digest, mint_key
from wrapper.identity.tokens import Issuer
from wrapper.store.table import Item

METHOD_ARN = "arn:aws:execute-api:us-east-1:123:abc/dev/GET/v1/tenant"


ISS = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Wrapper"


CREATOR = "u-creator"


ISSUER = Issuer(issuer=ISS, jwks_url=f"{ISS}/.well-known/jwks.json", audiences=("client",), token_use="access")


class FakeMemberships:
    def __init__(self, states: dict[str, dict[str, str]] | None = None,
                 rows: dict[str, list[Item]] | None = None) -> None:
        self.states = states if states is not None else {"acme": {"status": "active", "tier": "pro"}}
        self.rows = rows if rows is not None else {CREATOR: [{"tenant_id": "acme", "role": "owner"}]}

    def tenants_of(self, user_id: str) -> list[Item]:
        return self.rows.get(user_id, [])

    def tenant_states(self, tenant_ids: Any) -> dict[str, dict[str, str]]:
        return {t: self.states[t] for t in tenant_ids if t in self.states}

    def membership_in(self, tenant_id: str, user_id: str) -> Item | None:
        return next((r for r in self.tenants_of(user_id) if r["tenant_id"] == tenant_id), None)


class FakeKeys:
    def __init__(self) -> None:
        self.lookups: dict[str, Item] = {}
        self.used: list[tuple[str, str, float]] = []
        self.failing = False

    def add(self, *, scopes: list[str], tenant_id: str = "acme", expires_at: int | None = None) -> str:
        key_id, key = mint_key()
        self.lookups[key_digest(key)] = {"tenant_id": tenant_id, "key_id": key_id, "scopes": scopes,
                                         "created_by": CREATOR, "expires_at": expires_at}
        return key

    def find(self, key: str) -> Item | None:
        return self.lookups.get(key_digest(key))

    def mark_used(self, tenant_id: str, key_id: str, now: float) -> bool:
        if self.failing:
            raise RuntimeError("throttled")
        self.used.append((tenant_id, key_id, now))
        return True
