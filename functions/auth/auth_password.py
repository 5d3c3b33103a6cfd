"""POST /v1/auth/password/forgot and /reset: public; the emailed token is the credential."""

from typing import Annotated

from auth_wiring import identity, settings
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from wrapper import aws
from wrapper.api.app import request_meta_of
from wrapper.identity.models import Accepted, ForgotPasswordRequest, ResetPasswordRequest
from wrapper.notifications import SesNotifier

router = APIGatewayRouter()
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
    identity.reset_password(body, request_meta=request_meta_of(router))
    return Response(status_code=204)
