"""The tenant middleware: resolve the request's actor (with the request's id and source IP on it),
admit it against its tenant's rate limit, and put ``RateLimit-*`` on the answer."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from wrapper.api.app import request_meta_of
from wrapper.api.ratelimit import Quota, RequestCounter, consume
from wrapper.kernel.actor import Actor, CustomRoles, actor_from
from wrapper.kernel.clock import EpochClock, epoch


def admit(actor: Actor, counter: RequestCounter, now: float) -> Quota:
    """Count the request against its tenant's limit (LimitExceeded past it)."""
    return consume(counter, actor.tenant.tenant_id, actor.plan_tier, now)


Middleware = Callable[[APIGatewayRestResolver, NextMiddleware], Response]


def tenant_middleware(logger: Logger, counter: RequestCounter, clock: EpochClock = epoch,
                      custom_roles: CustomRoles | None = None) -> Middleware:
    """For functions whose every route acts for a tenant: resolve the actor (carrying the request's
    metadata, which its changes' events take from it), label the logs, admit the request against the
    tenant's rate limit, and put RateLimit-* on the answer."""

    def admit_tenant_request(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        request_context = app.current_event.get("requestContext") or {}
        actor = actor_from(request_context.get("authorizer"), app.current_event.headers, custom_roles,
                           request_meta_of(app))
        logger.append_keys(tenant_id=actor.tenant.tenant_id)
        quota = admit(actor, counter, clock())
        app.append_context(actor=actor)
        response = next_middleware(app)
        response.headers.update(quota.headers())
        return response

    return admit_tenant_request


def current_actor(app: BaseRouter) -> Actor:
    """The actor ``tenant_middleware`` admitted for this request (from the app or a router)."""
    actor: Actor = app.context["actor"]
    return actor
