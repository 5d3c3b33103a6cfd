"""POST /v1/invites (invite someone by email with a role) and GET /v1/invites (pending ones).
Accepting an invite is public and lives in the auth function."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from tenants_wiring import settings, table, tenant_tables

from wrapper import aws
from wrapper.api.tenant import current_actor
from wrapper.kernel.pagination import MAX_LIMIT, Page
from wrapper.notifications import SesNotifier
from wrapper.tenancy.invites import Invite, InviteRequest, Invites
from wrapper.tenancy.roles import Roles

router = APIGatewayRouter()
invites = Invites(table, outbox_ttl_days=settings.outbox_ttl_days)
roles = Roles(table, outbox_ttl_days=settings.outbox_ttl_days)
notifier = SesNotifier(aws.client_for(settings, "sesv2"), sender=settings.email_sender)
INVITES = ["members"]


@router.post("/v1/invites", summary="Invite someone by email, with a role", tags=INVITES,
             responses={201: {"description": "Invited; the token is emailed, never returned"},
                        403: {"description": "Missing members:write, or granting more than you hold"},
                        409: {"description": "Already a member"}, 422: {"description": "Unknown role"}})
def create_invite(body: Annotated[InviteRequest, Body()]) -> Response[Invite]:
    invite = invites.create(current_actor(router), body, custom_roles=roles, notifier=notifier,
                            app_url=settings.app_url)
    return Response(status_code=201, content_type="application/json", body=invite)


@router.get("/v1/invites", summary="Pending invites, a page at a time", tags=INVITES)
def list_invites(limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
                 cursor: Annotated[str | None, Query(max_length=2048)] = None) -> Page[Invite]:
    actor = current_actor(router)
    return Invites(tenant_tables.for_tenant(actor.tenant), outbox_ttl_days=settings.outbox_ttl_days).page(
        actor, limit=limit, cursor=cursor)
