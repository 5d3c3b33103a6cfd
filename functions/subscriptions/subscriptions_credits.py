"""POST /v1/credits/top-ups: a tenant buys credits."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from subscriptions_wiring import once_per_key, top_ups

from wrapper.api.app import idempotency_key_of
from wrapper.api.tenant import current_actor
from wrapper.credits.models import CreditGrant, TopUp

router = APIGatewayRouter()


@router.post("/v1/credits/top-ups", summary="Buy credits: charged on the saved card, or paid on a Checkout page",
             tags=["credits"],
             description="`credits` times the platform's price per credit is charged on the saved card, and the "
                         "grant is answered at once. Without a card that pays, the answer is 402 with a "
                         "`checkout_url`: once that page is paid, the credits are added. Send an "
                         "`Idempotency-Key`: the same key buys once.",
             responses={201: {"description": "The grant bought"},
                        402: {"description": "The saved card could not pay: a Checkout page to pay on"},
                        403: {"description": "Missing permission billing:write"},
                        409: {"description": "A request with this Idempotency-Key is still running"},
                        422: {"description": "Bad body, or an Idempotency-Key reused with another body"},
                        503: {"description": "The payment provider is unavailable"}})
def buy_credits(body: Annotated[TopUp, Body()]) -> Response[CreditGrant]:
    actor = current_actor(router)
    key = idempotency_key_of(router)
    grant = once_per_key(router, actor, "credits.top_up", body,
                         lambda: top_ups.buy(actor, body, idempotency_key=key), CreditGrant)
    return Response(status_code=201, content_type="application/json", body=grant)
