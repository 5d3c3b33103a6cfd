"""Given template.yaml, when the local cloud starts, then every resource it declares exists."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest


def _exists_checks(cloud: Any) -> dict[str, Callable[[Any], Any]]:
    c = cloud.client
    return {
        "AWS::DynamoDB::Table": lambda r: c("dynamodb").describe_table(TableName=r.ref),
        "AWS::Cognito::UserPool": lambda r: c("cognito-idp").describe_user_pool(UserPoolId=r.ref),
        "AWS::Cognito::UserPoolClient": lambda r: c("cognito-idp").describe_user_pool_client(
            UserPoolId=r.properties["UserPoolId"], ClientId=r.ref),
        "AWS::SQS::Queue": lambda r: c("sqs").get_queue_attributes(QueueUrl=r.ref, AttributeNames=["QueueArn"]),
        "AWS::SQS::QueuePolicy": lambda r: all(
            "Policy" in c("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
            for url in r.properties["Queues"]),
        "AWS::Events::EventBus": lambda r: c("events").describe_event_bus(Name=r.ref),
        "AWS::Events::Rule": lambda r: c("events").describe_rule(Name=r.ref.split("|")[-1],
                                                                  EventBusName=r.properties["EventBusName"]),
        "AWS::S3::Bucket": lambda r: c("s3").head_bucket(Bucket=r.ref),
        "AWS::S3::BucketPolicy": lambda r: c("s3").get_bucket_policy(Bucket=r.properties["Bucket"])["Policy"],
        "AWS::Logs::LogGroup": lambda r: c("logs").describe_log_groups(logGroupNamePrefix=r.ref)["logGroups"],
        "AWS::SNS::Topic": lambda r: c("sns").get_topic_attributes(TopicArn=r.ref),
        "AWS::SES::EmailIdentity": lambda r: c("sesv2").get_email_identity(EmailIdentity=r.ref),
        "AWS::CloudWatch::Alarm": lambda r: c("cloudwatch").describe_alarms(AlarmNames=[r.ref])["MetricAlarms"],
        "AWS::IAM::Role": lambda r: c("iam").get_role(RoleName=r.ref),
        "AWS::Lambda::LayerVersion": lambda r: c("lambda").get_layer_version(
            LayerName=r.ref.split(":")[6], VersionNumber=int(r.ref.split(":")[7])),
        "AWS::Lambda::Function": lambda r: c("lambda").get_function(FunctionName=r.ref),
        "AWS::Lambda::Permission": lambda r: r.logical_id in c("lambda").get_policy(
            FunctionName=r.properties["FunctionName"])["Policy"],
        "AWS::Lambda::EventSourceMapping": lambda r: c("lambda").get_event_source_mapping(UUID=r.ref),
        "AWS::StepFunctions::StateMachine": lambda r: c("stepfunctions").describe_state_machine(
            stateMachineArn=r.ref),
        "AWS::Scheduler::Schedule": lambda r: c("scheduler").get_schedule(Name=r.ref),
        "AWS::ApiGateway::RestApi": lambda r: c("apigateway").get_resources(restApiId=r.ref)["items"],
        "AWS::ApiGateway::Deployment": lambda r: c("apigateway").get_deployment(
            restApiId=r.properties["RestApiId"], deploymentId=r.ref),
        "AWS::ApiGateway::Stage": lambda r: c("apigateway").get_stage(restApiId=r.properties["RestApiId"],
                                                                      stageName=r.ref),
        "AWS::ApiGateway::Account": lambda r: c("apigateway").get_account()["cloudwatchRoleArn"] ==
        r.properties["CloudWatchRoleArn"],
        "AWS::ApiGateway::UsagePlan": lambda r: c("apigateway").get_usage_plan(usagePlanId=r.ref)["throttle"],
        "AWS::ApiGateway::GatewayResponse": lambda r: c("apigateway").get_gateway_response(
            restApiId=r.properties["RestApiId"], responseType=r.properties["ResponseType"]),
    }


def test_every_resource_of_the_template_is_created_or_skipped_by_its_condition(cloud: Any) -> None:
    declared = set(cloud.stack.translated.resources)
    created = set(cloud.stack.resources)
    skipped = set(cloud.stack.skipped)
    assert declared == created | skipped
    assert skipped == {"AlarmEmailSubscription"}  # AlarmEmail is empty locally


def test_every_created_resource_answers_its_describe_call(cloud: Any) -> None:
    checks = _exists_checks(cloud)
    missing_checks = {r.type for r in cloud.stack.resources.values()} - set(checks)
    assert not missing_checks, f"no existence check for {missing_checks}"
    for resource in cloud.stack.resources.values():
        assert checks[resource.type](resource), f"{resource.logical_id} ({resource.type}) does not exist"


def test_the_invoice_pdf_bucket_is_encrypted_private_and_tls_only(cloud: Any) -> None:
    # Given the bucket invoice PDFs are kept in, as the local cloud created it from the template
    s3 = cloud.client("s3")
    bucket = cloud.stack.resources["InvoicePdfBucket"].ref

    # Then it encrypts at rest, blocks every kind of public access, and denies requests without TLS
    [rule] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert set(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values()) == {True}
    [deny] = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    # And the functions that render PDFs are told its name
    for function in ("SubscriptionsFunction", "BillingRunFunction"):
        assert cloud.stack.function_by_logical_id(function).environment["INVOICE_PDF_BUCKET"] == bucket


def test_sam_generated_roles_carry_the_template_policies(cloud: Any) -> None:
    iam = cloud.client("iam")
    role = cloud.stack.resources["HealthFunctionRole"].ref
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    assert names, "the inline least-privilege policy of the health function is missing"
    assert any(arn.endswith("AWSLambdaBasicExecutionRole") for arn in attached)


def test_table_has_the_declared_keys_indexes_stream_and_ttl(cloud: Any, table_name: str) -> None:
    ddb = cloud.client("dynamodb")
    table = ddb.describe_table(TableName=table_name)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["PK", "SK"]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {"GSI1"}
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    ttl = ddb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"


@pytest.mark.parametrize("logical_id", ["OutboxFunctionOutboxStream", "AuditFunctionAuditQueue"])
def test_event_source_mappings_are_polled_by_the_local_cloud_not_by_moto(cloud: Any, logical_id: str) -> None:
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    mapping = cloud.client("lambda").get_event_source_mapping(UUID=cloud.stack.resources[logical_id].ref)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    sources = {t.mapping["EventSourceArn"] for t in cloud.pollers.threads}
    assert mapping["EventSourceArn"] in sources
    account = dynamodb_backends["123456789012"]["us-east-1"]
    queues = sqs_backends["123456789012"]["us-east-1"].queues
    assert all(not t.lambda_event_source_mappings for t in account.tables.values())
    assert all(not q.lambda_event_source_mappings for q in queues.values())


def test_functions_see_their_template_environment_resolved(cloud: Any, table_name: str) -> None:
    spec = cloud.stack.function_by_logical_id("HealthFunction")
    assert spec.environment["TABLE_NAME"] == table_name
    assert spec.environment["EVENT_BUS_NAME"] == "wrapper"
    assert spec.environment["HEALTH_QUEUE_URLS"].count("http") == 3


def test_secrets_are_in_ssm_as_secure_strings_never_in_function_environment(cloud: Any) -> None:
    name = cloud.stack.parameters["StripeWebhookSecretParameter"]
    parameter = cloud.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    for spec in cloud.stack.functions.values():
        assert parameter["Value"] not in spec.environment.values()
