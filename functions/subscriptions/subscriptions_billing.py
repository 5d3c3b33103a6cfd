"""/v1/entitlements, /v1/billing/checkout and /v1/billing/portal."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from subscriptions_wiring import once_per_key, subscriptions

from wrapper.api.tenant import current_actor
from wrapper.subscriptions.models import CheckoutLink, CheckoutRequest, Entitlements, PortalLink

router = APIGatewayRouter()
BILLING = ["billing"]


@router.get("/v1/entitlements", summary="What the tenant may use now: its plan and add-ons, resolved",
            tags=["entitlements"],
            responses={200: {"description": "One item per feature"},
                       403: {"description": "Missing permission usage:read"},
                       404: {"description": "No subscription, and the catalog has no default plan yet"}})
def get_entitlements() -> Entitlements:
    return Entitlements(items=subscriptions.entitlements(current_actor(router)))


@router.post("/v1/billing/checkout", summary="A Checkout page to save a card (mode setup)", tags=BILLING,
             responses={201: {"description": "The Checkout Session: open its url in the browser"},
                        403: {"description": "Missing permission billing:write"},
                        409: {"description": "A request with this Idempotency-Key is still running"},
                        422: {"description": "Bad body, or an Idempotency-Key reused with another body"},
                        503: {"description": "The payment provider is unavailable"}})
def create_checkout(body: Annotated[CheckoutRequest, Body()]) -> Response[CheckoutLink]:
    actor = current_actor(router)
    link = once_per_key(router, actor, "checkout", body, lambda: subscriptions.checkout(actor, body), CheckoutLink)
    return Response(status_code=201, content_type="application/json", body=link)


@router.post("/v1/billing/portal", summary="A billing portal page to manage payment methods", tags=BILLING,
             responses={201: {"description": "The portal session: open its url in the browser"},
                        403: {"description": "Missing permission billing:write"},
                        503: {"description": "The payment provider is unavailable"}})
def create_portal() -> Response[PortalLink]:
    link = subscriptions.portal(current_actor(router))
    return Response(status_code=201, content_type="application/json", body=link)
