"""The tenant's subscription (/v1/subscriptions…); entitlements, Checkout and the portal come from
subscriptions_billing. Every route acts for the caller's tenant."""

import json
from typing import Annotated, Any

import subscriptions_billing
import subscriptions_credits
import subscriptions_invoices
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from subscriptions_wiring import once_per_key, settings, subscriptions, table

from wrapper import aws
from wrapper.api.app import REQUEST_ID_HEADER, build_app, request_id_of
from wrapper.api.problem import PROBLEM_CONTENT_TYPE, problem_body
from wrapper.api.ratelimit import DynamoRequestCounter
from wrapper.api.tenant import current_actor, tenant_middleware
from wrapper.kernel.actor import Actor
from wrapper.kernel.pagination import MAX_LIMIT, Page
from wrapper.payments.collection import PaymentRequired
from wrapper.subscriptions.models import (
    CancelRequest,
    ChangePreview,
    ChangeRequest,
    SubscribeRequest,
    Subscription,
    SubscriptionChange,
)
from wrapper.tenancy.roles import Roles

logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES_WITH_STRIPE)
metrics = Metrics()
app = build_app(logger, cors_allow_origin=settings.cors_allow_origin)
SUBSCRIPTIONS = ["subscriptions"]
PAYMENT_REQUIRED: OpenAPIResponse = {
    "description": "The saved card could not pay: pay at checkout_url and the change applies"}

app.use(middlewares=[tenant_middleware(logger, DynamoRequestCounter(table),
                                       custom_roles=Roles(table, outbox_ttl_days=settings.outbox_ttl_days))])
app.include_router(subscriptions_billing.router)
app.include_router(subscriptions_credits.router)
app.include_router(subscriptions_invoices.router)


@app.exception_handler(PaymentRequired)
def payment_required(exc: PaymentRequired) -> Response:
    body = {**problem_body(exc.status, exc.title, exc.detail, type_slug=exc.type_slug), **exc.extensions()}
    return Response(status_code=exc.status, content_type=PROBLEM_CONTENT_TYPE, body=json.dumps(body),
                    headers={REQUEST_ID_HEADER: request_id_of(app)})


def _actor() -> Actor:
    return current_actor(app)


@app.get("/v1/subscriptions", summary="The tenant's subscription history, newest first", tags=SUBSCRIPTIONS,
         responses={200: {"description": "A snapshot per change"},
                    403: {"description": "Missing permission billing:read"}})
def list_subscriptions(limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
                       cursor: Annotated[str | None, Query(max_length=2048)] = None) -> Page[Subscription]:
    return subscriptions.history(_actor(), limit=limit, cursor=cursor)


@app.post("/v1/subscriptions", summary="Subscribe to a plan (trial, coupon, add-ons, seats)", tags=SUBSCRIPTIONS,
          responses={201: {"description": "Subscribed; the first period is paid (or the trial started)"},
                     402: PAYMENT_REQUIRED,
                     403: {"description": "Missing permission billing:write"},
                     409: {"description": "Already on a paid plan, or changed meanwhile"},
                     422: {"description": "Unknown plan, price, add-on or coupon, or a bad body"},
                     503: {"description": "The payment provider is unavailable"}})
def subscribe(body: Annotated[SubscribeRequest, Body()]) -> Response[SubscriptionChange]:
    actor = _actor()
    change = once_per_key(app, actor, "subscribe", body, lambda: subscriptions.subscribe(actor, body),
                          SubscriptionChange)
    return Response(status_code=201, content_type="application/json", body=change)


@app.get("/v1/subscriptions/current", summary="The tenant's current subscription", tags=SUBSCRIPTIONS,
         responses={200: {"description": "The subscription (the default plan's, on first access)"},
                    403: {"description": "Missing permission billing:read"},
                    404: {"description": "No subscription, and the catalog has no default plan yet"}})
def get_current() -> Subscription:
    return subscriptions.current(_actor())


@app.patch("/v1/subscriptions/current", summary="Change plan, interval or seats", tags=SUBSCRIPTIONS,
           responses={200: {"description": "Changed now (upgrades are charged) or scheduled for the period end"},
                      402: PAYMENT_REQUIRED,
                      403: {"description": "Missing permission billing:write"},
                      409: {"description": "Changed meanwhile; retry"},
                      422: {"description": "Unknown plan or no price for that interval, or a bad body"},
                      503: {"description": "The payment provider is unavailable"}})
def change_subscription(body: Annotated[ChangeRequest, Body()]) -> SubscriptionChange:
    actor = _actor()
    return once_per_key(app, actor, "change", body, lambda: subscriptions.change(actor, body), SubscriptionChange)


@app.post("/v1/subscriptions/current/preview", summary="What a change would bill now, changing nothing",
          tags=SUBSCRIPTIONS,
          responses={200: {"description": "The lines and the amount due now"},
                     403: {"description": "Missing permission billing:read"},
                     422: {"description": "Unknown plan or no price for that interval, or a bad body"}})
def preview_change(body: Annotated[ChangeRequest, Body()]) -> ChangePreview:
    return subscriptions.preview(_actor(), body)


@app.post("/v1/subscriptions/current/cancel", summary="Cancel now or at the period end", tags=SUBSCRIPTIONS,
          responses={200: {"description": "The current subscription afterwards"},
                     403: {"description": "Missing permission billing:write"},
                     409: {"description": "On the default plan (nothing to cancel), or changed meanwhile"}})
def cancel_subscription(body: Annotated[CancelRequest, Body()]) -> Subscription:
    return subscriptions.cancel(_actor(), body)


@app.post("/v1/subscriptions/current/resume", summary="Undo a cancel at the period end", tags=SUBSCRIPTIONS,
          responses={200: {"description": "The subscription, renewing again"},
                     403: {"description": "Missing permission billing:write"},
                     409: {"description": "Not set to cancel, or changed meanwhile"}})
def resume_subscription() -> Subscription:
    return subscriptions.resume(_actor())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
