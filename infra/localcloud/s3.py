"""S3 behaviour moto gets wrong, put right for the local cloud.

moto evaluates a bucket's policy on object requests, but with an evaluator written for trust policies: it
knows no request context, ignores ``Bool`` conditions, and takes a statement whose conditions do not hold
for a Deny. So a bucket that denies requests without TLS (``"Bool": {"aws:SecureTransport": "false"}``, as
the invoice PDFs' bucket does) refuses every request in moto. Here ``Bool`` conditions are evaluated as AWS
does, with the request taken as sent over TLS (the local endpoint stands in for S3's HTTPS one; it is plain
HTTP on the loopback interface only), and a statement whose conditions do not hold does not apply.
Statements with other condition operators are left to moto.
"""

from __future__ import annotations

import json
from typing import Any

from localcloud.patches import PATCHES

# What the local endpoint stands in for: S3 over HTTPS.
REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def patch_bucket_policies() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    if not PATCHES.first("s3: bucket policy conditions"):
        return

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy)["Statement"]
        permitted = False
        for statement in statements if isinstance(statements, list) else [statements]:
            conditions = statement.get("Condition", {})
            if conditions and set(conditions) == {"Bool"}:
                if not _bool_conditions_hold(conditions["Bool"]):
                    continue  # its conditions do not hold for this request: it does not apply
                statement = {k: v for k, v in statement.items() if k != "Condition"}
            result = IAMPolicyStatement(statement).is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                return result
            permitted = permitted or result == PermissionResult.PERMITTED
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL

    PATCHES.replace(FakeBucket, "get_permission", get_permission)


def _bool_conditions_hold(tests: dict[str, Any]) -> bool:
    """Each key's value in the request is one of the expected values (a key the request lacks: no match)."""
    for key, expected in tests.items():
        allowed = {str(v).lower() for v in (expected if isinstance(expected, list) else [expected])}
        if REQUEST_CONTEXT.get(key) not in allowed:
            return False
    return True
