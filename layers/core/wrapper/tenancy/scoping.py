"""Tenant-scoped credentials, as in AWS's SaaS reference: defence in depth behind the key rule.

A function serving a tenant's request calls ``sts.assume_role(**assume_role_kwargs(...))``
and reads and writes DynamoDB with the credentials it gets back. Their session policy lets
them touch only items whose partition key is the tenant's own (``TENANT#<id>``) or under it
(``TENANT#<id>#...``), so a bug that builds another tenant's key is refused by IAM.

What the policy relies on:

- ``ForAllValues`` is true for a request that carries no ``dynamodb:LeadingKeys`` at all, so
  only actions that always carry one are allowed: item reads and writes, ``Query`` and the
  batch calls. ``Scan`` is never allowed (it would read every tenant's items).
  ``TransactWriteItems`` and ``TransactGetItems`` are authorised item by item through
  ``PutItem``, ``UpdateItem``, ``DeleteItem``, ``ConditionCheckItem`` and ``GetItem``.
- On an index, the leading key is the index's partition key: a scoped session can query only
  indexes keyed by the tenant's prefix. Platform-wide lookups (email → user, API-key hash →
  tenant, Stripe customer → tenant) are done with the function's own role, not these.
- Tenant ids are checked by the key rule (``wrapper.store.schema.tenant_pk``): no ``*``, ``?``,
  ``#`` or ``/`` can reach a pattern, so ``StringLike`` matches nothing but the tenant's keys.
- Session tags need ``sts:TagSession`` in the role's trust policy, next to ``sts:AssumeRole``.

moto does not evaluate IAM conditions; the local cloud does, for sessions like these: it reads
the session policy of every AssumeRole a function makes and refuses (AccessDeniedException)
any DynamoDB call with those credentials whose leading keys the policy does not allow
(``localcloud.iam``). On AWS, IAM enforces it.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import cache
from typing import Any

from wrapper import aws
from wrapper.kernel.tenant import TenantContext
from wrapper.settings import Settings
from wrapper.store.schema import tenant_pk
from wrapper.store.table import Table

SCOPED_ACTIONS: tuple[str, ...] = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
)
INDEX_ACTIONS: tuple[str, ...] = ("dynamodb:Query",)

MIN_DURATION_SECONDS = 900
MAX_DURATION_SECONDS = 43_200
MAX_SESSION_NAME = 64
MAX_POLICY_CHARS = 2_048  # STS's limit on an inline session policy (ours stays far below it)

_TABLE_ARN = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]{3,255}")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", re.ASCII)
_NOT_SESSION_NAME_CHAR = re.compile(r"[^\w+=,.@-]", re.ASCII)


def leading_key_patterns(tenant_id: str) -> list[str]:
    """The ``StringLike`` patterns of a tenant's partition keys: its own, and any under it."""
    pk = tenant_pk(tenant_id)
    return [pk, f"{pk}#*"]


def scoped_policy(tenant_id: str, *, table_arn: str) -> dict[str, Any]:
    """The session policy that confines a session to one tenant's items in ``table_arn``."""
    if not _TABLE_ARN.fullmatch(table_arn):
        raise ValueError(f"not a DynamoDB table ARN: {table_arn!r}")
    condition = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": leading_key_patterns(tenant_id)}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TenantItems",
                "Effect": "Allow",
                "Action": list(SCOPED_ACTIONS),
                "Resource": [table_arn],
                "Condition": condition,
            },
            {
                "Sid": "TenantIndexQueries",
                "Effect": "Allow",
                "Action": list(INDEX_ACTIONS),
                "Resource": [f"{table_arn}/index/*"],
                "Condition": condition,
            },
        ],
    }


def session_name(tenant_id: str) -> str:
    """``tenant-<id>``, in STS's alphabet and length (the full id is in the session tags)."""
    tenant_pk(tenant_id)
    return _NOT_SESSION_NAME_CHAR.sub("-", f"tenant-{tenant_id}")[:MAX_SESSION_NAME]


