"""The caller's tenant and its members (/v1/tenant, /v1/members); invites, roles,
organizations and the audit log come from their routers. Every route acts for a tenant."""

from typing import Annotated, Any

import tenants_audit
import tenants_invites
import tenants_organizations
import tenants_roles
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from tenants_wiring import settings, table, tenant_tables

from wrapper import aws
from wrapper.api.app import build_app
from wrapper.api.ratelimit import DynamoRequestCounter
from wrapper.api.tenant import current_actor, tenant_middleware
from wrapper.kernel.actor import Actor
from wrapper.kernel.pagination import MAX_LIMIT, Page
from wrapper.kernel.permissions import Permission
from wrapper.tenancy.members import Member, Members, RoleChange
from wrapper.tenancy.profile import TenantProfile, TenantProfiles, TenantUpdate
from wrapper.tenancy.roles import Roles

logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES)
metrics = Metrics()
app = build_app(logger, cors_allow_origin=settings.cors_allow_origin)
members = Members(table, outbox_ttl_days=settings.outbox_ttl_days)
roles = Roles(table, outbox_ttl_days=settings.outbox_ttl_days)
TENANT = ["tenant"]
# How long a deleted tenant's data is kept (and can be restored by the operator).
TENANT_GRACE_DAYS = 30


app.use(middlewares=[tenant_middleware(logger, DynamoRequestCounter(table), custom_roles=roles)])
for router in (tenants_invites.router, tenants_roles.router, tenants_organizations.router, tenants_audit.router):
    app.include_router(router)


def _actor() -> Actor:
    return current_actor(app)


def _profiles(actor: Actor) -> TenantProfiles:
    return TenantProfiles(tenant_tables.for_tenant(actor.tenant), outbox_ttl_days=settings.outbox_ttl_days)


@app.get("/v1/tenant", summary="The tenant the request acts for", tags=TENANT,
         responses={200: {"description": "The tenant"}, 401: {"description": "Missing or invalid credentials"},
                    403: {"description": "Not a member of that tenant, or missing permission"}})
def get_tenant() -> TenantProfile:
    actor = _actor()
    actor.require(Permission.TENANT_READ)
    return _profiles(actor).get(actor.tenant)


@app.patch("/v1/tenant", summary="Change the tenant's name, timezone, billing email or settings", tags=TENANT,
           responses={200: {"description": "The tenant, changed"},
                      401: {"description": "Missing or invalid credentials"},
                      403: {"description": "Not a member of that tenant, or missing permission"},
                      409: {"description": "Changed meanwhile; retry"}})
def patch_tenant(body: Annotated[TenantUpdate, Body()]) -> TenantProfile:
    actor = _actor()
    return _profiles(actor).update(actor, body)


@app.delete("/v1/tenant", summary="Delete the tenant (owners only; kept for a grace period)", tags=TENANT,
            responses={200: {"description": "Deleted; kept until purge_after"},
                       403: {"description": "Only owners delete the tenant"},
                       409: {"description": "Changed meanwhile; retry"}})
def delete_tenant() -> TenantProfile:
    actor = _actor()
    return _profiles(actor).delete(actor, grace_days=TENANT_GRACE_DAYS)


UserId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@app.get("/v1/members", summary="The tenant's members, a page at a time", tags=["members"])
def list_members(limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
                 cursor: Annotated[str | None, Query(max_length=2048)] = None) -> Page[Member]:
    actor = _actor()
    return Members(tenant_tables.for_tenant(actor.tenant), outbox_ttl_days=settings.outbox_ttl_days).page(
        actor, limit=limit, cursor=cursor)


@app.patch("/v1/members/<user_id>", summary="Change a member's role", tags=["members"],
           responses={200: {"description": "The member, with the new role"},
                      403: {"description": "Missing permission, or granting more than you hold"},
                      404: {"description": "No such member in this tenant"},
                      409: {"description": "The last owner cannot be demoted, or the members changed meanwhile"},
                      422: {"description": "No such role in this tenant"}})
def change_member_role(user_id: UserId, body: Annotated[RoleChange, Body()]) -> Member:
    return members.change_role(_actor(), user_id, body)


@app.delete("/v1/members/<user_id>", summary="Remove a member, or leave the tenant", tags=["members"],
            responses={204: {"description": "Removed"}, 404: {"description": "No such member in this tenant"},
                       409: {"description": "The last owner cannot leave or be removed"}})
def remove_member(user_id: UserId) -> Response[None]:
    members.remove(_actor(), user_id)
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
