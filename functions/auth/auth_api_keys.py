"""POST /v1/api-keys, GET /v1/api-keys and DELETE /v1/api-keys/{key_id}: a tenant's API keys.

The auth function's other routes are public, so the tenant context (actor, logger label, rate
limit) is a per-route middleware here, not an app-wide one. POST takes no Idempotency-Key: the
key is shown only once (see ``wrapper.identity.apikeys``).
"""

from typing import Annotated

from auth_wiring import settings, table
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from wrapper.api.ratelimit import DynamoRequestCounter
from wrapper.api.tenant import current_actor, tenant_middleware
from wrapper.identity.apikeys import KEY_ID_PATTERN, ApiKey, ApiKeyRequest, ApiKeys, CreatedApiKey
from wrapper.kernel.pagination import MAX_LIMIT, Page
from wrapper.tenancy.roles import Roles

router = APIGatewayRouter()
# The function's own table, not tenant-scoped credentials: a key's lookup item is a PLATFORM# one.
api_keys = ApiKeys(table, outbox_ttl_days=settings.outbox_ttl_days)
# The service name comes from the environment, so this is the same logger as app.py's.
tenant_request = [tenant_middleware(Logger(), DynamoRequestCounter(table),
                                   custom_roles=Roles(table, outbox_ttl_days=settings.outbox_ttl_days))]
API_KEYS = ["api-keys"]
DENIED: dict[int, OpenAPIResponse] = {401: {"description": "Missing or invalid credentials"},
          403: {"description": "Not a member of that tenant, or missing permission"},
          429: {"description": "Too many requests for this tenant"}}

KeyId = Annotated[str, Path(min_length=26, max_length=26, pattern=KEY_ID_PATTERN)]


@router.post("/v1/api-keys", summary="Create an API key (the key is shown only in this answer)", tags=API_KEYS,
             middlewares=tenant_request,
             responses={201: {"description": "Created; store the key now, it is never shown again"}, **DENIED,
                        422: {"description": "Unknown or repeated scope, or an expiry in the past"}})
def create_api_key(body: Annotated[ApiKeyRequest, Body()]) -> Response[CreatedApiKey]:
    created = api_keys.create(current_actor(router), body)
    return Response(status_code=201, content_type="application/json", body=created)


@router.get("/v1/api-keys", summary="The tenant's API keys, a page at a time (never the keys themselves)",
            tags=API_KEYS, middlewares=tenant_request,
            responses={200: {"description": "A page of keys, without secrets"}, **DENIED})
def list_api_keys(limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
                  cursor: Annotated[str | None, Query(max_length=2048)] = None) -> Page[ApiKey]:
    return api_keys.page(current_actor(router), limit=limit, cursor=cursor)


@router.delete("/v1/api-keys/<key_id>", summary="Revoke an API key (to rotate: create a new one, then revoke)",
               tags=API_KEYS, middlewares=tenant_request,
               responses={204: {"description": "Revoked"}, **DENIED,
                          404: {"description": "No such key in this tenant, or already revoked"}})
def revoke_api_key(key_id: KeyId) -> Response[None]:
    api_keys.revoke(current_actor(router), key_id)
    return Response(status_code=204)