def assume_role_kwargs(tenant_id: str, *, role_arn: str, table_arn: str,
                       duration_seconds: int = MIN_DURATION_SECONDS) -> dict[str, Any]:
    """The keyword arguments of ``sts.assume_role`` for a tenant-scoped session."""
    if not _ROLE_ARN.fullmatch(role_arn):
        raise ValueError(f"not an IAM role ARN: {role_arn!r}")
    if not MIN_DURATION_SECONDS <= duration_seconds <= MAX_DURATION_SECONDS:
        raise ValueError(f"duration_seconds must be {MIN_DURATION_SECONDS}..{MAX_DURATION_SECONDS}")
    policy = json.dumps(scoped_policy(tenant_id, table_arn=table_arn), separators=(",", ":"))
    return {
        "RoleArn": role_arn,
        "RoleSessionName": session_name(tenant_id),
        "Policy": policy,
        "DurationSeconds": duration_seconds,
        "Tags": [{"Key": "tenant_id", "Value": tenant_id}],
    }


class ScopedTables:
    """Per tenant, a ``Table`` whose client holds that tenant's scoped credentials.

    Credentials are assumed once per tenant and reused by the warm function until a minute
    before they expire (15 minutes: STS's minimum), so a request usually costs no STS call.
    Without a role (``role_arn`` empty: unit tests, scripts) it hands out the function's own
    table, unscoped; template.yaml always sets one. ``clock`` is the real time, not the layer's
    (``wrapper.kernel.clock``): it is held against the expiry STS stamped on its own clock.
    """

    REFRESH_MARGIN_SECONDS = 60
    MAX_CACHED_TENANTS = 256

    def __init__(self, *, sts_client: Any, role_arn: str, table: Table, table_arn: str,
                 client_factory: Callable[[dict[str, str]], Any], clock: Callable[[], float] = time.time) -> None:
        self.sts = sts_client
        self.role_arn = role_arn
        self.table = table
        self.table_arn = table_arn
        self.client_factory = client_factory
        self.clock = clock
        self._cache: OrderedDict[str, tuple[float, Table]] = OrderedDict()

    def for_tenant(self, tenant: TenantContext) -> Table:
        if not self.role_arn:
            return self.table
        now = self.clock()
        cached = self._cache.get(tenant.tenant_id)
        if cached and cached[0] - self.REFRESH_MARGIN_SECONDS > now:
            self._cache.move_to_end(tenant.tenant_id)
            return cached[1]
        answer = self.sts.assume_role(**assume_role_kwargs(tenant.tenant_id, role_arn=self.role_arn,
                                                           table_arn=self.table_arn))
        credentials = answer["Credentials"]
        table = Table(self.client_factory(credentials), self.table.name)
        self._cache[tenant.tenant_id] = (credentials["Expiration"].timestamp(), table)
        self._cache.move_to_end(tenant.tenant_id)
        while len(self._cache) > self.MAX_CACHED_TENANTS:
            self._cache.popitem(last=False)
        return table


def scoped_tables_for(settings: Settings) -> ScopedTables:
    """The function's one ``ScopedTables`` (shared by its routers, so by one credentials cache),
    from the role and table its template environment names."""
    return _scoped_tables(settings.tenant_access_role_arn, settings.table_arn, settings.table_name,
                          settings.aws_region, settings.aws_endpoint_url)


@cache
def _scoped_tables(role_arn: str, table_arn: str, table_name: str, region: str,
                   endpoint_url: str | None) -> ScopedTables:
    def client_factory(credentials: dict[str, str]) -> Any:
        return aws.client_with_credentials("dynamodb", region, endpoint_url, credentials)

    return ScopedTables(sts_client=aws.client("sts", region, endpoint_url), role_arn=role_arn,
                        table=Table(aws.client("dynamodb", region, endpoint_url), table_name),
                        table_arn=table_arn, client_factory=client_factory)
