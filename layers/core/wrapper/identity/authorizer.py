"""From a bearer token to the context API Gateway hands the functions.

The context depends on the token alone (who the user is and every tenant they belong to, with
the role and status in each), never on other request headers: an authorizer's answer may be
cached per token, and a context built from, say, ``X-Tenant-Id`` would then be served to
requests naming another tenant. The function picks the tenant from the context
(``wrapper.api.tenant``), where the membership check happens on every request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from wrapper.identity.policy import authorizer_response
from wrapper.identity.tokens import InvalidToken, Issuer, JwksCache, verify
from wrapper.store.table import Item


class Memberships(Protocol):
    def tenants_of(self, user_id: str) -> list[Item]: ...

    def tenant_states(self, tenant_ids: Sequence[str]) -> dict[str, dict[str, str]]: ...


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    for name, value in (headers or {}).items():
        if name.lower() == "authorization":
            scheme, _, token = value.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def authorize(event: Mapping[str, Any], *, issuers: Sequence[Issuer], keys: JwksCache, memberships: Memberships,
              now: Callable[[], float]) -> dict[str, Any]:
    """The authorizer's answer; raises ``InvalidToken`` (a 401) for any credential we refuse."""
    token = bearer_token(event.get("headers"))
    if token is None:
        raise InvalidToken("no bearer token")
    claims = verify(token, issuers, keys, now)
    user_id = claims.subject
    rows = memberships.tenants_of(user_id)
    if not rows:
        raise InvalidToken("no account")
    states = memberships.tenant_states([str(r["tenant_id"]) for r in rows])
    unknown = {"status": "unknown", "tier": "free"}
    tenants = {str(r["tenant_id"]): {"role": str(r["role"]), **states.get(str(r["tenant_id"]), unknown)}
               for r in rows}
    context: dict[str, str | int | bool] = {
        "user_id": user_id,
        "principal": f"user:{user_id}",
        "default_tenant_id": str(rows[0]["tenant_id"]),
        "tenants": json.dumps(tenants, separators=(",", ":"), sort_keys=True),
        "token_expires_at": claims.expires_at,
    }
    return authorizer_response(f"user:{user_id}", allow=True, method_arn=str(event["methodArn"]), context=context)
