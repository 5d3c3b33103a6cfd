"""The one place HTTP meets the domain: resolver factory, error mapping, request ids and metadata."""

from __future__ import annotations

import re
from typing import Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from wrapper.api.problem import problem_response
from wrapper.kernel.errors import DomainError, LimitExceeded
from wrapper.kernel.request_meta import RequestMeta

REQUEST_ID_HEADER = "X-Request-Id"
# A caller's request id is echoed into logs and headers, so only a safe shape is taken.
_REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def request_id_of(app: BaseRouter) -> str:
    """The caller's X-Request-Id when it has a safe shape, else API Gateway's request id."""
    event = cast(APIGatewayProxyEvent, app.current_event)
    offered = event.headers.get(REQUEST_ID_HEADER) if event.headers else None
    if offered and _REQUEST_ID_SHAPE.fullmatch(offered):
        return offered
    return str(event.request_context.request_id or "")


def idempotency_key_of(app: BaseRouter) -> str | None:
    """The caller's Idempotency-Key header, if sent (its shape is checked where it is used)."""
    headers = app.current_event.headers or {}
    return next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)


def request_meta_of(app: BaseRouter) -> RequestMeta:
    """The request's id (``request_id_of``) and the caller's address, as API Gateway saw it."""
    source_ip: str | None = cast(APIGatewayProxyEvent, app.current_event).request_context.identity.source_ip
    return RequestMeta(request_id=request_id_of(app), source_ip=source_ip)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part != "body" or len(err.get("loc", ())) == 1]
        errors.append({"field": ".".join(loc) or "body", "message": str(err.get("msg", "invalid"))})
    return errors


def build_app(logger: Logger, *, cors_allow_origin: str = "*") -> APIGatewayRestResolver:
    """A resolver with Wrapper's conventions; functions add their routers to it."""
    app = APIGatewayRestResolver(
        enable_validation=True,
        # A response that breaks its own schema is our bug: 500, never a 4xx blamed on the caller.
        response_validation_error_http_code=500,
        cors=CORSConfig(
            allow_origin=cors_allow_origin,
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Api-Key", "X-Tenant-Id",
                           REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After", "RateLimit-Limit", "RateLimit-Remaining",
                            "RateLimit-Reset"],
            max_age=600,
        ),
    )

    def correlate(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        request_id = request_id_of(app)
        logger.set_correlation_id(request_id)
        # A warm function serves many tenants: never let one request's tenant label the next.
        logger.remove_keys(["tenant_id"])
        response = next_middleware(app)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    app.use(middlewares=[correlate])

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response:
        errors = _field_errors(exc)
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            return _with_request_id(app, problem_response(
                400, "Bad Request", "The request body is not valid JSON.", type_slug="malformed-json"))
        return _with_request_id(app, problem_response(
            422, "Unprocessable Content", "The request does not match the schema.",
            type_slug="validation-error", errors=errors))

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_media_type(exc: RequestUnsupportedContentType) -> Response:
        return _with_request_id(app, problem_response(
            415, "Unsupported Media Type", "Send the request body as application/json.",
            type_slug="unsupported-media-type"))

    @app.exception_handler(DomainError)
    def domain_error(exc: DomainError) -> Response:
        headers = {}
        if isinstance(exc, LimitExceeded):
            headers.update(exc.headers)
            headers["Retry-After"] = str(exc.retry_after_seconds)
        return _with_request_id(app, problem_response(
            exc.status, exc.title, exc.detail, type_slug=exc.type_slug, errors=exc.errors, headers=headers))

    @app.not_found
    def not_found(exc: NotFoundError) -> Response:
        return _with_request_id(app, problem_response(
            404, "Not Found", f"No route for {app.current_event.http_method} {app.current_event.path}.",
            type_slug="not-found"))

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return _with_request_id(app, problem_response(
            500, "Internal Server Error", "Something went wrong on our side; it has been logged.",
            type_slug="internal"))

    return app


def _with_request_id(app: APIGatewayRestResolver, response: Response) -> Response:
    # Exception handlers answer outside the middleware chain, so they stamp the id themselves.
    response.headers[REQUEST_ID_HEADER] = request_id_of(app)
    return response
