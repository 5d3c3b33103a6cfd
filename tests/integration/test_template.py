"""template.yaml: valid, deployable, least-privilege, and the single source of truth."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localcloud.openapi import DOCUMENT_PATH, build_document, render
from localcloud.template import load_yaml, translate
from tests.support import EVENTS, REPO
from wrapper import __version__

TEMPLATE = REPO / "template.yaml"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load_yaml(TEMPLATE)


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    resources: dict[str, Any] = translate(TEMPLATE).cfn
    return resources


def test_cfn_lint_finds_nothing() -> None:
    result = subprocess.run([str(BIN / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes() -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run([str(BIN / "sam"), "validate", "--lint", "--template", str(TEMPLATE)],
                            capture_output=True, text=True, check=False, env=env, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_template_transforms_offline_into_cloudformation(cfn: dict[str, Any]) -> None:
    types = {r["Type"] for r in cfn["Resources"].values()}
    assert not any(t.startswith("AWS::Serverless::") for t in types)
    assert {"AWS::Lambda::Function", "AWS::ApiGateway::RestApi", "AWS::StepFunctions::StateMachine",
            "AWS::Scheduler::Schedule", "AWS::Lambda::EventSourceMapping"} <= types


def test_globals_pin_runtime_architecture_tracing_and_json_logs(sam: dict[str, Any]) -> None:
    function = sam["Globals"]["Function"]
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active"
    assert function["LoggingConfig"]["LogFormat"] == "JSON"


def test_every_function_has_a_role_of_its_own(cfn: dict[str, Any]) -> None:
    roles = [r["Properties"]["Role"]["Fn::GetAtt"][0] for r in cfn["Resources"].values()
             if r["Type"] == "AWS::Lambda::Function"]
    assert len(roles) == len(set(roles))


def test_no_function_policy_grants_a_wildcard_action_on_the_table(cfn: dict[str, Any]) -> None:
    for logical_id, resource in cfn["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert not any(a in ("*", "dynamodb:*") for a in actions), logical_id


def test_every_dead_letter_queue_has_an_alarm(sam: dict[str, Any]) -> None:
    resources = sam["Resources"]
    dlqs = {lid for lid, r in resources.items() if r["Type"] == "AWS::SQS::Queue" and "DeadLetter" in lid}
    alarmed = {d["Value"]["Fn::GetAtt"][0] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"
               for d in r["Properties"].get("Dimensions", []) if isinstance(d["Value"], dict)
               and "Fn::GetAtt" in d["Value"]}
    assert dlqs and dlqs <= alarmed


def test_every_consumer_queue_redrives_to_a_dead_letter_queue(sam: dict[str, Any]) -> None:
    for lid, resource in sam["Resources"].items():
        if resource["Type"] == "AWS::SQS::Queue" and "DeadLetter" not in lid:
            assert resource["Properties"]["RedrivePolicy"]["maxReceiveCount"] >= 1, lid


def test_secrets_are_named_ssm_parameters_never_values(sam: dict[str, Any]) -> None:
    for name, parameter in sam["Parameters"].items():
        if "Secret" in name:
            assert str(parameter["Default"]).startswith("/"), f"{name} must name an SSM parameter"


def test_the_table_keeps_its_data_safe(sam: dict[str, Any]) -> None:
    table = sam["Resources"]["Table"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["Properties"]["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_the_committed_openapi_document_is_the_generated_one() -> None:
    assert DOCUMENT_PATH.read_text() == render(build_document(TEMPLATE, version=__version__))


def test_every_function_has_a_sample_event(cfn: dict[str, Any]) -> None:
    translated = translate(TEMPLATE)
    for logical_id, resource in cfn["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            folder = EVENTS / translated.code_paths[logical_id].name
            assert list(folder.glob("*.json")), f"no sample event in {folder}"


def test_the_readme_documents_every_event_type() -> None:
    from wrapper.events.catalog import DESCRIPTIONS, EventType

    readme = (REPO / "README.md").read_text()
    for event_type in EventType:
        assert f"| `{event_type.value}` | {DESCRIPTIONS[event_type]} |" in readme, f"README lacks {event_type.value}"


def test_the_readme_documents_every_event_types_data() -> None:
    from wrapper.events.data import DATA, EventData

    rows = [line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("| `")]
    for event_type, model in DATA.items():
        # The data table's rows: a second cell of field names, or "(none)"; the meanings table's are sentences.
        row = next((r for r in rows if f"`{event_type.value}`" in r.split(" | ")[0]
                    and r.split(" | ")[1].startswith(("`", "(none)"))), None)
        assert row is not None, f"README lists no data fields for {event_type.value}"
        for name, field in model.model_fields.items():
            if name not in EventData.model_fields:
                assert f"`{field.alias or name}`" in row, f"README's {event_type.value} row lacks {name}"


def test_a_call_outside_a_functions_role_is_reported(cloud: Any) -> None:
    from localcloud.iam import unpermitted

    missing = unpermitted(cloud.stack, {"TenantsFunction": {"dynamodb:GetItem", "dynamodb:Scan"},
                                        "HealthFunction": {"dynamodb:DescribeTable"}})
    assert missing == {"TenantsFunction": ["dynamodb:Scan"]}
