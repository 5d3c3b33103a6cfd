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
- Tenant ids are checked by the key rule (``wrapper.store.keys.tenant_pk``): no ``*``, ``?``,
  ``#`` or ``/`` can reach a pattern, so ``StringLike`` matches nothing but the tenant's keys.
- Session tags need ``sts:TagSession`` in the role's trust policy, next to ``sts:AssumeRole``.

moto does not evaluate IAM conditions: locally the policy is verified by unit tests on this
document; on AWS, IAM enforces it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from wrapper.store.keys import tenant_pk

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
