"""The platform operator: the identity that manages the platform (the catalog, later tenants and
billing runs) under ``/v1/admin/...``.

An operator is a user the authorizer marked ``platform_operator: "true"``
(``wrapper.identity.authorizer``). That flag is the only way in: no tenant role, however high,
makes someone an operator, and the flag gives nothing inside a tenant (tenant routes read only
the ``tenants`` of the context). API keys act for one tenant and are never operators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from wrapper.api.tenant import Middleware
from wrapper.identity.policy import PRINCIPAL_PREFIX
from wrapper.kernel.errors import PermissionDenied, Unauthorized

OPERATOR_FLAG = "platform_operator"


@dataclass(frozen=True)
class Operator:
    """The platform operator making the request."""

    user_id: str


def operator_from(authorizer: Mapping[str, Any] | None) -> Operator:
    if not authorizer or "user_id" not in authorizer:
        raise Unauthorized("Missing or invalid credentials.")
    principal = str(authorizer.get("principal", ""))
    if str(authorizer.get(OPERATOR_FLAG, "")).lower() != "true" or principal.startswith(PRINCIPAL_PREFIX):
        raise PermissionDenied("Only the platform operator may do this.")
    return Operator(user_id=str(authorizer["user_id"]))


def operator_middleware(logger: Logger) -> Middleware:
    """For operator routes (per route: a function may also serve public ones): 403 problem+json
    unless the caller is the platform operator; else the ``Operator`` goes into the context."""

    def admit_operator(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        request_context = app.current_event.get("requestContext") or {}
        operator = operator_from(request_context.get("authorizer"))
        app.append_context(operator=operator)
        logger.append_keys(operator_id=operator.user_id)
        try:
            return next_middleware(app)
        finally:
            # A warm function serves other callers next: never label their logs with this operator.
            logger.remove_keys(["operator_id"])

    return admit_operator


def current_operator(app: BaseRouter) -> Operator:
    """The operator ``operator_middleware`` admitted for this request (from the app or a router)."""
    operator: Operator = app.context["operator"]
    return operator
