"""From a credential (a bearer JWT or an API key) to the context API Gateway hands the functions.

A request carries one credential: ``Authorization: Bearer <jwt>``, ``Authorization: Bearer wk_...``
or ``X-Api-Key: wk_...`` (header names in any case). Both headers at once are refused rather than
guessed between. An API key's context names its one tenant, with the permissions of its scopes
(``wrapper.identity.apikeys``) in place of a role's and its creator's current role, to which the
functions narrow them; its ``user_id`` and ``principal`` are ``apikey:<id>``. A key whose creator
is no longer a member, or left and joined again since making it, is refused.

The context depends on the credential alone (who the user is and every tenant they belong to, with
the role and status in each), never on other request headers: an authorizer's answer may be
cached per token, and a context built from, say, ``X-Tenant-Id`` would then be served to
requests naming another tenant. The function picks the tenant from the context
(``wrapper.api.tenant``), where the membership check happens on every request.

A platform operator (``wrapper.api.operator``) is a user with a ``PLATFORM#OPERATOR#<user_id>`` /
``OPERATOR`` item: their context carries ``platform_operator: "true"``, and they are let through
even with no tenant (``tenants`` is then ``{}``). The flag is a separate identity, never derived
from a tenant role, and API keys never carry it. On AWS, grant it with one item:
``aws dynamodb put-item --table-name <table> --item '{"PK": {"S": "PLATFORM#OPERATOR#<user_id>"},
"SK": {"S": "OPERATOR"}, "record_type": {"S": "operator"}, "user_id": {"S": "<user_id>"}}'``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from wrapper.identity.apikeys import (
    API_KEY_ROLE,
    key_id_of,
    looks_like_key,
    minted_at,
    permissions_of_scopes,
)
from wrapper.identity.policy import PRINCIPAL_PREFIX, authorizer_response
from wrapper.identity.tokens import Claims, InvalidToken, Issuer, JwksCache, verify
from wrapper.kernel import clock
from wrapper.kernel.clock import EpochClock
from wrapper.kernel.timestamps import iso_z
from wrapper.store.table import Item

log = logging.getLogger(__name__)
API_KEY_HEADER = "x-api-key"
UNKNOWN_TENANT = {"status": "unknown", "tier": "free"}


class Memberships(Protocol):
    def tenants_of(self, user_id: str) -> list[Item]: ...

    def tenant_states(self, tenant_ids: Sequence[str]) -> dict[str, dict[str, str]]: ...

    def membership_in(self, tenant_id: str, user_id: str) -> Item | None: ...


class ApiKeyLookup(Protocol):
    def find(self, key: str) -> Item | None:
        """The stored lookup of a key (tenant_id, key_id, scopes, expires_at), or None."""
        ...

    def mark_used(self, tenant_id: str, key_id: str, now: float) -> bool: ...


class ExternalUsers(Protocol):
    """Users of other OIDC providers (``wrapper.identity.oidc``): their subjects are not user ids."""

    def handles(self, issuer: str) -> bool: ...

    def user_for(self, claims: Claims) -> str | None: ...


class OperatorFlags(Protocol):
    def is_operator(self, user_id: str) -> bool: ...


@dataclass(frozen=True)
class Credential:
    kind: Literal["jwt", "api_key"]
    value: str


def _header(headers: Mapping[str, str] | None, wanted: str) -> str | None:
    return next((value for name, value in (headers or {}).items() if name.lower() == wanted), None)


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    value = _header(headers, "authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def credential_of(headers: Mapping[str, str] | None) -> Credential:
    """The one credential a request carries; ``InvalidToken`` if it has none, or two."""
    api_key = _header(headers, API_KEY_HEADER)
    if api_key is not None:
        if _header(headers, "authorization") is not None:
            raise InvalidToken("two credentials")
        return Credential("api_key", api_key.strip())
    token = bearer_token(headers)
    if token is None:
        raise InvalidToken("no bearer token")
    return Credential("api_key" if looks_like_key(token) else "jwt", token)


def authorize(event: Mapping[str, Any], *, issuers: Sequence[Issuer], keys: JwksCache, memberships: Memberships,
              now: EpochClock = clock.epoch, api_keys: ApiKeyLookup | None = None,
              external_users: ExternalUsers | None = None, operators: OperatorFlags | None = None) -> dict[str, Any]:
    """The authorizer's answer; raises ``InvalidToken`` (a 401) for any credential we refuse.

    An API key's expiry is ours, checked against ``now``. A JWT's times were stamped by its issuer
    on the real time, so they are checked against ``now`` less the local cloud's clock offset
    (``wrapper.kernel.clock``; 0 on AWS): moving the local clock forward signs nobody out."""
    credential = credential_of(event.get("headers"))
    if credential.kind == "api_key":
        if api_keys is None:
            raise InvalidToken("api keys not accepted")
        return _authorize_api_key(event, credential.value, api_keys=api_keys, memberships=memberships, now=now())
    claims = verify(credential.value, issuers, keys, lambda: now() - clock.offset())
    user_id = _user_of(claims, external_users)
    rows = memberships.tenants_of(user_id)
    operator = operators is not None and operators.is_operator(user_id)
    if not rows and not operator:
        raise InvalidToken("no account")
    states = memberships.tenant_states([str(r["tenant_id"]) for r in rows]) if rows else {}
    tenants = {str(r["tenant_id"]): {"role": str(r["role"]), **states.get(str(r["tenant_id"]), UNKNOWN_TENANT)}
               for r in rows}
    context: dict[str, str | int | bool] = {
        "user_id": user_id,
        "principal": f"user:{user_id}",
        # An operator with no tenant names none: every tenant route then answers 403.
        "default_tenant_id": str(rows[0]["tenant_id"]) if rows else "",
        "tenants": json.dumps(tenants, separators=(",", ":"), sort_keys=True),
        "token_expires_at": claims.expires_at,
    }
    if operator:
        context["platform_operator"] = "true"
    return authorizer_response(f"user:{user_id}", allow=True, method_arn=str(event["methodArn"]), context=context)


def _made_before(key_id: str, joined_at: Any) -> bool:
    """Whether the key was made in an earlier membership of its creator (who left and joined again)."""
    if not joined_at:
        return False
    # Compared to the second (iso_z, naive meaning UTC), as invites store joining times: a key of the
    # joining second counts as made after.
    return iso_z(minted_at(key_id)) < iso_z(datetime.fromisoformat(str(joined_at)))


def _user_of(claims: Claims, external_users: ExternalUsers | None) -> str:
    if external_users is None or not external_users.handles(claims.issuer):
        return claims.subject
    user_id = external_users.user_for(claims)
    if user_id is None:
        raise InvalidToken("no account")
    return user_id


def _authorize_api_key(event: Mapping[str, Any], key: str, *, api_keys: ApiKeyLookup, memberships: Memberships,
                       now: float) -> dict[str, Any]:
    key_id = key_id_of(key)
    if key_id is None:
        raise InvalidToken("malformed api key")
    found = api_keys.find(key)
    # A revoked key's lookup is deleted; the id check guards against a lookup item that is not this key's.
    if found is None or found.get("key_id") != key_id:
        raise InvalidToken("unknown api key")
    expires_at = found.get("expires_at")
    if expires_at is not None and int(expires_at) <= now:
        raise InvalidToken("api key expired")
    tenant_id = str(found["tenant_id"])
    # A key does no more than its creator may do now: it dies with their membership, and the functions
    # narrow its scopes to their current role (a custom role's permissions are read there).
    creator = memberships.membership_in(tenant_id, str(found.get("created_by", "")))
    if creator is None or _made_before(key_id, creator.get("joined_at")):
        raise InvalidToken("api key's creator is no longer a member")
    creator_role = str(creator["role"])
    # Status and tier travel in the context so the functions refuse a suspended or deleted tenant.
    state = memberships.tenant_states([tenant_id]).get(tenant_id, UNKNOWN_TENANT)
    permissions = sorted(permissions_of_scopes(found.get("scopes") or []))
    tenants = {tenant_id: {"role": API_KEY_ROLE, **state, "permissions": permissions, "creator_role": creator_role}}
    try:
        api_keys.mark_used(tenant_id, key_id, now)
    except Exception:
        # Bookkeeping only: a throttled or failed write must never refuse a valid key.
        log.warning("could not record an api key's last use", exc_info=True)
    principal = f"{PRINCIPAL_PREFIX}{key_id}"
    context: dict[str, str | int | bool] = {
        "user_id": principal,
        "principal": principal,
        "default_tenant_id": tenant_id,
        "tenants": json.dumps(tenants, separators=(",", ":"), sort_keys=True),
    }
    return authorizer_response(principal, allow=True, method_arn=str(event["methodArn"]), context=context)
