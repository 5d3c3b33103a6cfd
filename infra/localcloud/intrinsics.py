"""CloudFormation intrinsic functions, resolved the way CloudFormation resolves them.

Resources are resolved in dependency order; a resource's ``Ref`` value and attributes are
known once it is created.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()
_SUB_VAR = re.compile(r"\$\{([^!}][^}]*)\}")
# ${!Name} is CloudFormation's escape for a literal ${Name}.
_SUB_TOKEN = re.compile(r"\$\{(!?)([^}]*)\}")


class TemplateError(Exception):
    pass


@dataclass
class Context:
    parameters: dict[str, Any]
    pseudo: dict[str, Any]
    conditions: dict[str, bool] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)  # logical id -> Ref value
    attrs: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> attributes
    condition_defs: dict[str, Any] = field(default_factory=dict)

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise TemplateError(f"Ref to unknown or not yet created {name!r}")

    def get_att(self, name: str, attribute: str) -> Any:
        try:
            return self.attrs[name][attribute]
        except KeyError:
            raise TemplateError(f"GetAtt {name}.{attribute} is not known") from None

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(resolve(self.condition_defs[name], self))
        return self.conditions[name]


def _sub(template: str, variables: dict[str, Any], ctx: Context) -> str:
    def replace(match: re.Match[str]) -> str:
        escaped, name = match.groups()
        if escaped:
            return "${" + name + "}"
        if name in variables:
            return str(variables[name])
        if "." in name and not name.startswith("AWS::"):
            resource, attribute = name.split(".", 1)
            return str(ctx.get_att(resource, attribute))
        return str(ctx.ref(name))

    return _SUB_TOKEN.sub(replace, template)


def _fn_sub(args: Any, ctx: Context) -> str:
    if isinstance(args, str):
        return _sub(args, {}, ctx)
    template, variables = args
    return _sub(template, {k: resolve(v, ctx) for k, v in variables.items()}, ctx)


def _fn_if(args: Any, ctx: Context) -> Any:
    name, when_true, when_false = args
    return resolve(when_true if ctx.condition(name) else when_false, ctx)


_FUNCTIONS: dict[str, Callable[[Any, Context], Any]] = {
    "Ref": lambda a, c: NO_VALUE if a == "AWS::NoValue" else c.ref(a),
    "Fn::GetAtt": lambda a, c: c.get_att(*(a.split(".", 1) if isinstance(a, str) else resolve(a, c))),
    "Fn::Sub": _fn_sub,
    "Fn::Join": lambda a, c: str(a[0]).join(str(v) for v in resolve(a[1], c)),
    "Fn::Select": lambda a, c: resolve(a[1], c)[int(resolve(a[0], c))],
    "Fn::Split": lambda a, c: str(resolve(a[1], c)).split(a[0]),
    "Fn::If": _fn_if,
    "Fn::Equals": lambda a, c: resolve(a[0], c) == resolve(a[1], c),
    "Fn::Not": lambda a, c: not resolve(a[0], c),
    "Fn::And": lambda a, c: all(resolve(v, c) for v in a),
    "Fn::Or": lambda a, c: any(resolve(v, c) for v in a),
    "Condition": lambda a, c: c.condition(a),
    "Fn::FindInMap": lambda a, c: c.mappings[resolve(a[0], c)][resolve(a[1], c)][resolve(a[2], c)],
    "Fn::GetAZs": lambda a, c: [f"{c.pseudo['AWS::Region']}{z}" for z in "abc"],
    "Fn::ToJsonString": lambda a, c: json.dumps(resolve(a, c)),
}


def resolve(value: Any, ctx: Context) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, args),) = value.items()
            if key in _FUNCTIONS:
                return _FUNCTIONS[key](args, ctx)
        resolved = {k: resolve(v, ctx) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}
    if isinstance(value, list):
        return [v for v in (resolve(item, ctx) for item in value) if v is not NO_VALUE]
    return value


def dependencies(value: Any, resource_ids: set[str]) -> set[str]:
    """Logical ids a value refers to (Ref, GetAtt, Sub variables)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, args in value.items():
            if key == "Ref" and isinstance(args, str) and args in resource_ids:
                found.add(args)
            elif key == "Fn::GetAtt":
                target = args.split(".", 1)[0] if isinstance(args, str) else args[0]
                if target in resource_ids:
                    found.add(target)
            elif key == "Fn::Sub":
                template = args if isinstance(args, str) else args[0]
                own_variables = set(args[1]) if isinstance(args, list) else set()
                for name in _SUB_VAR.findall(template):
                    head = name.split(".", 1)[0]
                    if head in resource_ids and name not in own_variables:
                        found.add(head)
            found |= dependencies(args, resource_ids)
    elif isinstance(value, list):
        for item in value:
            found |= dependencies(item, resource_ids)
    return found
