"""POST /v1/auth/password/forgot and /reset: public; the emailed token is the credential."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from wrapper import aws
from wrapper.api.app import request_id_of, source_ip_of
from wrapper.identity.cognito import CognitoIdentityProvider
from wrapper.identity.models import Accepted, ForgotPasswordRequest, ResetPasswordRequest
from wrapper.identity.service import IdentityService
from wrapper.identity.store import IdentityStore
from wrapper.notifications import SesNotifier
from wrapper.settings import Settings
from wrapper.store.table import table_for

router = APIGatewayRouter()
settings = Settings()
identity = IdentityService(
    idp=CognitoIdentityProvider(aws.client_for(settings, "cognito-idp"), user_pool_id=settings.user_pool_id,
                                client_id=settings.user_pool_client_id),
    store=IdentityStore(table_for(settings), outbox_ttl_days=settings.outbox_ttl_days),
)
notifier = SesNotifier(aws.client_for(settings, "sesv2"), sender=settings.email_sender)
AUTH = ["auth"]


@router.post("/v1/auth/password/forgot", summary="Email a one-time password-reset token", tags=AUTH,
             responses={202: {"description": "Accepted, whether or not the email has an account"}})
def forgot_password(body: Annotated[ForgotPasswordRequest, Body()]) -> Response[Accepted]:
    identity.forgot_password(body, notifier=notifier, app_url=settings.app_url)
    return Response(status_code=202, content_type="application/json", body=Accepted())


@router.post("/v1/auth/password/reset", summary="Set a new password with an emailed token", tags=AUTH,
             responses={204: {"description": "Password changed; every earlier session is signed out"},
                        404: {"description": "The token is invalid, expired or already used"}})
def reset_password(body: Annotated[ResetPasswordRequest, Body()]) -> Response[None]:
    identity.reset_password(body, request_id=request_id_of(router), source_ip=source_ip_of(router))
    return Response(status_code=204)
