"""POST /v1/auth/signup, /login, /refresh, /logout (public, no authorizer); password reset,
accepting invites and API keys come from their routers."""

from typing import Annotated, Any

import auth_api_keys
import auth_invites
import auth_password
from auth_wiring import identity, settings
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper import aws
from wrapper.api.app import build_app, request_meta_of
from wrapper.identity.models import (
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RefreshResponse,
    SessionResponse,
    SignupRequest,
    SignupResponse,
)

logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES)
metrics = Metrics()
app = build_app(logger, cors_allow_origin=settings.cors_allow_origin)
AUTH = ["auth"]
for router in (auth_password.router, auth_invites.router, auth_api_keys.router):
    app.include_router(router)


@app.post("/v1/auth/signup", summary="Create a tenant and its owner, and sign in", tags=AUTH,
          responses={201: {"description": "Signed up"}, 409: {"description": "The email is taken"}})
def signup(body: Annotated[SignupRequest, Body()]) -> Response[SignupResponse]:
    session = identity.signup(body, request_meta=request_meta_of(app))
    return Response(status_code=201, content_type="application/json", body=session)


@app.post("/v1/auth/login", summary="Sign in with email and password", tags=AUTH,
          responses={200: {"description": "Signed in"}, 401: {"description": "Wrong email or password"},
                     429: {"description": "Too many failed sign-ins"}})
def login(body: Annotated[LoginRequest, Body()]) -> SessionResponse:
    return identity.login(body, request_meta=request_meta_of(app))


@app.post("/v1/auth/refresh", summary="Trade a refresh token for a new access token", tags=AUTH)
def refresh(body: Annotated[RefreshRequest, Body()]) -> RefreshResponse:
    return identity.refresh(body)


@app.post("/v1/auth/logout", summary="Revoke a refresh token", tags=AUTH,
          responses={204: {"description": "Revoked"}})
def logout(body: Annotated[LogoutRequest, Body()]) -> Response[None]:
    identity.logout(body)
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
