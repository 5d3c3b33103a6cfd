"""What the API front's unit tests share: a small REST API's paths, and the front built for it."""

from __future__ import annotations

from typing import Any

from localcloud.apifront import RestApi
from localcloud.provision import Created, Stack

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:{}"


def operation(function: str) -> dict[str, Any]:
    """A swagger operation integrated with a Lambda function by proxy, as SAM writes it."""
    uri = (f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION.format(function)}"
           "/invocations")
    return {"x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": uri}}


PATHS: dict[str, dict[str, Any]] = {
    "/v1/{proxy+}": {"x-amazon-apigateway-any-method": operation("catch_all")},
    "/v1/tenants/{tenant_id}": {"get": operation("tenant"), "patch": operation("tenant")},
    "/v1/tenants/me": {"get": operation("me")},
    "/v1/tenants/{tenant_id}/members": {"get": operation("members")},
    "/v1/files/{any+}": {"get": operation("files")},
    "/v1/files/{file_id}": {"get": operation("file")},
    "/v1/health": {"get": operation("health")},
}


def rest_api(paths: dict[str, dict[str, Any]]) -> RestApi:
    """A RestApi built by its own constructor from a minimal stack holding one swagger body."""
    resources = {
        "Api": Created("Api", "AWS::ApiGateway::RestApi", ref="abc123",
                       properties={"Body": {"swagger": "2.0", "paths": paths}}),
        "ApiStage": Created("ApiStage", "AWS::ApiGateway::Stage", ref="dev",
                            properties={"StageName": "dev", "RestApiId": "abc123"}),
    }
    stack = Stack(name="wrapper", region="us-east-1", translated=None, resources=resources)  # type: ignore[arg-type]
    return RestApi(stack)
