"""Hold what functions really called against what their roles in template.yaml allow.

moto does not evaluate IAM, so a function missing a permission passes every local test and
fails on AWS. The runtime records each function's AWS actions; this compares them with the
Allow statements of the function's role (actions only: resources and conditions are not
evaluated here).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from localcloud.provision import Stack


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
