"""POST /v1/webhooks/stripe: public (Stripe signs the request); verifies, records the event once, queues it."""

import base64
import time
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper import aws
from wrapper.api.app import build_app
from wrapper.settings import Settings
from wrapper.store.table import table_for
from wrapper.webhooks.ledger import StripeEventLedger
from wrapper.webhooks.models import WebhookReceipt
from wrapper.webhooks.receive import SqsEventQueue, receive
from wrapper.webhooks.secrets import WebhookSecrets, ssm_secret_fetcher

settings = Settings.from_environ()
logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES)
metrics = Metrics()
app = build_app(logger, cors_allow_origin=settings.cors_allow_origin)
secrets = WebhookSecrets(ssm_secret_fetcher(aws.client_for(settings, "ssm"),
                                            settings.webhooks.webhook_secret_parameter))
ledger = StripeEventLedger(table_for(settings))
queue = SqsEventQueue(aws.client_for(settings, "sqs"), settings.webhooks.events_queue_url)
clock = time.time


def _raw_body(event: APIGatewayProxyEvent) -> bytes:
    # The signature covers the exact bytes Stripe sent: never parse and re-serialize before verifying.
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")


@app.post("/v1/webhooks/stripe", summary="Receive a Stripe event (signed with Stripe-Signature)", tags=["webhooks"],
          responses={200: {"description": "Received (or already received: duplicate is true)"},
                     400: {"description": "Missing, malformed, stale or wrong Stripe-Signature; nothing was kept"}})
def stripe_webhook() -> WebhookReceipt:
    event = cast(APIGatewayProxyEvent, app.current_event)
    facts, receipt = receive(_raw_body(event), event.headers.get("Stripe-Signature"), secrets=secrets,
                             ledger=ledger, queue=queue, now=clock())
    logger.info("stripe event received", extra={"stripe_event_id": facts.id, "stripe_event_type": facts.type,
                                                "duplicate": receipt.duplicate, "handled": facts.handled})
    return receipt


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
