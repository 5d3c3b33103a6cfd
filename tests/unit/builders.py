"""Event builders for the unit suite: the exact shapes AWS hands our code, built by hand."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, cast

from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper.events.envelope import EventEnvelope
from wrapper.events.outbox import outbox_item
from wrapper.store.table import to_dynamo

REQUEST_ID = "c0ffee00-0000-4000-8000-000000000001"
REPO = Path(__file__).resolve().parents[2]


def envelope(tenant_id: str | None = "acme", *, event_type: str = "tenant.updated",
             data: dict[str, Any] | None = None) -> EventEnvelope:
    return EventEnvelope(type=event_type, tenant_id=tenant_id, data=data or {})


def stream_record(item: dict[str, Any], *, sequence_number: str, event_name: str = "INSERT") -> dict[str, Any]:
    """One record of a DynamoDB stream event (StreamViewType NEW_AND_OLD_IMAGES), as Lambda delivers it."""
    image = to_dynamo(item)
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1700000000,
        "Keys": {"PK": image["PK"], "SK": image["SK"]},
        "SequenceNumber": sequence_number,
        "SizeBytes": 256,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if event_name != "REMOVE":
        dynamodb["NewImage"] = image
    if event_name != "INSERT":
        dynamodb["OldImage"] = image
    return {
        "eventID": f"event-{sequence_number}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/wrapper/stream/2024-01-01T00:00:00.000",
    }


def outbox_record(sequence_number: str, *, tenant_id: str | None = "acme",
                  event_name: str = "INSERT") -> tuple[dict[str, Any], EventEnvelope]:
    """A stream record of an outbox item, and the envelope it carries."""
    event = envelope(tenant_id, data={"sequence": sequence_number})
    item = outbox_item(event, ttl_days=7, now=1_700_000_000)
    return stream_record(item, sequence_number=sequence_number, event_name=event_name), event


class _FakeLambdaContext:
    function_name = "wrapper-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:wrapper-test"
    memory_limit_in_mb = 128
    aws_request_id = "5b3c8a7e-0000-4000-8000-000000000002"
    log_group_name = "/aws/lambda/wrapper-test"
    log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def lambda_context() -> LambdaContext:
    """The attributes of the context object Lambda passes to a Python handler."""
    return cast(LambdaContext, _FakeLambdaContext())


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    request_id: str = REQUEST_ID,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event (payload format 1.0), trimmed to what a resolver reads."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    raw_body = body if body is None or isinstance(body, str) else json.dumps(body)
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abc123",
        "httpMethod": method,
        "path": f"/dev{path}",
        "requestId": request_id,
        "resourcePath": path,
        "stage": "dev",
        "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": raw_body,
        "isBase64Encoded": False,
    }


def response_headers(response: dict[str, Any]) -> dict[str, str]:
    """A proxy response's headers, whichever of the two header maps the resolver used, by lower-case name."""
    found = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        found[name.lower()] = ", ".join(values)
    return found


@cache
def table_definition() -> dict[str, Any]:
    """The table's key attributes, key schema and indexes, as template.yaml declares them."""
    from localcloud.template import load_yaml

    properties = load_yaml(REPO / "template.yaml")["Resources"]["Table"]["Properties"]
    return {name: properties[name] for name in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes")}


def wrapper_table(client: Any, name: str = "wrapper") -> Any:
    """The one table as template.yaml defines it, created in moto; answers a Table."""
    from wrapper.store.table import Table

    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **table_definition())
    return Table(client, name)


def fake_aws_environment(monkeypatch: Any, **extra: str) -> None:
    """What moto needs in the environment (fake credentials, the region), without the local
    cloud's endpoint override, plus ``extra`` variables (TABLE_NAME=..., for a handler)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", **extra}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
