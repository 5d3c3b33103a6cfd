"""/v1/roles: the built-in roles and the tenant's custom ones; create, change, delete custom roles."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from tenants_wiring import settings, tenant_tables

from wrapper.api.tenant import current_actor
from wrapper.kernel.actor import Actor
from wrapper.kernel.pagination import Page
from wrapper.tenancy.roles import ROLE_NAME_PATTERN, NewRole, Roles, RoleUpdate, RoleView

router = APIGatewayRouter()
ROLES = ["roles"]

RoleName = Annotated[str, Path(min_length=2, max_length=32, pattern=ROLE_NAME_PATTERN)]


def _roles(actor: Actor) -> Roles:
    return Roles(tenant_tables.for_tenant(actor.tenant), outbox_ttl_days=settings.outbox_ttl_days)


@router.get("/v1/roles", summary="Built-in roles, then the tenant's custom roles", tags=ROLES,
            responses={200: {"description": "Built-in roles first"},
                       403: {"description": "Missing permission roles:read"}})
def list_roles() -> Page[RoleView]:
    actor = current_actor(router)
    return _roles(actor).page(actor)


@router.post("/v1/roles", summary="Create a custom role", tags=ROLES,
             responses={201: {"description": "Created"},
                        403: {"description": "Missing roles:write, or granting more than you hold"},
                        409: {"description": "The name is taken, or the tenant has 50 custom roles"},
                        422: {"description": "Bad name, built-in name, unknown or owner-only permission"}})
def create_role(body: Annotated[NewRole, Body()]) -> Response[RoleView]:
    actor = current_actor(router)
    role = _roles(actor).create(actor, body)
    return Response(status_code=201, content_type="application/json", body=role)


@router.patch("/v1/roles/<role_name>", summary="Change a custom role's permissions or description", tags=ROLES,
              responses={200: {"description": "Changed"},
                         403: {"description": "Missing roles:write, or the role holds more than you hold"},
                         404: {"description": "No such custom role in this tenant"},
                         409: {"description": "Changed meanwhile; retry"},
                         422: {"description": "A built-in role, or an unknown or owner-only permission"}})
def change_role(role_name: RoleName, body: Annotated[RoleUpdate, Body()]) -> RoleView:
    actor = current_actor(router)
    return _roles(actor).update(actor, role_name, body)


@router.delete("/v1/roles/<role_name>", summary="Delete a custom role nobody holds", tags=ROLES,
               responses={204: {"description": "Deleted"},
                          403: {"description": "Missing roles:write, or the role holds more than you hold"},
                          404: {"description": "No such custom role in this tenant"},
                          409: {"description": "Members still hold the role"},
                          422: {"description": "A built-in role"}})
def delete_role(role_name: RoleName) -> Response[None]:
    actor = current_actor(router)
    _roles(actor).delete(actor, role_name)
    return Response(status_code=204)
