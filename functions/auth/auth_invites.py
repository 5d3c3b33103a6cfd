"""POST /v1/invites/{token}/accept: public; the emailed token is the credential."""

from typing import Annotated

from auth_wiring import idp, settings, table
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from wrapper.api.app import request_meta_of
from wrapper.identity.models import SessionResponse
from wrapper.tenancy.invites import AcceptInvite, Invites
from wrapper.tenancy.roles import Roles

router = APIGatewayRouter()
invites = Invites(table, outbox_ttl_days=settings.outbox_ttl_days)
roles = Roles(table, outbox_ttl_days=settings.outbox_ttl_days)

InviteToken = Annotated[str, Path(min_length=20, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


@router.post("/v1/invites/<token>/accept", summary="Accept an invite (signing up if new)", tags=["members"],
             responses={200: {"description": "Joined; signed in to the tenant"},
                        401: {"description": "The email has an account and the password is wrong"},
                        404: {"description": "No such invite, or it expired or was used"},
                        409: {"description": "Already a member, or the tenant or role changed"}})
def accept_invite(token: InviteToken, body: Annotated[AcceptInvite, Body()]) -> SessionResponse:
    return invites.accept(token, body, idp=idp, role_holder_ops=roles.gain_ops,
                          request_meta=request_meta_of(router))
