"""Read template.yaml and turn it into plain CloudFormation, offline, with aws-sam-translator.

SAM's translator wants S3 URIs for code; local paths are swapped for ``s3://local/<path>``
placeholders and remembered, and a state machine's DefinitionUri is inlined from its file.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CODE_BUCKET = "local"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag_constructor(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag_constructor)


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return document


@dataclass
class Translated:
    """The template as CloudFormation, plus where each function's and layer's code lives."""

    root: Path
    sam: dict[str, Any]
    cfn: dict[str, Any]
    code_paths: dict[str, Path] = field(default_factory=dict)  # logical id -> local directory

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.cfn["Resources"]
        return resources


class _NoManagedPolicies:
    """Our templates name managed policies by ARN, so the translator needs no IAM lookups."""

    def load(self) -> dict[str, str]:
        return {}


def translate(template_path: Path, parameter_values: dict[str, str] | None = None) -> Translated:
    from samtranslator.translator.transform import transform

    template_path = template_path.resolve()
    root = template_path.parent
    sam = load_yaml(template_path)
    prepared = copy.deepcopy(sam)
    code_paths: dict[str, Path] = {}
    for logical_id, resource in prepared.get("Resources", {}).items():
        props = resource.get("Properties", {})
        rtype = resource.get("Type")
        key = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}.get(rtype)
        if key and isinstance(props.get(key), str) and not props[key].startswith("s3://"):
            code_paths[logical_id] = (root / props[key]).resolve()
            props[key] = f"s3://{CODE_BUCKET}/{props[key].strip('/')}"
        if rtype == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            props["Definition"] = json.loads((root / props.pop("DefinitionUri")).read_text(encoding="utf-8"))
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    cfn = transform(prepared, parameter_values or {}, _NoManagedPolicies())
    # The translator names function code by its placeholder; map generated ids back too.
    for logical_id, resource in cfn["Resources"].items():
        if resource["Type"] == "AWS::Lambda::LayerVersion":
            for sam_id, path in list(code_paths.items()):
                if logical_id.startswith(sam_id):
                    code_paths[logical_id] = path
    return Translated(root=root, sam=sam, cfn=cfn, code_paths=code_paths)
