"""/v1/organizations: the tenant's tree of organization units, and which members are in which unit."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from tenants_wiring import settings, tenant_tables

from wrapper.api.tenant import current_actor
from wrapper.kernel.actor import Actor
from wrapper.kernel.pagination import MAX_LIMIT, Page
from wrapper.tenancy.organizations import (
    ORG_ID_PATTERN,
    NewOrganization,
    Organization,
    OrganizationMember,
    Organizations,
    OrganizationUpdate,
)

router = APIGatewayRouter()
ORGANIZATIONS = ["organizations"]

OrgId = Annotated[str, Path(min_length=26, max_length=26, pattern=ORG_ID_PATTERN)]
UserId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _organizations(actor: Actor) -> Organizations:
    return Organizations(tenant_tables.for_tenant(actor.tenant), outbox_ttl_days=settings.outbox_ttl_days)


@router.get("/v1/organizations", summary="The tenant's organization units, a page at a time",
            tags=ORGANIZATIONS, responses={200: {"description": "A page of units, oldest first"},
                                               403: {"description": "Missing permission organizations:read"}})
def list_organizations(limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
                       cursor: Annotated[str | None, Query(max_length=2048)] = None) -> Page[Organization]:
    actor = current_actor(router)
    return _organizations(actor).page(actor, limit=limit, cursor=cursor)


@router.post("/v1/organizations", summary="Create an organization unit, as a root or under a parent",
             tags=ORGANIZATIONS,
             responses={201: {"description": "Created"},
                        403: {"description": "Missing permission organizations:write"},
                        409: {"description": "1000 units already, or the tree changed meanwhile; retry"},
                        422: {"description": "No such parent, or deeper than 10 levels"}})
def create_organization(body: Annotated[NewOrganization, Body()]) -> Response[Organization]:
    actor = current_actor(router)
    unit = _organizations(actor).create(actor, body)
    return Response(status_code=201, content_type="application/json", body=unit)


@router.patch("/v1/organizations/<org_id>", summary="Rename a unit, or move it (parent_id null: to the top)",
              tags=ORGANIZATIONS,
              responses={200: {"description": "Changed"},
                         403: {"description": "Missing permission organizations:write"},
                         404: {"description": "No such unit in this tenant"},
                         409: {"description": "Moving under itself or its own units, or changed meanwhile"},
                         422: {"description": "No such parent, or deeper than 10 levels"}})
def change_organization(org_id: OrgId, body: Annotated[OrganizationUpdate, Body()]) -> Organization:
    actor = current_actor(router)
    return _organizations(actor).update(actor, org_id, body)


@router.delete("/v1/organizations/<org_id>", summary="Delete a unit with no units under it and no members",
               tags=ORGANIZATIONS,
               responses={204: {"description": "Deleted"},
                          403: {"description": "Missing permission organizations:write"},
                          404: {"description": "No such unit in this tenant"},
                          409: {"description": "It has units under it or members, or changed meanwhile"}})
def delete_organization(org_id: OrgId) -> Response[None]:
    actor = current_actor(router)
    _organizations(actor).delete(actor, org_id)
    return Response(status_code=204)


@router.put("/v1/organizations/<org_id>/members/<user_id>", summary="Put a member in a unit (idempotent)",
            tags=ORGANIZATIONS,
            responses={200: {"description": "In the unit (already, or now)"},
                       403: {"description": "Missing permission organizations:write"},
                       404: {"description": "No such unit, or no such member, in this tenant"},
                       409: {"description": "The member is in 20 units already"}})
def assign_organization_member(org_id: OrgId, user_id: UserId) -> OrganizationMember:
    actor = current_actor(router)
    return _organizations(actor).assign(actor, org_id, user_id)


@router.delete("/v1/organizations/<org_id>/members/<user_id>", summary="Take a member out of a unit",
               tags=ORGANIZATIONS,
               responses={204: {"description": "Taken out"},
                          403: {"description": "Missing permission organizations:write"},
                          404: {"description": "The member is not in that unit"}})
def unassign_organization_member(org_id: OrgId, user_id: UserId) -> Response[None]:
    actor = current_actor(router)
    _organizations(actor).unassign(actor, org_id, user_id)
    return Response(status_code=204)
