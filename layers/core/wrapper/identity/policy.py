"""IAM policies a Lambda REQUEST authorizer returns to API Gateway.

API Gateway caches one policy per identity for every route, so an Allow names the whole
stage (``<api>/<stage>/*/*``), never the one method that happened to be called first.
"""

from __future__ import annotations

from typing import Any

# The principal id of a request made with an API key is this and the key's id (a user's is the user id).
# Here, not in wrapper.identity.apikeys, so that the operator guard can tell keys apart without loading
# the key store and its models.
PRINCIPAL_PREFIX = "apikey:"


def api_wildcard(method_arn: str) -> str:
    # arn:aws:execute-api:region:account:api-id/stage/METHOD/path...
    prefix, _, rest = method_arn.partition(":execute-api:")
    region_account_api, *_ = rest.split("/", 2)
    stage = rest.split("/")[1] if rest.count("/") >= 1 else "*"
    return f"{prefix}:execute-api:{region_account_api}/{stage}/*/*"


def authorizer_response(principal_id: str, *, allow: bool, method_arn: str,
                        context: dict[str, str | int | bool] | None = None) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": "Allow" if allow else "Deny",
                "Resource": api_wildcard(method_arn),
            }],
        },
        "context": context or {},
    }
