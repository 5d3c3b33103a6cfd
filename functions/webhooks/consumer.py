"""Applies queued Stripe events (StripeEventsQueue): each event once, never an older one over newer state."""

import json
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper import aws
from wrapper.catalog.store import Catalog
from wrapper.kernel.clock import epoch
from wrapper.settings import Settings
from wrapper.store.table import table_for
from wrapper.subscriptions.settings import LazyPayments
from wrapper.subscriptions.stripe_events import apply_stripe_event
from wrapper.webhooks import consumer
from wrapper.webhooks.effects import SubscriptionEffects
from wrapper.webhooks.ledger import StripeEventLedger

settings = Settings.from_environ()
logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES_WITH_STRIPE)
metrics = Metrics()
table = table_for(settings)
ledger = StripeEventLedger(table)
apply_event = partial(apply_stripe_event, outbox_ttl_days=settings.outbox_ttl_days,
                      invoice_number_prefix=settings.invoice_number_prefix)
effects = SubscriptionEffects(apply_event, table=table, catalog=Catalog(table),
                              connect_payments=LazyPayments(settings.stripe, aws.client_for(settings, "ssm")))
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    event = json.loads(record.body)
    status = consumer.process(event, ledger=ledger, effects=effects, now=epoch())
    logger.info("stripe event settled", extra={"stripe_event_id": event.get("id"),
                                               "stripe_event_type": event.get("type"), "status": status})
    return status


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
