"""The tenant middleware puts the request's metadata on the actor, and a service's event carries it
from there to the outbox (and so to the audit log)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from moto import mock_aws

from tests.unit.builders import REQUEST_ID, api_event, fake_aws_environment, lambda_context, wrapper_table
from wrapper.api.app import build_app
from wrapper.api.tenant import current_actor, tenant_middleware
from wrapper.identity.apikeys import ApiKeyRequest, ApiKeys
from wrapper.kernel.request_meta import RequestMeta
from wrapper.store.schema import OUTBOX_SK_PREFIX, tenant_pk
from wrapper.store.table import Table

SOURCE_IP = "203.0.113.7"  # the builder's requestContext.identity.sourceIp
AUTHORIZER = {"tenants": json.dumps({"acme": {"role": "owner", "status": "active", "tier": "free"}}),
              "default_tenant_id": "acme", "principal": "user:u-1", "user_id": "u-1"}


class Counter:
    def hit(self, tenant_id: str, window_start: int, *, expires_at: int) -> int:
        return 1


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        yield wrapper_table(boto3.client("dynamodb", region_name="us-east-1"))


@pytest.fixture
def app(table: Table) -> APIGatewayRestResolver:
    """A tenant function in small: the middleware, a route that shows the actor's metadata, and one
    that creates an API key."""
    logger = Logger(service=f"t-{uuid.uuid4().hex}", logger_handler=logging.StreamHandler())
    app = build_app(logger)
    app.use(middlewares=[tenant_middleware(logger, Counter())])
    keys = ApiKeys(table, outbox_ttl_days=1)

    @app.get("/v1/whoami")
    def whoami() -> dict[str, Any]:
        meta = current_actor(app).request_meta
        return {"request_id": meta.request_id, "source_ip": meta.source_ip}

    @app.post("/v1/api-keys")
    def create_key() -> dict[str, str]:
        created = keys.create(current_actor(app), ApiKeyRequest.model_validate({"name": "ci", "scopes": ["read"]}))
        return {"id": created.id}

    return app


def _call(app: APIGatewayRestResolver, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response: dict[str, Any] = app.resolve(api_event(method, path, authorizer=AUTHORIZER, **kwargs),
                                           lambda_context())
    assert response["statusCode"] in (200, 201), response
    body: dict[str, Any] = json.loads(response["body"])
    return body


def test_the_middleware_puts_the_request_id_and_source_ip_on_the_actor(app: APIGatewayRestResolver) -> None:
    # Given a request without X-Request-Id, When a route reads its actor
    seen = _call(app, "GET", "/v1/whoami")

    # Then the actor carries API Gateway's request id and the caller's address
    assert RequestMeta(**seen) == RequestMeta(request_id=REQUEST_ID, source_ip=SOURCE_IP)


def test_the_callers_request_id_is_the_one_the_actor_carries(app: APIGatewayRestResolver) -> None:
    # Given a request with an X-Request-Id of a safe shape, When a route reads its actor
    seen = _call(app, "GET", "/v1/whoami", headers={"X-Request-Id": "client-42"})

    # Then the actor carries the caller's id (the one echoed and logged), not API Gateway's
    assert RequestMeta(**seen) == RequestMeta(request_id="client-42", source_ip=SOURCE_IP)


def test_an_event_written_by_a_service_carries_the_actors_request_metadata(
        app: APIGatewayRestResolver, table: Table) -> None:
    # Given a tenant request, When a service makes a change for its actor
    created = _call(app, "POST", "/v1/api-keys", headers={"X-Request-Id": "client-43"})

    # Then the change's event names who, what, and the request it came from
    outbox, _ = table.query(tenant_pk("acme"), sk_prefix=OUTBOX_SK_PREFIX, limit=10)
    (event,) = [json.loads(item["envelope"]) for item in outbox]
    assert event["type"] == "api_key.created"
    assert {k: event["data"][k] for k in ("actor", "target", "request_id", "source_ip")} == {
        "actor": "u-1", "target": created["id"], "request_id": "client-43", "source_ip": SOURCE_IP}
