"""Create every resource of a translated template in the local cloud, in dependency order.

Each CloudFormation type we declare has a creator below that calls the same AWS API
CloudFormation would. A type without a creator stops the start with an error, so the
template can never declare something the local cloud silently leaves out.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.intrinsics import Context, TemplateError, dependencies, resolve
from localcloud.template import Translated

ACCOUNT_ID = "123456789012"


@dataclass
class FunctionSpec:
    """What the in-process runtime needs to run one Lambda function."""

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    layer_dirs: list[Path]
    timeout: int
    memory: int


@dataclass
class Created:
    logical_id: str
    type: str
    ref: Any
    attrs: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Stack:
    name: str
    region: str
    translated: Translated
    resources: dict[str, Created] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # by function name
    outputs: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # logical id -> why (a false Condition)

    def of_type(self, cfn_type: str) -> list[Created]:
        return [r for r in self.resources.values() if r.type == cfn_type]

    def function_by_logical_id(self, logical_id: str) -> FunctionSpec:
        for spec in self.functions.values():
            if spec.logical_id == logical_id:
                return spec
        raise KeyError(logical_id)


def _placeholder_zip() -> bytes:
    # Code runs in-process from the working tree; the zip only satisfies the Lambda API.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "Code is run in-process by the Wrapper local cloud.\n")
    return buffer.getvalue()


class Provisioner:
    def __init__(self, clients: Callable[[str], Any], *, region: str) -> None:
        self.client = clients
        self.region = region
        self._zip = _placeholder_zip()

    def deploy(self, translated: Translated, *, stack_name: str, parameters: dict[str, str]) -> Stack:
        cfn = translated.cfn
        params = {}
        for name, spec in cfn.get("Parameters", {}).items():
            value = parameters.get(name, spec.get("Default"))
            if value is None:
                raise TemplateError(f"parameter {name} has no value")
            params[name] = value
        ctx = Context(
            parameters=params,
            pseudo={
                "AWS::Region": self.region, "AWS::AccountId": ACCOUNT_ID, "AWS::StackName": stack_name,
                "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:stack/{stack_name}/local",
            },
            mappings=cfn.get("Mappings", {}),
            condition_defs=cfn.get("Conditions", {}),
        )
        stack = Stack(name=stack_name, region=self.region, translated=translated, parameters=params)
        for logical_id in self._order(cfn["Resources"]):
            resource = cfn["Resources"][logical_id]
            if "Condition" in resource and not ctx.condition(resource["Condition"]):
                stack.skipped[logical_id] = f"condition {resource['Condition']} is false"
                continue
            creator = getattr(self, "_create_" + resource["Type"].replace("::", "_"), None)
            if creator is None:
                raise TemplateError(f"{logical_id}: the local cloud cannot create {resource['Type']}")
            props = resolve(resource.get("Properties", {}), ctx)
            created: Created = creator(stack, logical_id, props)
            created.properties = props
            stack.resources[logical_id] = created
            ctx.refs[logical_id] = created.ref
            ctx.attrs[logical_id] = created.attrs
        stack.outputs = {name: resolve(out["Value"], ctx) for name, out in cfn.get("Outputs", {}).items()}
        return stack

    @staticmethod
    def _order(resources: dict[str, Any]) -> list[str]:
        ids = set(resources)
        deps = {}
        for logical_id, resource in resources.items():
            found = dependencies(resource.get("Properties", {}), ids)
            depends_on = resource.get("DependsOn", [])
            found |= set([depends_on] if isinstance(depends_on, str) else depends_on)
            deps[logical_id] = found - {logical_id}
        ordered: list[str] = []
        done: set[str] = set()

        def visit(node: str, path: tuple[str, ...]) -> None:
            if node in done:
                return
            if node in path:
                raise TemplateError(f"dependency cycle: {' -> '.join((*path, node))}")
            for dep in sorted(deps[node]):
                visit(dep, (*path, node))
            done.add(node)
            ordered.append(node)

        for logical_id in sorted(resources):
            visit(logical_id, ())
        return ordered

    def _name(self, stack: Stack, logical_id: str, limit: int = 64) -> str:
        return f"{stack.name}-{logical_id}"[:limit]

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    # ------------------------------------------------------------------ DynamoDB
    def _create_AWS_DynamoDB_Table(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        name = p.get("TableName") or self._name(stack, lid, 255)
        ddb = self.client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": p["AttributeDefinitions"],
            "KeySchema": p["KeySchema"],
            "BillingMode": p.get("BillingMode", "PROVISIONED"),
        }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification",
                    "ProvisionedThroughput", "SSESpecification"):
            if key in p:
                kwargs[key] = p[key]
        if "StreamSpecification" in p:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        if "SSESpecification" in p:
            kwargs["SSESpecification"] = {"Enabled": bool(p["SSESpecification"].get("SSEEnabled"))}
        if "DeletionProtectionEnabled" in p:
            kwargs["DeletionProtectionEnabled"] = bool(p["DeletionProtectionEnabled"])
        table = ddb.create_table(**kwargs)["TableDescription"]
        if "TimeToLiveSpecification" in p:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=p["TimeToLiveSpecification"])
        if p.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True})
        return Created(lid, "AWS::DynamoDB::Table", name,
                       {"Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn")})

    # ------------------------------------------------------------------ S3
    # Each bucket setting CloudFormation applies, by the call that applies it; a setting not listed stops the
    # start (as an unknown resource type does), so a bucket is never created less safe than declared.
    _BUCKET_SETTINGS: dict[str, tuple[str, str]] = {
        "BucketEncryption": ("put_bucket_encryption", "ServerSideEncryptionConfiguration"),
        "PublicAccessBlockConfiguration": ("put_public_access_block", "PublicAccessBlockConfiguration"),
        "OwnershipControls": ("put_bucket_ownership_controls", "OwnershipControls"),
        "VersioningConfiguration": ("put_bucket_versioning", "VersioningConfiguration"),
    }

    def _create_AWS_S3_Bucket(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        name = p.get("BucketName") or self._name(stack, lid, 63).lower()
        unknown = set(p) - {"BucketName", *self._BUCKET_SETTINGS}
        if unknown:
            raise TemplateError(f"{lid}: the local cloud cannot apply {sorted(unknown)} to a bucket")
        s3 = self.client("s3")
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        s3.create_bucket(**kwargs)
        for setting, (call, argument) in self._BUCKET_SETTINGS.items():
            if setting in p:
                value = p[setting]
                if setting == "BucketEncryption":  # CloudFormation names the rules' parts otherwise than S3
                    value = {"Rules": [{("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault"
                                         else k): v for k, v in rule.items()}
                                       for rule in value["ServerSideEncryptionConfiguration"]]}
                getattr(s3, call)(Bucket=name, **{argument: value})
        return Created(lid, "AWS::S3::Bucket", name, {
            "Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com"})

    def _create_AWS_S3_BucketPolicy(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        self.client("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(p["PolicyDocument"]))
        return Created(lid, "AWS::S3::BucketPolicy", f"{stack.name}-{lid}")

    # ------------------------------------------------------------------ Cognito
    def _create_AWS_Cognito_UserPool(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        kwargs = {k: v for k, v in p.items() if k not in ("UserPoolName", "UserPoolTags")}
        pool = self.client("cognito-idp").create_user_pool(PoolName=p.get("UserPoolName") or self._name(stack, lid),
                                                           **kwargs)["UserPool"]
        provider = f"cognito-idp.{self.region}.amazonaws.com/{pool['Id']}"
        return Created(lid, "AWS::Cognito::UserPool", pool["Id"],
                       {"Arn": pool["Arn"], "ProviderName": provider, "ProviderURL": f"https://{provider}"})

    def _create_AWS_Cognito_UserPoolClient(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        kwargs = {k: v for k, v in p.items() if k != "ClientName"}
        for key in ("AccessTokenValidity", "IdTokenValidity", "RefreshTokenValidity"):
            if key in kwargs:
                kwargs[key] = int(kwargs[key])
        client = self.client("cognito-idp").create_user_pool_client(
            ClientName=p.get("ClientName") or self._name(stack, lid), **kwargs)["UserPoolClient"]
        return Created(lid, "AWS::Cognito::UserPoolClient", client["ClientId"], {"ClientId": client["ClientId"]})

    # ------------------------------------------------------------------ SQS
    def _create_AWS_SQS_Queue(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        name = p.get("QueueName") or self._name(stack, lid, 80)
        attributes = {}
        for key, value in p.items():
            if key in ("QueueName", "Tags"):
                continue
            attributes[key] = json.dumps(value) if isinstance(value, dict) else str(value).lower() \
                if isinstance(value, bool) else str(value)
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self._arn("sqs", name)
        return Created(lid, "AWS::SQS::Queue", url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _create_AWS_SQS_QueuePolicy(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        for url in p["Queues"]:
            self.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={
                "Policy": json.dumps(p["PolicyDocument"])})
        return Created(lid, "AWS::SQS::QueuePolicy", f"{stack.name}-{lid}")

    # ------------------------------------------------------------------ EventBridge
    def _create_AWS_Events_EventBus(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        arn = self.client("events").create_event_bus(Name=p["Name"])["EventBusArn"]
        return Created(lid, "AWS::Events::EventBus", p["Name"], {"Arn": arn, "Name": p["Name"]})

    def _create_AWS_Events_Rule(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        events = self.client("events")
        name = p.get("Name") or self._name(stack, lid)
        bus = p.get("EventBusName", "default")
        kwargs: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": p.get("State", "ENABLED")}
        if "EventPattern" in p:
            kwargs["EventPattern"] = json.dumps(p["EventPattern"])
        if "ScheduleExpression" in p:
            kwargs["ScheduleExpression"] = p["ScheduleExpression"]
        if "Description" in p:
            kwargs["Description"] = p["Description"]
        arn = events.put_rule(**kwargs)["RuleArn"]
        if p.get("Targets"):
            events.put_targets(Rule=name, EventBusName=bus, Targets=p["Targets"])
        ref = name if bus == "default" else f"{bus}|{name}"
        return Created(lid, "AWS::Events::Rule", ref, {"Arn": arn})

    # ------------------------------------------------------------------ Logs, SNS, CloudWatch
    def _create_AWS_Logs_LogGroup(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        name = p.get("LogGroupName") or self._name(stack, lid, 512)
        logs = self.client("logs")
        logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in p:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(p["RetentionInDays"]))
        return Created(lid, "AWS::Logs::LogGroup", name, {"Arn": self._arn("logs", f"log-group:{name}:*")})

    def _create_AWS_SNS_Topic(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        name = p.get("TopicName") or self._name(stack, lid, 256)
        attributes = {"KmsMasterKeyId": p["KmsMasterKeyId"]} if "KmsMasterKeyId" in p else {}
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return Created(lid, "AWS::SNS::Topic", arn, {"TopicArn": arn, "TopicName": name})

    # ------------------------------------------------------------------ SES
    def _create_AWS_SES_EmailIdentity(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        # moto treats every identity as verified at once; on AWS the address or domain must be
        # verified (and the account out of the SES sandbox) before mail reaches strangers.
        identity = p["EmailIdentity"]
        self.client("sesv2").create_email_identity(EmailIdentity=identity)
        return Created(lid, "AWS::SES::EmailIdentity", identity)

    def _create_AWS_SNS_Subscription(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        arn = self.client("sns").subscribe(TopicArn=p["TopicArn"], Protocol=p["Protocol"],
                                           Endpoint=p["Endpoint"], ReturnSubscriptionArn=True)["SubscriptionArn"]
        return Created(lid, "AWS::SNS::Subscription", arn)

    def _create_AWS_CloudWatch_Alarm(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        name = p.get("AlarmName") or self._name(stack, lid, 255)
        kwargs = {k: v for k, v in p.items() if k != "AlarmName"}
        for key in ("Period", "EvaluationPeriods"):
            if key in kwargs:
                kwargs[key] = int(kwargs[key])
        if "Threshold" in kwargs:
            kwargs["Threshold"] = float(kwargs["Threshold"])
        self.client("cloudwatch").put_metric_alarm(AlarmName=name, **kwargs)
        return Created(lid, "AWS::CloudWatch::Alarm", name, {"Arn": self._arn("cloudwatch", f"alarm:{name}")})

    # ------------------------------------------------------------------ IAM
    def _create_AWS_IAM_Role(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        iam = self.client("iam")
        name = p.get("RoleName") or self._name(stack, lid)
        role = iam.create_role(RoleName=name, Path=p.get("Path", "/"),
                               AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]))["Role"]
        for policy in p.get("Policies", []):
            # SAM's policy templates omit Version; IAM takes that, moto only takes 2012-10-17.
            document = {"Version": "2012-10-17", **policy["PolicyDocument"]}
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(document))
        for arn in p.get("ManagedPolicyArns", []):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return Created(lid, "AWS::IAM::Role", name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})

    # ------------------------------------------------------------------ Lambda
    def _create_AWS_Lambda_LayerVersion(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        layer = self.client("lambda").publish_layer_version(
            LayerName=p.get("LayerName") or self._name(stack, lid), Content={"ZipFile": self._zip},
            CompatibleRuntimes=p.get("CompatibleRuntimes", []))
        return Created(lid, "AWS::Lambda::LayerVersion", layer["LayerVersionArn"],
                       {"LayerVersionArn": layer["LayerVersionArn"]})

    def _create_AWS_Lambda_Function(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        name = p.get("FunctionName") or self._name(stack, lid)
        environment = {k: str(v) for k, v in p.get("Environment", {}).get("Variables", {}).items()}
        kwargs: dict[str, Any] = {
            "FunctionName": name, "Runtime": p["Runtime"], "Role": p["Role"], "Handler": p["Handler"],
            "Code": {"ZipFile": self._zip}, "Timeout": int(p.get("Timeout", 3)),
            "MemorySize": int(p.get("MemorySize", 128)), "Environment": {"Variables": environment},
        }
        if p.get("Layers"):
            kwargs["Layers"] = p["Layers"]
        if p.get("Architectures"):
            kwargs["Architectures"] = p["Architectures"]
        if "TracingConfig" in p:
            kwargs["TracingConfig"] = p["TracingConfig"]
        if "Description" in p:
            kwargs["Description"] = p["Description"]
        arn = self.client("lambda").create_function(**kwargs)["FunctionArn"]
        code_dir = stack.translated.code_paths.get(lid)
        if code_dir is None:
            raise TemplateError(f"{lid}: the local cloud runs only functions whose CodeUri is a local path")
        layer_dirs = [r_dir for layer_arn in p.get("Layers", [])
                      for r_id, r in stack.resources.items()
                      if r.ref == layer_arn and (r_dir := stack.translated.code_paths.get(r_id)) is not None]
        stack.functions[name] = FunctionSpec(
            logical_id=lid, name=name, arn=arn, code_dir=code_dir, handler=p["Handler"],
            environment=environment, layer_dirs=layer_dirs, timeout=kwargs["Timeout"],
            memory=kwargs["MemorySize"])
        return Created(lid, "AWS::Lambda::Function", name, {"Arn": arn})

    def _create_AWS_Lambda_Permission(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        kwargs = {"FunctionName": p["FunctionName"], "StatementId": lid[:100], "Action": p["Action"],
                  "Principal": p["Principal"]}
        if "SourceArn" in p:
            kwargs["SourceArn"] = p["SourceArn"]
        self.client("lambda").add_permission(**kwargs)
        return Created(lid, "AWS::Lambda::Permission", lid)

    def _create_AWS_Lambda_EventSourceMapping(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        mapping = self.client("lambda").create_event_source_mapping(**p)
        return Created(lid, "AWS::Lambda::EventSourceMapping", mapping["UUID"], {"Id": mapping["UUID"]})

    # ------------------------------------------------------------------ Step Functions, Scheduler
    def _create_AWS_StepFunctions_StateMachine(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        name = p.get("StateMachineName") or self._name(stack, lid, 80)
        definition = p.get("DefinitionString") or json.dumps(p["Definition"])
        for key, value in p.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        kwargs: dict[str, Any] = {"name": name, "definition": definition, "roleArn": p["RoleArn"],
                                  "type": p.get("StateMachineType", "STANDARD")}
        if "LoggingConfiguration" in p:
            kwargs["loggingConfiguration"] = _lower_first_keys(p["LoggingConfiguration"])
        if "TracingConfiguration" in p:
            kwargs["tracingConfiguration"] = _lower_first_keys(p["TracingConfiguration"])
        arn = self.client("stepfunctions").create_state_machine(**kwargs)["stateMachineArn"]
        return Created(lid, "AWS::StepFunctions::StateMachine", arn, {"Arn": arn, "Name": name})

    def _create_AWS_Scheduler_Schedule(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        name = p.get("Name") or self._name(stack, lid)
        kwargs = {k: v for k, v in p.items() if k != "Name"}
        arn = self.client("scheduler").create_schedule(Name=name, **kwargs)["ScheduleArn"]
        return Created(lid, "AWS::Scheduler::Schedule", name, {"Arn": arn})

    # ------------------------------------------------------------------ API Gateway
    def _create_AWS_ApiGateway_RestApi(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        apigw = self.client("apigateway")
        api = apigw.create_rest_api(
            name=p.get("Name") or self._name(stack, lid), binaryMediaTypes=p.get("BinaryMediaTypes", []),
            endpointConfiguration={"types": p.get("EndpointConfiguration", {}).get("Types", ["REGIONAL"])})
        api_id = api["id"]
        # moto imports OpenAPI 3 only; SAM writes swagger 2, so its routes are put one by one.
        resource_ids = {"/": api["rootResourceId"]}
        for path, methods in sorted(p.get("Body", {}).get("paths", {}).items()):
            parent = "/"
            for part in path.strip("/").split("/"):
                current = parent.rstrip("/") + "/" + part
                if current not in resource_ids:
                    resource_ids[current] = apigw.create_resource(restApiId=api_id, parentId=resource_ids[parent],
                                                                  pathPart=part)["id"]
                parent = current
            for method, operation in methods.items():
                http_method = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                secured = any(name != "NONE" for entry in operation.get("security", []) for name in entry)
                apigw.put_method(restApiId=api_id, resourceId=resource_ids[parent], httpMethod=http_method,
                                 authorizationType="CUSTOM" if secured else "NONE")
                integration = operation.get("x-amazon-apigateway-integration", {})
                kind = {"aws_proxy": "AWS_PROXY", "mock": "MOCK"}.get(integration.get("type", ""), "MOCK")
                kwargs: dict[str, Any] = {"restApiId": api_id, "resourceId": resource_ids[parent],
                                          "httpMethod": http_method, "type": kind}
                if kind == "AWS_PROXY":
                    kwargs |= {"uri": integration["uri"], "integrationHttpMethod": "POST"}
                apigw.put_integration(**kwargs)
        return Created(lid, "AWS::ApiGateway::RestApi", api_id, {"RootResourceId": api["rootResourceId"]})

    def _create_AWS_ApiGateway_Account(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        self.client("apigateway").update_account(patchOperations=[
            {"op": "replace", "path": "/cloudwatchRoleArn", "value": p["CloudWatchRoleArn"]}])
        return Created(lid, "AWS::ApiGateway::Account", f"{stack.name}-{lid}")

    def _create_AWS_ApiGateway_Deployment(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        deployment = self.client("apigateway").create_deployment(restApiId=p["RestApiId"],
                                                                 description=p.get("Description", ""))
        return Created(lid, "AWS::ApiGateway::Deployment", deployment["id"])

    def _create_AWS_ApiGateway_Stage(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        self.client("apigateway").create_stage(restApiId=p["RestApiId"], stageName=p["StageName"],
                                               deploymentId=p["DeploymentId"],
                                               tracingEnabled=bool(p.get("TracingEnabled", False)))
        return Created(lid, "AWS::ApiGateway::Stage", p["StageName"])

    def _create_AWS_ApiGateway_UsagePlan(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        kwargs: dict[str, Any] = {"name": p.get("UsagePlanName") or self._name(stack, lid),
                                  "description": p.get("Description", ""),
                                  "apiStages": [{"apiId": stage["ApiId"], "stage": stage["Stage"]}
                                                for stage in p.get("ApiStages", [])]}
        if "Throttle" in p:
            kwargs["throttle"] = {"rateLimit": float(p["Throttle"]["RateLimit"]),
                                  "burstLimit": int(p["Throttle"]["BurstLimit"])}
        if "Quota" in p:
            kwargs["quota"] = {"limit": int(p["Quota"]["Limit"]), "period": p["Quota"]["Period"]}
        plan = self.client("apigateway").create_usage_plan(**kwargs)
        return Created(lid, "AWS::ApiGateway::UsagePlan", plan["id"])

    def _create_AWS_ApiGateway_GatewayResponse(self, stack: Stack, lid: str, p: dict[str, Any]) -> Created:
        kwargs: dict[str, Any] = {"restApiId": p["RestApiId"], "responseType": p["ResponseType"],
                                  "responseParameters": p.get("ResponseParameters", {}),
                                  "responseTemplates": p.get("ResponseTemplates", {})}
        if "StatusCode" in p:
            kwargs["statusCode"] = str(p["StatusCode"])
        self.client("apigateway").put_gateway_response(**kwargs)
        return Created(lid, "AWS::ApiGateway::GatewayResponse", lid)


def _lower_first_keys(value: Any) -> Any:
    """CloudFormation spells Step Functions settings in PascalCase; the API in camelCase."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _lower_first_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_first_keys(v) for v in value]
    return value
