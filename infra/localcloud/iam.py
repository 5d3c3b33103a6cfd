"""Hold what functions really called against what their roles in template.yaml allow.

moto does not evaluate IAM, so a function missing a permission passes every local test and
fails on AWS. The runtime records each function's AWS actions; this compares them with the
Allow statements of the function's role (actions only: resources and conditions are not
evaluated here).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.patches import PATCHES
from localcloud.provision import ACCOUNT_ID, Stack


def _allowed_actions(stack: Stack, function_logical_id: str) -> list[str]:
    function = stack.translated.resources[function_logical_id]
    role_ref = function["Properties"]["Role"]
    if not (isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref):
        return ["*"]  # a role from outside the template: nothing to hold it against
    role = stack.translated.resources[role_ref["Fn::GetAtt"][0]]
    actions: list[str] = []
    for policy in role["Properties"].get("Policies", []):
        statements: Any = policy["PolicyDocument"]["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect") == "Allow":
                action = statement.get("Action", [])
                actions.extend(a.lower() for a in ([action] if isinstance(action, str) else action))
    return actions


def unpermitted(stack: Stack, called: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """Per function of ``stack``: the actions it called that no Allow statement of its role names."""
    missing: dict[str, list[str]] = {}
    for spec in stack.functions.values():
        allowed = _allowed_actions(stack, spec.logical_id)
        lacking = sorted(action for action in called.get(spec.logical_id, set())
                         if not any(fnmatch.fnmatchcase(action.lower(), pattern) for pattern in allowed))
        if lacking:
            missing[spec.logical_id] = lacking
    return missing


# ---------------------------------------------------------------------------------------------
# Session policies. moto accepts any credentials; the local cloud evaluates the one kind of IAM
# rule Wrapper's isolation rests on: a session policy passed to AssumeRole, with
# ``ForAllValues:StringLike`` on ``dynamodb:LeadingKeys``. Every call made with such a session's
# credentials is held against its policy, and refused as AWS would refuse it.


@dataclass(frozen=True)
class RequestPart:
    """One authorisation question of a call: an action on a resource, with its leading keys."""

    action: str
    resource: str
    leading_keys: frozenset[str] = frozenset()


@dataclass
class ScopedSession:
    policy: dict[str, Any]
    tags: dict[str, str]
    calls: int = 0


_ITEM_ACTIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}
_TRANSACTION_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                        "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
_EQUALITY = re.compile(r"(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)")


def _leading_key(key_or_item: Mapping[str, Any], hash_attr: str) -> str:
    value = key_or_item.get(hash_attr, {})
    return str(next(iter(value.values()))) if value else ""


def dynamodb_request_parts(operation: str, params: Mapping[str, Any], *, table_arn: Callable[[str], str],
                           hash_attr: Callable[[str, str | None], str]) -> list[RequestPart]:
    """What IAM authorises for a DynamoDB call: per table (or index), the action and the partition
    keys the call touches. ``hash_attr(table, index)`` names the partition key attribute."""

    def part(action: str, table: str, keys: list[str], index: str | None = None) -> RequestPart:
        resource = table_arn(table) + (f"/index/{index}" if index else "")
        return RequestPart(f"dynamodb:{action}", resource, frozenset(keys))

    if operation in _ITEM_ACTIONS:
        table = params["TableName"]
        return [part(operation, table, [_leading_key(params.get("Key") or params.get("Item") or {},
                                                     hash_attr(table, None))])]
    if operation == "Query":
        table, index = params["TableName"], params.get("IndexName")
        names = params.get("ExpressionAttributeNames", {})
        values = params.get("ExpressionAttributeValues", {})
        wanted = hash_attr(table, index)
        keys = [str(next(iter(values[value].values())))
                for name, value in _EQUALITY.findall(params.get("KeyConditionExpression", ""))
                if names.get(name, name) == wanted and value in values]
        return [part("Query", table, keys, index)]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        parts = []
        for entry in params.get("TransactItems", []):
            ((kind, body),) = entry.items()
            table = body["TableName"]
            parts.append(part(_TRANSACTION_ACTIONS[kind], table,
                              [_leading_key(body.get("Key") or body.get("Item") or {}, hash_attr(table, None))]))
        return parts
    if operation == "BatchGetItem":
        return [part("BatchGetItem", table, [_leading_key(k, hash_attr(table, None)) for k in request["Keys"]])
                for table, request in params.get("RequestItems", {}).items()]
    if operation == "BatchWriteItem":
        return [part("BatchWriteItem", table, [
            _leading_key(w.get("PutRequest", {}).get("Item") or w.get("DeleteRequest", {}).get("Key") or {},
                         hash_attr(table, None)) for w in writes])
            for table, writes in params.get("RequestItems", {}).items()]
    # Scan, DescribeTable, ...: no leading keys, allowed only if an action pattern names them.
    return [part(operation, params.get("TableName", "*"), [])]


def session_allows(policy: Mapping[str, Any], request: RequestPart) -> bool:
    """Whether a session policy allows one request part (explicit Deny wins; default deny)."""
    statements: Any = policy.get("Statement", [])
    allowed = False
    for statement in statements if isinstance(statements, list) else [statements]:
        if not _statement_matches(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def _statement_matches(statement: Mapping[str, Any], request: RequestPart) -> bool:
    actions = statement.get("Action", [])
    resources = statement.get("Resource", [])
    if not any(fnmatch.fnmatchcase(request.action.lower(), a.lower())
               for a in ([actions] if isinstance(actions, str) else actions)):
        return False
    if not any(fnmatch.fnmatchcase(request.resource, r) for r in ([resources] if isinstance(resources, str)
                                                                   else resources)):
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        for condition_key, patterns in conditions.items():
            if operator != "ForAllValues:StringLike" or condition_key != "dynamodb:LeadingKeys":
                raise NotImplementedError(f"the local cloud does not evaluate {operator} {condition_key}")
            wanted = [patterns] if isinstance(patterns, str) else patterns
            # ForAllValues holds for an empty set: IAM's rule, and why Scan must never be allowed.
            if not all(any(fnmatch.fnmatchcase(key, p) for p in wanted) for key in request.leading_keys):
                return False
    return True


def enforce_session_policies(region: str) -> dict[str, ScopedSession]:
    """Hold every call made with credentials from an AssumeRole that passed a session policy
    against that policy. Answers the live map of such sessions by access key id."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    original = BaseClient._make_api_call  # type: ignore[attr-defined]
    existing: dict[str, ScopedSession] | None = getattr(original, "_wrapper_sessions", None)
    if existing is not None:
        return existing
    sessions: dict[str, ScopedSession] = {}

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        credentials = getattr(self._request_signer, "_credentials", None)
        session = sessions.get(getattr(credentials, "access_key", None) or "")
        if session is not None:
            session.calls += 1
            service = self.meta.service_model.signing_name or self.meta.service_model.endpoint_prefix
            if service == "dynamodb":
                parts = dynamodb_request_parts(operation_name, api_params, table_arn=_table_arn(region),
                                               hash_attr=_hash_attr(region))
            else:
                parts = [RequestPart(f"{service}:{operation_name}", "*")]
            for request in parts:
                if not session_allows(session.policy, request):
                    raise ClientError({"Error": {
                        "Code": "AccessDeniedException",
                        "Message": f"User: {session.tags} is not authorized to perform: {request.action} on "
                                   f"resource: {request.resource} because no session policy allows it "
                                   f"(leading keys {sorted(request.leading_keys)})"}}, operation_name)
        answer = original(self, operation_name, api_params)
        if operation_name == "AssumeRole" and api_params.get("Policy"):
            sessions[answer["Credentials"]["AccessKeyId"]] = ScopedSession(
                json.loads(api_params["Policy"]), {t["Key"]: t["Value"] for t in api_params.get("Tags", [])})
        return answer

    _make_api_call._wrapper_sessions = sessions  # type: ignore[attr-defined]
    PATCHES.replace(BaseClient, "_make_api_call", _make_api_call)
    return sessions


def _table_arn(region: str) -> Callable[[str], str]:
    return lambda table: table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{table}"


def _hash_attr(region: str) -> Callable[[str, str | None], str]:
    from moto.dynamodb.models import dynamodb_backends

    def hash_attr(table_name: str, index: str | None) -> str:
        table = dynamodb_backends[ACCOUNT_ID][region].get_table(table_name.rsplit("/", 1)[-1])
        if index is None:
            return str(table.hash_key_attr)
        for candidate in [*table.global_indexes, *table.indexes]:
            if candidate.name == index:
                return str(candidate.schema[0]["AttributeName"])
        return ""

    return hash_attr
